import NIOHTTP1

@testable import GatehouseServer

// A reference implementation kept for the differential tests: production code no longer uses it
// (issue 9 moved both protocols onto the byte-level head; see docs/architecture.md).

/// The rules on which host a request is for (RFC 9112 §3.2, RFC 9113 §8.3.1): exactly one `Host`, with
/// a valid value, that agrees with an absolute-form target's authority. Two hosts that disagree would
/// let the client choose which one each component believes.
enum RequestAuthority {
    /// Why the request's host is unacceptable, or `nil` when it is fine.
    /// - Parameters:
    ///   - head: the request head (for HTTP/2, `:authority` has already become the `Host` header, and a
    ///     conflicting `host` field shows up as a second value).
    ///   - isHTTP2: whether the request came over HTTP/2.
    static func problem(in head: HTTPRequestHead, isHTTP2: Bool) -> String? {
        let hosts = head.headers["host"]
        if hosts.count > 1 {
            return "A request must name exactly one host (several Host headers, or Host differing from :authority)"
        }
        guard let host = hosts.first else {
            if !isHTTP2, head.version.minor >= 1 { return "HTTP/1.1 requests need a Host header" }
            return nil
        }
        guard host.utf8.allSatisfy(isHostByte) else { return "The Host header is not a valid host" }
        if let authority = absoluteFormAuthority(head.uri), !equalsIgnoringASCIICase(authority, Substring(host)) {
            return "The request target's authority does not match the Host header"
        }
        return nil
    }

    /// The authority of an absolute-form target (`http://host:port/path`), or `nil` for origin-form.
    static func absoluteFormAuthority(_ target: String) -> Substring? {
        // The same two prefixes ``CanonicalPath`` accepts as absolute-form; anything else is refused there.
        let rest: Substring
        if target.hasPrefix("http://") {
            rest = target.dropFirst(7)
        } else if target.hasPrefix("https://") {
            rest = target.dropFirst(8)
        } else {
            return nil
        }
        let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        return rest[..<end]
    }

    /// `uri-host [":" port]`: reg-name, IPv4 or bracketed IPv6 characters (RFC 3986 §3.2.2).
    private static func isHostByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "%"), UInt8(ascii: "!"),
            UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "*"),
            UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="), UInt8(ascii: ":"), UInt8(ascii: "["),
            UInt8(ascii: "]"):
            return true
        default:
            return false
        }
    }

    static func equalsIgnoringASCIICase(_ lhs: Substring, _ rhs: Substring) -> Bool {
        lhs.utf8.count == rhs.utf8.count
            && zip(lhs.utf8, rhs.utf8).allSatisfy { a, b in
                a == b || (a | 0x20 == b | 0x20 && (a | 0x20) >= UInt8(ascii: "a") && (a | 0x20) <= UInt8(ascii: "z"))
            }
    }
}
