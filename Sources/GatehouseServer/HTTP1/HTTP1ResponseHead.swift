/// An upstream's response head as offsets into the buffer it was parsed from, with its framing and
/// keep-alive decided once by ``HTTP1ResponseHeadParser``. Relayed as bytes by ``ResponseHeadRewriter``.
struct HTTP1ResponseHead: Sendable {
    var version: HTTP1Version
    /// 100–599 (never 101).
    var status: Int
    /// The reason phrase (possibly empty).
    var reasonRange: Range<Int>
    /// Every header line in order; hop-by-hop ones are told by their name and
    /// ``HTTP1Field/isConnectionListed``.
    var fields: HTTP1FieldList
    /// Bytes from the buffer's start to the end of the blank line: the body starts here.
    var headLength: Int
    /// How the body is framed: `none` for responses to HEAD, 1xx, 204 and 304 (RFC 9112 §6.3).
    var framing: HTTP1BodyFraming
    /// Whether the upstream connection can carry another request after this response.
    var keepAlive: Bool

    /// A 1xx response, which another head follows (Gatehouse does not relay them: it answers
    /// `Expect` itself).
    var isInformational: Bool { status < 200 }
}

extension HTTP1ResponseHead {
    /// An empty head, for storage that ``HTTP1ResponseHeadParser/parse(_:requestMethod:into:)``
    /// writes into (in an extension, so the memberwise initialiser stays).
    init() {
        self.init(version: .http1_1, status: 200, reasonRange: 0..<0, fields: HTTP1FieldList(), headLength: 0, framing: .none, keepAlive: true)
    }
}
