/// The request target split into what the route decision looks at and what goes upstream.
///
/// The decision is taken on ``canonicalPath``, a normal form in which every encoding of the same
/// resource is spelled the same way, so that `/_synapse/%6Das` and `//_synapse/mas` cannot slip past a
/// rule written for `/_synapse/mas`. The upstream request keeps ``forwardTarget``: the client's own
/// bytes, because Matrix identifiers carry `%2F`, `%23` and `%25` that Synapse must see unchanged.
public struct RequestTarget: Sendable, Equatable {
    /// Decision form: percent-escapes of printable ASCII decoded (except `/`, `%`, `?`, `#` and space,
    /// which stay encoded with upper-case hex), other escapes upper-cased, empty segments removed.
    public var canonicalPath: String
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
        var origin = Substring(target)
        // absolute-form (RFC 9112 §3.2.2): route on its path, forward origin-form.
        if origin.hasPrefix("http://") || origin.hasPrefix("https://") {
            let afterScheme = origin[origin.index(origin.firstIndex(of: ":")!, offsetBy: 3)...]
            guard let slash = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }), afterScheme[slash] == "/" else {
                return .failure(.notOriginForm)
            }
            origin = afterScheme[slash...]
        }
        guard origin.hasPrefix("/") else { return .failure(.notOriginForm) }
        // Byte search: `contains(String)` would go through Foundation on every request.
        if origin.utf8.contains(UInt8(ascii: "#")) { return .failure(.fragment) }
        // The target is forwarded as sent: a raw space or control byte anywhere in it (HTTP/2 lets
        // them through `:path`) would split the upstream request line.
        if origin.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) { return .failure(.controlCharacter) }

        let path: Substring
        var query: Substring?
        if let mark = origin.firstIndex(of: "?") {
            path = origin[..<mark]
            query = origin[origin.index(after: mark)...]
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

    private static let hexDigits: [UInt8] = Array("0123456789ABCDEF".utf8)


    /// Bytes that stay percent-encoded in the decision form because decoding them would change how the
    /// path splits (`/`), re-open an escape (`%`), or end the path (`?`, `#`), plus space and non-ASCII.
    private static func staysEncoded(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "/") || byte == UInt8(ascii: "%") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "#")
            || byte == 0x20 || byte >= 0x80
    }

    private static func canonicalize(_ path: Substring) -> Result<String, RequestTargetError> {
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
