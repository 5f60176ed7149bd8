/// A strict split of an absolute URI (RFC 3986 §3) into the parts client registration checks:
/// scheme, authority (host and port) and the rest.
///
/// Deliberately narrower than RFC 3986: only printable ASCII without spaces, host names of
/// `[a-z0-9.-]` (no percent-encoding, which would let two spellings name one host) or a bracketed
/// IPv6 literal. Anything else is refused rather than interpreted, so what Gatehouse compares is what
/// a browser will open.
public struct URIReference: Sendable, Equatable {
    /// Lower-cased scheme.
    public var scheme: String
    /// Whether `//authority` is present.
    public var hasAuthority: Bool
    /// Lower-cased host (`[::1]` keeps its brackets); empty without authority.
    public var host: String
    public var port: Int?
    public var hasUserInfo: Bool
    public var hasFragment: Bool

    /// Why a text is not a URI this type accepts.
    public enum Problem: Error, Equatable, Sendable {
        case notASCII
        case noScheme
        case badHost
        case badPort
    }

    /// Parses `text`.
    /// - Parameter text: the URI as sent.
    public static func parse(_ text: String) -> Result<URIReference, Problem> {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return .failure(.notASCII) }
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), colon > 0,
            Self.isAlpha(bytes[0]),
            bytes[..<colon].allSatisfy({ Self.isAlpha($0) || Self.isDigit($0) || "+-.".utf8.contains($0) })
        else { return .failure(.noScheme) }
        let scheme = String(decoding: bytes[..<colon], as: UTF8.self).lowercased()
        let rest = bytes[(colon + 1)...]
        var reference = URIReference(
            scheme: scheme, hasAuthority: false, host: "", port: nil, hasUserInfo: false, hasFragment: rest.contains(UInt8(ascii: "#")))
        guard rest.starts(with: Array("//".utf8)) else { return .success(reference) }
        reference.hasAuthority = true
        let afterSlashes = rest.dropFirst(2)
        let end = afterSlashes.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") } ?? afterSlashes.endIndex
        var authority = afterSlashes[afterSlashes.startIndex..<end]
        if let at = authority.lastIndex(of: UInt8(ascii: "@")) {
            reference.hasUserInfo = true
            authority = authority[(at + 1)...]
        }
        var hostPart = authority
        var portPart: ArraySlice<UInt8>?
        if authority.first == UInt8(ascii: "[") {
            guard let close = authority.firstIndex(of: UInt8(ascii: "]")) else { return .failure(.badHost) }
            hostPart = authority[authority.startIndex...close]
            let inside = authority[(authority.startIndex + 1)..<close]
            guard !inside.isEmpty, inside.allSatisfy({ Self.isHex($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") }) else {
                return .failure(.badHost)
            }
            let after = authority[(close + 1)...]
            if !after.isEmpty {
                guard after.first == UInt8(ascii: ":") else { return .failure(.badHost) }
                portPart = after.dropFirst()
            }
        } else {
            if let portColon = authority.firstIndex(of: UInt8(ascii: ":")) {
                hostPart = authority[authority.startIndex..<portColon]
                portPart = authority[(portColon + 1)...]
            }
            guard !hostPart.isEmpty,
                hostPart.allSatisfy({ Self.isAlpha($0) || Self.isDigit($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") })
            else { return .failure(.badHost) }
        }
        reference.host = String(decoding: hostPart, as: UTF8.self).lowercased()
        if let portPart {
            guard !portPart.isEmpty, portPart.count <= 5, portPart.allSatisfy(Self.isDigit),
                let port = Int(String(decoding: portPart, as: UTF8.self)), port <= 65535
            else { return .failure(.badPort) }
            reference.port = port
        }
        return .success(reference)
    }

    /// The loopback names RFC 8252 §7.3 allows for native apps (and web apps may not use).
    public static let loopbackHosts: Set<String> = ["localhost", "127.0.0.1", "[::1]"]

    /// Whether the host is a loopback name or address (also `0.0.0.0` and `127.x.y.z`).
    public var isLoopback: Bool {
        Self.loopbackHosts.contains(host) || host == "0.0.0.0" || host.hasPrefix("127.") && isIPv4Literal || host.hasSuffix(".localhost")
    }

    /// Whether the host is an IP literal (dotted IPv4 or bracketed IPv6) rather than a name.
    public var isIPLiteral: Bool { host.hasPrefix("[") || isIPv4Literal }

    private var isIPv4Literal: Bool {
        !host.isEmpty && host.utf8.allSatisfy { Self.isDigit($0) || $0 == UInt8(ascii: ".") }
    }

    /// Whether `host` is `domain` or a subdomain of it (label-wise: `evilexample.com` is not under `example.com`).
    /// - Parameter domain: a lower-cased host name.
    public func isHost(under domain: String) -> Bool {
        host == domain || host.hasSuffix("." + domain)
    }

    private static func isAlpha(_ byte: UInt8) -> Bool { (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) }
    private static func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }
    private static func isHex(_ byte: UInt8) -> Bool { isDigit(byte) || (0x41...0x46).contains(byte) || (0x61...0x66).contains(byte) }
}
