/// `application/x-www-form-urlencoded` (WHATWG URL §5.1), as OAuth 2.0 request bodies use it.
public enum FormURLEncoded {
    /// The pairs of a form body, or `nil` when it is not valid (bad percent-escapes, invalid UTF-8, a
    /// NUL character: no name or value Gatehouse reads may hold one, and SQLite would read bound text
    /// only up to it, so `id=<a live id>%00x` could find that id).
    /// - Parameters:
    ///   - bytes: the body.
    ///   - allowingNUL: `true` only where every value is hashed or compared in memory, never bound as
    ///     text (introspection: Synapse passes on whatever token a client sent, and a token holding a
    ///     NUL is simply not active).
    public static func parse(_ bytes: some Collection<UInt8>, allowingNUL: Bool = false) -> [(name: String, value: String)]? {
        // Introspection parses one of these per call: work on contiguous bytes, not a generic collection.
        let parsed = bytes.withContiguousStorageIfAvailable { parse(buffer: UnsafeRawBufferPointer($0), allowingNUL: allowingNUL) }
        if let parsed { return parsed }
        return Array(bytes).withUnsafeBytes { parse(buffer: $0, allowingNUL: allowingNUL) }
    }

    private static func parse(buffer: UnsafeRawBufferPointer, allowingNUL: Bool) -> [(name: String, value: String)]? {
        var pairs: [(String, String)] = []
        var start = 0
        let end = buffer.count
        while start <= end {
            var stop = start
            while stop < end && buffer[stop] != UInt8(ascii: "&") { stop += 1 }
            if stop > start {
                var equals = start
                while equals < stop && buffer[equals] != UInt8(ascii: "=") { equals += 1 }
                guard let name = decode(UnsafeRawBufferPointer(rebasing: buffer[start..<equals]), allowingNUL: allowingNUL) else { return nil }
                let valueStart = min(equals + 1, stop)
                guard let value = decode(UnsafeRawBufferPointer(rebasing: buffer[valueStart..<stop]), allowingNUL: allowingNUL) else { return nil }
                pairs.append((name, value))
            }
            start = stop + 1
        }
        return pairs
    }

    /// The single value of `name`; `nil` when absent. A parameter given twice is an error (`.duplicate`),
    /// as RFC 6749 §3.1 requires.
    public static func single(_ name: String, in pairs: [(name: String, value: String)]) -> SingleValue {
        var found: String?
        for pair in pairs where pair.name == name {
            if found != nil { return .duplicate }
            found = pair.value
        }
        return found.map(SingleValue.value) ?? .absent
    }

    public enum SingleValue: Equatable {
        case absent
        case value(String)
        case duplicate
    }

    /// One decoded name or value (`+` is a space, `%XX` a byte), e.g. a part of an HTTP Basic
    /// credential (RFC 6749 §2.3.1); `nil` for a bad escape, invalid UTF-8 or a NUL character.
    /// - Parameter text: the encoded text.
    public static func decodeComponent(_ text: some StringProtocol) -> String? {
        Array(text.utf8).withUnsafeBytes { decode($0) }
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, allowingNUL: Bool = false) -> String? {
        // Fast path: nothing to unescape.
        if !bytes.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") || ($0 == 0 && !allowingNUL) }) {
            return String(validating: bytes, as: UTF8.self)
        }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "+"):
                output.append(UInt8(ascii: " "))
                index += 1
            case UInt8(ascii: "%"):
                guard index + 2 < bytes.count,
                    let high = HexDigit.value(bytes[index + 1]), let low = HexDigit.value(bytes[index + 2])
                else { return nil }
                guard high << 4 | low != 0 || allowingNUL else { return nil }
                output.append(high << 4 | low)
                index += 3
            case 0 where !allowingNUL:
                return nil
            default:
                output.append(byte)
                index += 1
            }
        }
        return String(validating: output, as: UTF8.self)
    }
}
