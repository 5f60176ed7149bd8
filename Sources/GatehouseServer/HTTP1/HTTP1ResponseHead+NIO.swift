import NIOCore
import NIOHTTP1

extension HTTP1ResponseHead {
    /// The head relayed to the client as NIO's `HTTPResponseHead`, for the pipelines that still take
    /// that form (the HTTP/2 stream codec, NIO's HTTP/1 encoder): the edits of ``ResponseHeadRewriter``
    /// (hop-by-hop headers and those the upstream named in `Connection` removed, Gatehouse's own HSTS
    /// on TLS listeners, `Connection: close` when the client connection closes after this response).
    /// The encoder adds the client-side framing itself.
    /// - Parameters:
    ///   - bytes: the buffer the head was parsed from.
    ///   - version: the client connection's HTTP version.
    ///   - hsts: the `Strict-Transport-Security` value, or `nil` on plain listeners.
    ///   - close: whether the client connection closes after this response (HTTP/1 only).
    func clientResponseHead(in bytes: ByteBuffer, version: HTTPVersion, hsts: String?, close: Bool) -> HTTPResponseHead {
        var headers = HTTPHeaders()
        headers.reserveCapacity(fields.count + 2)
        for field in fields {
            if field.name.isHopByHop || field.isConnectionListed { continue }
            if hsts != nil && field.name == .strictTransportSecurity { continue }
            headers.add(name: Self.string(field.nameRange, in: bytes), value: Self.string(field.valueRange, in: bytes))
        }
        if let hsts { headers.add(name: "Strict-Transport-Security", value: hsts) }
        if close { headers.add(name: "Connection", value: "close") }
        return HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: status), headers: headers)
    }

    private static func string(_ range: Range<Int>, in bytes: ByteBuffer) -> String {
        bytes.getString(at: bytes.readerIndex + range.lowerBound, length: range.count) ?? ""
    }
}
