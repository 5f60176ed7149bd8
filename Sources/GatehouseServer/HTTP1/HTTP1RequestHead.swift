import NIOCore

/// How a message body is framed (RFC 9112 §6).
enum HTTP1BodyFraming: Equatable, Sendable {
    /// No body.
    case none
    case contentLength(Int)
    case chunked
    /// Read until the connection closes (responses only).
    case untilClose
}

/// An HTTP/1.x version the parsers accept.
enum HTTP1Version: UInt8, Sendable {
    case http1_0
    case http1_1
}

/// A request head as offsets into the buffer it was parsed from, with every decision about it taken
/// once, by ``HTTP1RequestHeadParser``: framing, keep-alive, `Expect`, the host. Later phases read
/// bytes through the ranges; nothing here is a `String`.
///
/// Offsets count from the `readerIndex` of the buffer given to the parser, so they stay valid for
/// that buffer, and for `buffer.getSlice(at: buffer.readerIndex, length: headLength)`.
struct HTTP1RequestHead: Sendable {
    /// The target's form (RFC 9112 §3.2); the parser refuses the others.
    enum TargetForm: Sendable, Equatable {
        case origin
        /// `http://` or `https://`, then ``HTTP1RequestHead/authorityRange``, then the path.
        case absolute
    }

    var method: HTTP1Method
    var methodRange: Range<Int>
    /// The whole target as sent.
    var targetRange: Range<Int>
    var targetForm: TargetForm
    /// The origin-form part of the target (path and query), exactly the client's bytes: what goes
    /// upstream (``RequestTarget/forwardTarget``).
    var originRange: Range<Int>
    /// The query without its `?`, if the target has one.
    var queryRange: Range<Int>?
    /// The authority of an absolute-form target.
    var authorityRange: Range<Int>?
    var version: HTTP1Version
    /// Every header line, in order.
    var fields: HTTP1FieldList
    /// Bytes from the start of the buffer to the end of the blank line that ends the head (leading
    /// empty lines included): the body, if any, starts here.
    var headLength: Int

    // Decisions, taken once.

    /// The body framing decided for this request (and the one sent upstream, see ``upstreamFraming``).
    var framing: HTTP1BodyFraming
    /// Whether the connection may carry another request after this one (version and `Connection`).
    var keepAlive: Bool
    /// `Expect: 100-continue` was sent (answered by Gatehouse itself once it accepts the request).
    var expectsContinue: Bool
    /// The one `Host` value, if any.
    var hostRange: Range<Int>?
    /// `Authorization` headers that will be forwarded (not named in `Connection`): how many, and the
    /// index in ``fields`` of the last one (the one Synapse reads when there is one).
    var authorizationCount: Int
    var lastAuthorizationIndex: Int?
    /// Whether the query may carry an `access_token` argument: it contains `%` or `access_token=`
    /// (see `AccessToken.mayNameParameter`). When `false`, no spelling of the argument can be present
    /// and the edge token check skips the query.
    var queryMayCarryAccessToken: Bool

    /// Whether a body follows the head (a non-empty `Content-Length` body, or chunked).
    var expectsBody: Bool {
        switch framing {
        case .none, .contentLength(0): false
        default: true
        }
    }

    /// The framing the upstream request gets: as decided, except that a bodiless POST, PUT or PATCH
    /// says `Content-Length: 0` explicitly (Twisted waits for a body otherwise).
    var upstreamFraming: HTTP1BodyFraming {
        if framing == .none, method.usuallyCarriesBody { return .contentLength(0) }
        return framing
    }

    /// The method as a `String` (logs, local responders).
    /// - Parameter buffer: the buffer the head was parsed from.
    func methodString(in buffer: ByteBuffer) -> String {
        string(methodRange, in: buffer)
    }

    /// The bytes of `range` as a `String`, for code outside the hot path (logs, local responders).
    /// - Parameters:
    ///   - range: a range of this head.
    ///   - buffer: the buffer the head was parsed from.
    func string(_ range: Range<Int>, in buffer: ByteBuffer) -> String {
        buffer.getString(at: buffer.readerIndex + range.lowerBound, length: range.count) ?? ""
    }
}

extension HTTP1RequestHead {
    /// An empty head, for storage that ``HTTP1RequestHeadParser/parse(_:into:)`` writes into (in an
    /// extension, so the memberwise initialiser stays).
    init() {
        self.init(
            method: .get, methodRange: 0..<0, targetRange: 0..<0, targetForm: .origin, originRange: 0..<0, queryRange: nil,
            authorityRange: nil, version: .http1_1, fields: HTTP1FieldList(), headLength: 0, framing: .none, keepAlive: true,
            expectsContinue: false, hostRange: nil, authorizationCount: 0, lastAuthorizationIndex: nil, queryMayCarryAccessToken: false)
    }
}
