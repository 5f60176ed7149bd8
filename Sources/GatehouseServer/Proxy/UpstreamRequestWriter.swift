import NIOCore
import NIOHTTP1

/// Writes the request Gatehouse decided on to an upstream connection, byte for byte, with exactly the
/// body framing the head carries. One per upstream connection (``UpstreamHandler`` holds it).
///
/// NIO's `HTTPRequestEncoder` re-decides framing from the method: it treats `TRACE` as bodiless, drops
/// the framing headers, and still writes the body bytes, which the upstream then reads as a second,
/// unchecked request. Here nothing is re-decided. ``HeaderRewriter`` puts exactly one framing header on
/// the head (or none, for a bodiless request), and this writer enforces it: a `Content-Length` body
/// must be exactly that long, a chunked body is chunk-encoded, and a body without framing is an error.
/// Any violation throws before a stray byte is handed out, and the caller closes the connection.
///
/// The target and header bytes are checked once more (no CR, LF, NUL, or other control bytes or spaces
/// in the target): the inbound parsers already refuse them, and a proxy must not depend on a single
/// check for what would split a request in two.
struct UpstreamRequestWriter {
    /// How the body of the request being written is framed.
    enum Framing: Equatable {
        case none
        case length(remaining: Int)
        case chunked
    }

    private var framing = Framing.none
    private var inMessage = false

    /// The bytes of `head`, whose framing headers decide how the body is written.
    /// - Parameters:
    ///   - head: the head to send (already rewritten by ``HeaderRewriter``).
    ///   - allocator: the upstream channel's allocator.
    mutating func head(_ head: HTTPRequestHead, allocator: ByteBufferAllocator) throws(UpstreamEncodingError) -> ByteBuffer {
        guard !inMessage else { throw .headWhileMessageOpen }
        // Sized exactly: a buffer the head outgrows is reallocated (three allocations per request).
        var buffer = allocator.buffer(capacity: HeaderRewriter.serializedSize(of: head))
        framing = try Self.serialize(head, into: &buffer)
        inMessage = true
        return buffer
    }

    /// Starts a request whose head was written elsewhere (``UpstreamRequestHeadWriter``) with `framing`.
    /// - Parameter framing: the framing the written head announces.
    mutating func head(announcing framing: HTTP1BodyFraming) throws(UpstreamEncodingError) {
        guard !inMessage else { throw .headWhileMessageOpen }
        switch framing {
        case .none, .untilClose: self.framing = .none
        case .contentLength(let length): self.framing = .length(remaining: length)
        case .chunked: self.framing = .chunked
        }
        inMessage = true
    }

    /// Hands `emit` the buffers that carry `body` in the request's framing, in order.
    /// - Parameters:
    ///   - body: a piece of the body.
    ///   - allocator: for the chunk header of a chunked body.
    ///   - emit: called with each buffer to write.
    mutating func body(
        _ body: ByteBuffer, allocator: ByteBufferAllocator, _ emit: (ByteBuffer) -> Void
    ) throws(UpstreamEncodingError) {
        guard inMessage else { throw .bodyOutsideMessage }
        let count = body.readableBytes
        switch framing {
        case .none:
            guard count == 0 else { throw .bodyWithoutFraming }
        case .length(let remaining):
            guard count <= remaining else { throw .bodyLongerThanContentLength }
            framing = .length(remaining: remaining - count)
            if count > 0 { emit(body) }
        case .chunked:
            // A zero-length chunk would end the body: empty parts are simply not written.
            guard count > 0 else { return }
            var header = allocator.buffer(capacity: 18)
            ChunkedBodyWriter.writeChunkHeader(count: count, into: &header)
            emit(header)
            emit(body)
            emit(allocator.buffer(staticString: "\r\n"))
        }
    }

