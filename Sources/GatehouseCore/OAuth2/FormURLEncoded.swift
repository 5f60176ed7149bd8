/// `application/x-www-form-urlencoded` (WHATWG URL §5.1), as OAuth 2.0 request bodies use it.
public enum FormURLEncoded {
    /// The pairs of a form body, or `nil` when it is not valid (bad percent-escapes, invalid UTF-8).
    /// - Parameter bytes: the body.
    public static func parse(_ bytes: some Collection<UInt8>) -> [(name: String, value: String)]? {
        var pairs: [(String, String)] = []
        for part in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let equals = part.firstIndex(of: UInt8(ascii: "="))
            let rawName = equals.map { part[part.startIndex..<$0] } ?? part[...]
            let rawValue = equals.map { part[part.index(after: $0)...] } ?? part[part.endIndex...]
            guard let name = decode(rawName), let value = decode(rawValue) else { return nil }
            pairs.append((name, value))
        }
        return pairs
    }

    /// The single value of `name`; `nil` when absent. A parameter given twice is an error (`.duplicate`),
    /// as RFC 6749 §3.1 requires.
    public static func single(_ name: String, in pairs: [(name: String, value: String)]) -> SingleValue {
        let values = pairs.filter { $0.name == name }
        switch values.count {
        case 0: return .absent
        case 1: return .value(values[0].value)
        default: return .duplicate
        }
    }

    public enum SingleValue: Equatable {
        case absent
        case value(String)
        case duplicate
    }

    static func decode(_ bytes: some Collection<UInt8>) -> String? {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var iterator = bytes.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"):
                output.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hex), let low = iterator.next().flatMap(hex) else { return nil }
                output.append(high << 4 | low)
            default:
                output.append(byte)
            }
        }
        return String(validating: output, as: UTF8.self)
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
