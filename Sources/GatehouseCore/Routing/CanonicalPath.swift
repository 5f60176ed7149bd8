#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The request target split into what the route decision looks at and what goes upstream.
///
/// The decision is taken on ``canonicalPath``, a normal form in which every encoding of the same
/// resource is spelled the same way, so that `/_synapse/%6Das` and `//_synapse/mas` cannot slip past a
/// rule written for `/_synapse/mas`. The upstream request keeps ``forwardTarget``: the client's own
/// bytes, because Matrix identifiers carry `%2F`, `%23` and `%25` that Synapse must see unchanged.
public struct RequestTarget: Sendable, Equatable {
    /// Decision form: percent-escapes of printable ASCII decoded (except `/`, `%`, `?`, `#` and space,
    /// which stay encoded with upper-case hex), other escapes upper-cased, empty segments removed.
    /// A slice of the target's own string when the path is already in that form (nearly always: no
    /// copy per request), else of a string built for it.
    public var canonicalPath: Substring
    /// The origin-form target (path and query) exactly as the client sent it.
    public var forwardTarget: Substring
    /// The query without its `?`, if any.
    public var query: Substring?
}

/// Why a request target was refused (answered with 400, never forwarded).
public enum RequestTargetError: Error, Equatable, Sendable {
    case notOriginForm
    case badPercentEncoding
    case controlCharacter
    case dotSegment
    case fragment

    /// A sentence for the client.
    public var message: String {
        switch self {
        case .notOriginForm: "The request target must be a path starting with '/'"
        case .badPercentEncoding: "The request path has an invalid percent-escape"
        case .controlCharacter: "The request target contains a control character or a space"
        case .dotSegment: "The request path contains a '.' or '..' segment"
        case .fragment: "The request target must not contain a fragment"
        }
    }
}

/// Builds ``RequestTarget``s: the single place where Gatehouse decides what a path means.
public enum CanonicalPath {
    /// - Parameter target: the request target from the request line or HTTP/2 `:path`.
    /// - Returns: the parsed target, or why it was refused.
    public static func parse(_ target: String) -> Result<RequestTarget, RequestTargetError> {
        // One pass over the bytes finds where the origin form starts and the first `?`: no Character
        // iteration, no Foundation.
        let scanned = target.utf8.withContiguousStorageIfAvailable { scan(UnsafeRawBufferPointer($0)) }
            ?? Array(target.utf8).withUnsafeBytes { scan($0) }
        switch scanned {
        case .success(let parts): return split(target, parts)
        case .failure(let error): return .failure(error)
        }
    }

    /// An origin-form target the HTTP/1.1 request parser has already checked (it refuses what
    /// ``parse(_:)`` would refuse of the form: a space, a control byte, a `#`, a target not starting
    /// with `/`), so only the query is looked for and the path's decision form worked out.
    /// - Parameter origin: the origin-form target (path and query) as sent; starts with `/`.
    public static func parse(checkedOrigin origin: String) -> Result<RequestTarget, RequestTargetError> {
        // The `?` is looked for in the string's own bytes (not the head's offsets): a raw UTF-8 byte
        // that does not decode would shift them.
        let queryMark = origin.utf8.withContiguousStorageIfAvailable { bytes -> Int? in
            guard let base = bytes.baseAddress, let hit = memchr(base, Int32(UInt8(ascii: "?")), bytes.count) else { return nil }
            return UnsafeRawPointer(hit) - UnsafeRawPointer(base)
        } ?? origin.utf8.firstIndex(of: UInt8(ascii: "?")).map { origin.utf8.distance(from: origin.utf8.startIndex, to: $0) }
        return split(origin, TargetParts(origin: 0, queryMark: queryMark))
    }

    private static func split(_ target: String, _ parts: TargetParts) -> Result<RequestTarget, RequestTargetError> {
        // Both offsets are at ASCII bytes (`/`, `?`), so they are character boundaries.
        let utf8 = target.utf8
        let originStart = utf8.index(utf8.startIndex, offsetBy: parts.origin)
        let origin = Substring(utf8[originStart...])
        let path: Substring
        var query: Substring?
        if let mark = parts.queryMark {
            let markIndex = utf8.index(utf8.startIndex, offsetBy: mark)
            path = Substring(utf8[originStart..<markIndex])
            query = Substring(utf8[utf8.index(after: markIndex)...])
        } else {
            path = origin
        }
        switch canonicalize(path) {
        case .success(let canonical):
            return .success(RequestTarget(canonicalPath: canonical, forwardTarget: origin, query: query))
        case .failure(let error):
            return .failure(error)
        }
    }

    /// Byte offsets of the origin form (the path) and of the first `?` in a target.
    private struct TargetParts {
        var origin: Int
        var queryMark: Int?
    }

