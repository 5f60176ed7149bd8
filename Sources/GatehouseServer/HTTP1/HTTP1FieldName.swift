/// The header names Gatehouse acts on, recognised once while a head is parsed (in any letter case),
/// so later phases test a byte instead of comparing names.
enum HTTP1FieldName: UInt8, Sendable {
    case other
    case host
    case contentLength
    case transferEncoding
    case connection
    case keepAlive
    case proxyConnection
    case te
    case trailer
    case upgrade
    case proxyAuthenticate
    case proxyAuthorization
    case expect
    case authorization
    case contentType
    case xForwardedFor
    case xForwardedProto
    case xForwardedHost
    case xForwardedPort
    case forwarded
    case xRealIP
    case strictTransportSecurity
    case setCookie

    /// Hop-by-hop headers (RFC 9110 §7.6.1) plus the legacy ones proxies also drop; the same set as
    /// the reference `HeaderRewriter.hopByHop` of the tests.
    var isHopByHop: Bool {
        switch self {
        case .connection, .keepAlive, .proxyConnection, .te, .trailer, .transferEncoding, .upgrade, .proxyAuthenticate,
            .proxyAuthorization:
            true
        default:
            false
        }
    }

    /// Dropped from every request sent upstream: hop-by-hop, what a client must not set for the
    /// upstream (`X-Forwarded-*`, `Forwarded`, `X-Real-IP`, and `Expect`) and `Content-Length` (the
    /// framing is written as decided).
    var isDroppedUpstream: Bool {
        switch self {
        case .xForwardedFor, .xForwardedProto, .xForwardedHost, .xForwardedPort, .forwarded, .xRealIP, .expect, .contentLength:
            true
        default:
            isHopByHop
        }
    }

    /// Classifies `bytes[from..<to]` (a valid token).
    static func classify(_ bytes: UnsafeRawBufferPointer, from: Int, to: Int) -> HTTP1FieldName {
        // Dispatch on length and the first letter, then one comparison (of a token with a literal of
        // lower-case letters and `-`, as `tokenEqualsIgnoringCase` requires).
        @inline(__always) func named(_ literal: StaticString, _ name: HTTP1FieldName) -> HTTP1FieldName? {
            HTTP1Bytes.tokenEqualsIgnoringCase(bytes, from: from, to: to, literal) ? name : nil
        }
        let first = HTTP1Bytes.lowered(bytes[from])
        switch (to - from, first) {
        case (2, UInt8(ascii: "t")): return named("te", .te) ?? .other
        case (4, UInt8(ascii: "h")): return named("host", .host) ?? .other
        case (6, UInt8(ascii: "e")): return named("expect", .expect) ?? .other
        case (7, UInt8(ascii: "t")): return named("trailer", .trailer) ?? .other
        case (7, UInt8(ascii: "u")): return named("upgrade", .upgrade) ?? .other
        case (9, UInt8(ascii: "f")): return named("forwarded", .forwarded) ?? .other
        case (9, UInt8(ascii: "x")): return named("x-real-ip", .xRealIP) ?? .other
        case (10, UInt8(ascii: "c")): return named("connection", .connection) ?? .other
        case (10, UInt8(ascii: "k")): return named("keep-alive", .keepAlive) ?? .other
        case (10, UInt8(ascii: "s")): return named("set-cookie", .setCookie) ?? .other
        case (12, UInt8(ascii: "c")): return named("content-type", .contentType) ?? .other
        case (13, UInt8(ascii: "a")): return named("authorization", .authorization) ?? .other
        case (14, UInt8(ascii: "c")): return named("content-length", .contentLength) ?? .other
        case (15, UInt8(ascii: "x")): return named("x-forwarded-for", .xForwardedFor) ?? .other
        case (16, UInt8(ascii: "p")): return named("proxy-connection", .proxyConnection) ?? .other
        case (16, UInt8(ascii: "x")): return named("x-forwarded-host", .xForwardedHost) ?? named("x-forwarded-port", .xForwardedPort) ?? .other
        case (17, UInt8(ascii: "t")): return named("transfer-encoding", .transferEncoding) ?? .other
        case (17, UInt8(ascii: "x")): return named("x-forwarded-proto", .xForwardedProto) ?? .other
        case (18, UInt8(ascii: "p")): return named("proxy-authenticate", .proxyAuthenticate) ?? .other
        case (19, UInt8(ascii: "p")): return named("proxy-authorization", .proxyAuthorization) ?? .other
        case (25, UInt8(ascii: "s")): return named("strict-transport-security", .strictTransportSecurity) ?? .other
        default: return .other
        }
    }
}
