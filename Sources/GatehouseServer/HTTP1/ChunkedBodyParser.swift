import NIOCore

/// Validates a chunked body (RFC 9112 §7.1) on bytes and hands out its data, so the proxy forwards a
/// body whose framing it has decided itself.
///
/// The caller keeps the received bytes in a buffer and calls ``next(_:)`` until it returns `nil`
/// (more bytes needed). Data is handed out as slices of that buffer (no copy) as soon as it arrives;
/// the framing lines (chunk sizes, trailers) are consumed only once complete, so a partial line
/// simply stays in the buffer for the next read.
///
/// The proxy **re-chunks** what it forwards (``ChunkedBodyWriter``): each data slice gets a chunk
/// header of Gatehouse's own, and the body ends with `0\r\n\r\n`. Chunk extensions and trailers are
/// checked, then dropped, as before (trailers would let a client add headers after the head was
/// rewritten). So the upstream never sees a byte of the client's framing, only its data.
///
/// Strictness (at least llhttp's): the size is `1*HEXDIG` (at most 16 digits, fitting in 63 bits), no
/// whitespace around it, extensions `;name[=token|quoted-string]` only, every line ending in CRLF,
/// CRLF right after each chunk's data, trailer lines valid header lines within a size limit and none
/// with a name Gatehouse acts on (framing, host, connection, credentials, forwarding).
struct ChunkedBodyParser: Sendable {
    enum Event: Sendable {
        /// Body bytes, a slice of the caller's buffer (already consumed from it).
        case data(ByteBuffer)
        /// The body is complete (last chunk and trailers consumed); later bytes are the next message.
        case end
    }

    private enum State: Sendable {
        case sizeLine
        case data(remaining: Int)
        case dataEnd
        case trailers(bytes: Int)
        case done
    }

    /// The longest chunk-size line accepted (size and extensions).
    let maxLineBytes: Int
    /// The most trailer bytes accepted.
    let maxTrailerBytes: Int
    private var state = State.sizeLine

    /// - Parameters:
    ///   - maxLineBytes: the longest chunk-size line (with its extensions).
    ///   - maxTrailerBytes: the most bytes of trailer lines.
    init(maxLineBytes: Int = 1024, maxTrailerBytes: Int = 8192) {
        self.maxLineBytes = maxLineBytes
        self.maxTrailerBytes = maxTrailerBytes
    }

    /// Whether the last chunk and trailers have been read.
    var isComplete: Bool {
        if case .done = state { return true }
        return false
    }

    /// Consumes framing from `buffer` and returns the next data slice or the end; `nil` when more
    /// bytes are needed (or the body is already complete).
    /// - Parameter buffer: the received bytes not yet consumed.
    mutating func next(_ buffer: inout ByteBuffer) throws(HTTP1Refusal) -> Event? {
        while true {
            switch state {
            case .done:
                return nil
            case .data(let remaining):
                guard buffer.readableBytes > 0 else { return nil }
                let count = min(remaining, buffer.readableBytes)
                let slice = buffer.readSlice(length: count)!
                state = count == remaining ? .dataEnd : .data(remaining: remaining - count)
                return .data(slice)
            case .dataEnd:
                guard buffer.readableBytes >= 2 else { return nil }
                guard buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) == 0x0D0A else { throw .invalidChunkEnd }
                buffer.moveReaderIndex(forwardBy: 2)
                state = .sizeLine
            case .sizeLine:
                let line = try buffer.withUnsafeReadableBytes { bytes throws(HTTP1Refusal) -> (consumed: Int, size: Int)? in
                    guard let lf = HTTP1Bytes.find(HTTP1Bytes.lf, in: bytes, from: 0, to: min(bytes.count, maxLineBytes + 2)) else {
                        if bytes.count >= maxLineBytes + 2 { throw .invalidChunkSize }
                        return nil
                    }
                    guard lf > 0, bytes[lf - 1] == HTTP1Bytes.cr else { throw .invalidChunkSize }
                    return (lf + 1, try Self.chunkSize(bytes, to: lf - 1))
                }
                guard let line else { return nil }
                buffer.moveReaderIndex(forwardBy: line.consumed)
                state = line.size == 0 ? .trailers(bytes: 0) : .data(remaining: line.size)
            case .trailers(let seen):
                let line = try buffer.withUnsafeReadableBytes { bytes throws(HTTP1Refusal) -> (consumed: Int, isLast: Bool)? in
                    let limit = min(bytes.count, maxTrailerBytes - seen + 2)
                    guard let lf = HTTP1Bytes.find(HTTP1Bytes.lf, in: bytes, from: 0, to: limit) else {
                        if bytes.count >= maxTrailerBytes - seen + 2 { throw .invalidTrailers }
                        return nil
                    }
                    guard lf > 0, bytes[lf - 1] == HTTP1Bytes.cr else { throw .invalidTrailers }
                    if lf == 1 { return (2, true) }
                    // A trailer may not frame, route or carry what the head's rewriting decided (RFC 9110
                    // §6.5.1): any name Gatehouse acts on is refused (llhttp refuses the framing ones).
                    guard case .success(let field) = HTTP1RequestHeadParser.field(bytes, from: 0, to: lf - 1), field.name == .other else {
                        throw .invalidTrailers
                    }
                    return (lf + 1, false)
                }
                guard let line else { return nil }
                buffer.moveReaderIndex(forwardBy: line.consumed)
                if line.isLast {
                    state = .done
                    return .end
                }
                state = .trailers(bytes: seen + line.consumed)
            }
        }
    }

    /// The size of a chunk-size line `bytes[0..<end]` (CRLF excluded), extensions checked.
    private static func chunkSize(_ bytes: UnsafeRawBufferPointer, to end: Int) throws(HTTP1Refusal) -> Int {
        var index = 0
        var size = 0
        while index < end, let digit = HTTP1Bytes.hexValue(bytes[index]) {
            guard index < 16, size <= (Int.max - digit) >> 4 else { throw .invalidChunkSize }
            size = size << 4 | digit
            index += 1
        }
        guard index > 0 else { throw .invalidChunkSize }
        // chunk-ext = *( ";" ext-name [ "=" ext-val ] ), ext-val = token / quoted-string.
        while index < end {
            guard bytes[index] == UInt8(ascii: ";") else { throw .invalidChunkSize }
            index += 1
            let nameStart = index
            while index < end, HTTP1Bytes.isToken(bytes[index]) { index += 1 }
            guard index > nameStart else { throw .invalidChunkSize }
            guard index < end, bytes[index] == UInt8(ascii: "=") else { continue }
            index += 1
            if index < end, bytes[index] == UInt8(ascii: "\"") {
                index = try quotedStringEnd(bytes, from: index, to: end)
            } else {
                let valueStart = index
                while index < end, HTTP1Bytes.isToken(bytes[index]) { index += 1 }
                guard index > valueStart else { throw .invalidChunkSize }
            }
        }
        return size
    }

    /// Where a quoted-string starting at `from` (its opening quote) ends (RFC 9110 §5.6.4).
    private static func quotedStringEnd(_ bytes: UnsafeRawBufferPointer, from: Int, to end: Int) throws(HTTP1Refusal) -> Int {
        var index = from + 1
        while index < end {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") { return index + 1 }
            if byte == UInt8(ascii: "\\") {
                index += 1
                guard index < end, HTTP1Bytes.isFieldValueByte(bytes[index]) else { throw .invalidChunkSize }
            } else if !HTTP1Bytes.isFieldValueByte(byte) {
                throw .invalidChunkSize
            }
            index += 1
        }
        throw .invalidChunkSize
    }
}
