import NIOCore
import NIOHTTP1

/// Writes responses to an HTTP/1.1 client as bytes: Gatehouse's own (status line, headers, body in
/// one buffer, so they leave as one write) and the interim `100 Continue`. Relayed upstream heads go
/// through ``ResponseHeadRewriter`` instead.
enum HTTP1ResponseWriter {
    /// `100 Continue`, answered before a body Gatehouse is ready to read.
    static let continueHead: StaticString = "HTTP/1.1 100 Continue\r\n\r\n"

    /// Appends a whole response: `HTTP/1.1`, the status, `headers` in order, the blank line, then
    /// `body` unless `omitBody` (a response to `HEAD`).
    /// - Parameters:
    ///   - status: the response status.
    ///   - headers: every header, framing included (Gatehouse's own values: no CR or LF in them).
    ///   - body: the body.
    ///   - omitBody: whether the body is left out (its length stays in the headers).
    ///   - output: where the response is appended.
    static func write(
        status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer, omitBody: Bool, into output: inout ByteBuffer
    ) {
        output.writeStaticString("HTTP/1.1 ")
        let code = Int(status.code)
        output.writeInteger(UInt8(ascii: "0") + UInt8(code / 100 % 10))
        output.writeInteger(UInt8(ascii: "0") + UInt8(code / 10 % 10))
        output.writeInteger(UInt8(ascii: "0") + UInt8(code % 10))
        output.writeInteger(HTTP1Bytes.space)
        output.writeString(status.reasonPhrase)
        output.writeStaticString("\r\n")
        for (name, value) in headers {
            output.writeString(name)
            output.writeStaticString(": ")
            output.writeString(value)
            output.writeStaticString("\r\n")
        }
        output.writeStaticString("\r\n")
        if !omitBody, body.readableBytes > 0 {
            var body = body
            output.writeBuffer(&body)
        }
    }
}