    private static func scan(_ bytes: UnsafeRawBufferPointer) -> Result<TargetParts, RequestTargetError> {
        var origin = 0
        // absolute-form (RFC 9112 §3.2.2): route on its path, forward origin-form.
        if let schemeEnd = absoluteFormSchemeEnd(bytes) {
            origin = schemeEnd
            while origin < bytes.count, bytes[origin] != UInt8(ascii: "/"), bytes[origin] != UInt8(ascii: "?") { origin += 1 }
            guard origin < bytes.count, bytes[origin] == UInt8(ascii: "/") else { return .failure(.notOriginForm) }
        }
        guard origin < bytes.count, bytes[origin] == UInt8(ascii: "/") else { return .failure(.notOriginForm) }
        var queryMark: Int?
        var fragment = false
        var control = false
        for index in origin..<bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "#") { fragment = true }
            // The target is forwarded as sent: a raw space or control byte anywhere in it (HTTP/2 lets
            // them through `:path`) would split the upstream request line.
            if byte <= 0x20 || byte == 0x7F { control = true }
            if byte == UInt8(ascii: "?"), queryMark == nil { queryMark = index }
        }
        if fragment { return .failure(.fragment) }
        if control { return .failure(.controlCharacter) }
        return .success(TargetParts(origin: origin, queryMark: queryMark))
    }

    /// Where the authority starts when the target begins `http://` or `https://`.
    private static func absoluteFormSchemeEnd(_ bytes: UnsafeRawBufferPointer) -> Int? {
        if hasPrefix(bytes, "http://") { return 7 }
        if hasPrefix(bytes, "https://") { return 8 }
        return nil
    }

    private static func hasPrefix(_ bytes: UnsafeRawBufferPointer, _ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard bytes.count >= count else { return false }
        for index in 0..<count where bytes[index] != prefix.utf8Start[index] { return false }
        return true
    }

    private static let hexDigits: [UInt8] = Array("0123456789ABCDEF".utf8)


    /// Bytes that stay percent-encoded in the decision form because decoding them would change how the
    /// path splits (`/`), re-open an escape (`%`), or end the path (`?`, `#`), plus space and non-ASCII.
    private static func staysEncoded(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "/") || byte == UInt8(ascii: "%") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "#")
            || byte == 0x20 || byte >= 0x80
    }

    private static func canonicalize(_ path: Substring) -> Result<Substring, RequestTargetError> {
        // Nearly every path a client sends is already in decision form: one scan, no copy.
        if isAlreadyCanonical(path) { return .success(path) }
        return canonicalizeByteByByte(path).map { Substring($0) }
    }

    /// Whether ``canonicalizeByteByByte(_:)`` would return `path` unchanged: it starts with `/`, has
    /// no `%`, no byte outside printable ASCII, no empty segment but a trailing one, and no `.` or `..`
    /// segment.
    static func isAlreadyCanonical(_ path: Substring) -> Bool {
        let scanned = path.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            guard bytes.first == UInt8(ascii: "/") else { return false }
            var segmentStart = 1
            var index = 1
            while index <= bytes.count {
                if index == bytes.count || bytes[index] == UInt8(ascii: "/") {
                    let length = index - segmentStart
                    if length == 0, index < bytes.count { return false }
                    if length == 1 || length == 2, bytes[segmentStart] == UInt8(ascii: "."),
                        length == 1 || bytes[segmentStart + 1] == UInt8(ascii: ".")
                    {
                        return false
                    }
                    segmentStart = index + 1
                } else {
                    let byte = bytes[index]
                    if byte <= 0x20 || byte >= 0x7F || byte == UInt8(ascii: "%") { return false }
                }
                index += 1
            }
            return true
        }
        return scanned ?? false
    }

    /// The decision form, built byte by byte (see ``RequestTarget/canonicalPath``).
    static func canonicalizeByteByByte(_ path: Substring) -> Result<String, RequestTargetError> {
        var output: [UInt8] = []
        output.reserveCapacity(path.utf8.count)
        var segment: [UInt8] = []
        let bytes = Array(path.utf8)
        var index = 1  // skip the leading '/'

        func finishSegment(isLast: Bool) -> RequestTargetError? {
            if segment == [UInt8(ascii: ".")] || segment == [UInt8(ascii: "."), UInt8(ascii: ".")] {
                return .dotSegment
            }
            if segment.isEmpty {
                // Empty segments are collapsed, but a trailing slash is kept: `/a/` and `/a` differ upstream.
                if isLast && !output.isEmpty { output.append(UInt8(ascii: "/")) }
                return nil
            }
            output.append(UInt8(ascii: "/"))
            output.append(contentsOf: segment)
            segment.removeAll(keepingCapacity: true)
            return nil
        }

        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "/"):
                if let error = finishSegment(isLast: false) { return .failure(error) }
                index += 1
            case UInt8(ascii: "%"):
                guard index + 2 < bytes.count, let high = HexDigit.value(bytes[index + 1]), let low = HexDigit.value(bytes[index + 2])
                else { return .failure(.badPercentEncoding) }
                let decoded = high << 4 | low
                if decoded < 0x20 || decoded == 0x7F { return .failure(.controlCharacter) }
                if staysEncoded(decoded) {
                    segment.append(contentsOf: [UInt8(ascii: "%"), hexDigits[Int(high)], hexDigits[Int(low)]])
                } else {
                    segment.append(decoded)
                }
                index += 3
            default:
                if byte < 0x20 || byte == 0x7F { return .failure(.controlCharacter) }
                if byte >= 0x80 || byte == 0x20 {
                    segment.append(contentsOf: [UInt8(ascii: "%"), hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xF)]])
                } else {
                    segment.append(byte)
                }
                index += 1
            }
        }
        if let error = finishSegment(isLast: true) { return .failure(error) }
        if output.isEmpty { return .success("/") }
        return .success(String(decoding: output, as: UTF8.self))
    }
}
