import NIOCore

/// Gatehouse's own chunk framing for a body it forwards chunked (see ``ChunkedBodyParser``): each
/// data part gets `hex-size CRLF` before and `CRLF` after; the body ends with the last chunk and no
/// trailers.
enum ChunkedBodyWriter {
    /// The last chunk and the empty trailer section.
    static let end: StaticString = "0\r\n\r\n"

    /// Appends the chunk header for `count` data bytes (which must not be zero: that would end the body).
    /// - Parameters:
    ///   - count: how many data bytes follow.
    ///   - output: where the header is appended.
    static func writeChunkHeader(count: Int, into output: inout ByteBuffer) {
        precondition(count > 0, "an empty chunk would end the body")
        let digits = (Int.bitWidth - count.leadingZeroBitCount + 3) / 4
        for shift in stride(from: (digits - 1) * 4, through: 0, by: -4) {
            let nibble = UInt8((count >> shift) & 0xF)
            output.writeInteger(nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10)
        }
        output.writeStaticString("\r\n")
    }

    /// Appends one whole chunk: header, `data`, CRLF. Empty `data` writes nothing.
    /// - Parameters:
    ///   - data: the chunk's bytes.
    ///   - output: where the chunk is appended.
    static func writeChunk(_ data: ByteBuffer, into output: inout ByteBuffer) {
        guard data.readableBytes > 0 else { return }
        writeChunkHeader(count: data.readableBytes, into: &output)
        var data = data
        output.writeBuffer(&data)
        output.writeStaticString("\r\n")
    }
}
