import NIOCore
import NIOHTTP1

extension HTTP1RequestHead {
    /// The head as NIO's `HTTPRequestHead`, for local responders (which may keep a parsed form; the
    /// proxied path never builds one): the same method, target, version and fields llhttp produced.
    /// Keep-alive is ``keepAlive``, decided once; the NIO head's `isKeepAlive` reads the headers again
    /// and may differ (HTTP/1.0 with both `close` and `keep-alive`).
    /// - Parameter buffer: the buffer the head was parsed from.
    func httpRequestHead(in buffer: ByteBuffer) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        headers.reserveCapacity(fields.count)
        for field in fields {
            headers.add(name: string(field.nameRange, in: buffer), value: string(field.valueRange, in: buffer))
        }
        return HTTPRequestHead(
            version: version == .http1_1 ? .http1_1 : .http1_0, method: method.nioMethod(raw: methodString(in: buffer)),
            uri: string(targetRange, in: buffer), headers: headers)
    }
}