    /// The bytes that end the request (the last chunk of a chunked body), if any. Trailers are never
    /// forwarded: they would be the one place a client could add headers that skipped the head's
    /// rewriting.
    /// - Parameter allocator: the upstream channel's allocator.
    mutating func end(allocator: ByteBufferAllocator) throws(UpstreamEncodingError) -> ByteBuffer? {
        guard inMessage else { throw .bodyOutsideMessage }
        defer {
            inMessage = false
            framing = .none
        }
        switch framing {
        case .none:
            return nil
        case .length(let remaining):
            guard remaining == 0 else { throw .bodyShorterThanContentLength }
            return nil
        case .chunked:
            return allocator.buffer(staticString: ChunkedBodyWriter.end)
        }
    }

    /// Forgets a request that was abandoned (its connection is closed).
    mutating func reset() {
        inMessage = false
        framing = .none
    }

    /// Writes `METHOD SP target SP HTTP/1.1 CRLF`, the headers and the blank line; returns the framing
    /// the headers announce.
    ///
    /// Every piece is copied in first and its bytes checked where they landed: one tight loop over
    /// contiguous memory each, instead of walking each string's UTF-8 view.
    static func serialize(_ head: HTTPRequestHead, into buffer: inout ByteBuffer) throws(UpstreamEncodingError) -> Framing {
        guard appendChecked(head.method.rawValue, to: &buffer, HTTPFieldSyntax.isToken) else { throw .invalidMethod }
        buffer.writeInteger(UInt8(ascii: " "))
        guard appendChecked(head.uri, to: &buffer, { !$0.isEmpty && HTTPFieldSyntax.isTarget($0) }) else {
            throw .invalidTarget
        }
        buffer.writeStaticString(" HTTP/1.1\r\n")
        var framing = Framing.none
        for (name, value) in head.headers {
            var kind = FramingHeader.other
            let nameIsToken = appendChecked(name, to: &buffer) { bytes in
                kind = FramingHeader(name: bytes)
                return HTTPFieldSyntax.isToken(bytes)
            }
            buffer.writeStaticString(": ")
            guard nameIsToken, appendChecked(value, to: &buffer, HTTPFieldSyntax.isFieldValue) else {
                throw .invalidHeader
            }
            switch kind {
            case .contentLength:
                guard case .none = framing, let length = Int(value), length >= 0 else { throw .conflictingFraming }
                framing = .length(remaining: length)
            case .transferEncoding:
                guard case .none = framing, value == "chunked" else { throw .conflictingFraming }
                framing = .chunked
            case .other:
                break
            }
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
        return framing
    }

    /// Appends `text` and returns what `check` says of the bytes just written.
    private static func appendChecked(
        _ text: String, to buffer: inout ByteBuffer, _ check: (UnsafeRawBufferPointer) -> Bool
    ) -> Bool {
        let start = buffer.writerIndex
        let count = buffer.writeString(text)
        let offset = start - buffer.readerIndex
        return buffer.withUnsafeReadableBytes { readable in
            check(UnsafeRawBufferPointer(rebasing: readable[offset..<(offset + count)]))
        }
    }

    /// The two header names that frame a body, recognised in any letter case.
    private enum FramingHeader {
        case contentLength
        case transferEncoding
        case other

        init(name: UnsafeRawBufferPointer) {
            if Self.equalsIgnoringCase(name, "content-length") {
                self = .contentLength
            } else if Self.equalsIgnoringCase(name, "transfer-encoding") {
                self = .transferEncoding
            } else {
                self = .other
            }
        }

        private static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
            guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
            let expected = lowercase.utf8Start
            for index in 0..<bytes.count {
                let byte = bytes[index]
                let lowered = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
                if lowered != expected[index] { return false }
            }
            return true
        }
    }
}

/// A request part that would not reach the upstream as exactly one well-framed request.
enum UpstreamEncodingError: Error, Equatable {
    case invalidMethod
    case invalidTarget
    case invalidHeader
    case conflictingFraming
    case bodyWithoutFraming
    case bodyLongerThanContentLength
    case bodyShorterThanContentLength
    case headWhileMessageOpen
    case bodyOutsideMessage
}

