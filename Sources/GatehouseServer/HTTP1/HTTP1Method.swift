import NIOHTTP1

/// A request method llhttp accepts (its HTTP method list), the common ones by name. Anything else is
/// refused by the parser, as llhttp refused it before.
enum HTTP1Method: UInt8, Sendable {
    case get, head, post, put, delete, options, patch, trace, connect
    /// One of llhttp's other methods (WebDAV, `PURGE`, `QUERY`…): its bytes are in
    /// ``HTTP1RequestHead/methodRange``.
    case other

    /// The methods llhttp knows besides the named ones (`llhttp.h`, `HTTP_METHOD_MAP`).
    private static let others: [StaticString] = [
        "COPY", "LOCK", "MKCOL", "MOVE", "PROPFIND", "PROPPATCH", "SEARCH", "UNLOCK", "BIND", "REBIND", "UNBIND", "ACL",
        "REPORT", "MKACTIVITY", "CHECKOUT", "MERGE", "M-SEARCH", "NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE", "PURGE", "MKCALENDAR",
        "LINK", "UNLINK", "SOURCE", "QUERY",
    ]

    /// The method spelled by `bytes[from..<to]` (case-sensitive, as RFC 9110 §9.1 says), or `nil`.
    static func recognise(_ bytes: UnsafeRawBufferPointer, from: Int, to: Int) -> HTTP1Method? {
        @inline(__always) func equals(_ literal: StaticString) -> Bool { HTTP1Bytes.equals(bytes, from: from, to: to, literal) }
        switch to - from {
        case 3:
            if equals("GET") { return .get }
            if equals("PUT") { return .put }
        case 4:
            if equals("POST") { return .post }
            if equals("HEAD") { return .head }
        case 5:
            if equals("PATCH") { return .patch }
            if equals("TRACE") { return .trace }
        case 6:
            if equals("DELETE") { return .delete }
        case 7:
            if equals("OPTIONS") { return .options }
            if equals("CONNECT") { return .connect }
        default:
            break
        }
        for literal in others where equals(literal) { return .other }
        return nil
    }

    /// POST, PUT and PATCH: the methods whose requests carry a body; a bodiless one gets an explicit
    /// `Content-Length: 0` upstream, as before.
    var usuallyCarriesBody: Bool {
        switch self {
        case .post, .put, .patch: true
        default: false
        }
    }

    /// Idempotent methods (RFC 9110 §9.2.2) the proxy may retry.
    var isIdempotent: Bool {
        switch self {
        case .get, .head, .options, .put, .delete: true
        default: false
        }
    }

    /// NIO's spelling, for code that still takes an `HTTPRequestHead` (local responders).
    /// - Parameter raw: the method's bytes, used for ``other``.
    func nioMethod(raw: @autoclosure () -> String) -> HTTPMethod {
        switch self {
        case .get: .GET
        case .head: .HEAD
        case .post: .POST
        case .put: .PUT
        case .delete: .DELETE
        case .options: .OPTIONS
        case .patch: .PATCH
        case .trace: .TRACE
        case .connect: .CONNECT
        case .other: HTTPMethod(rawValue: raw())
        }
    }
}
