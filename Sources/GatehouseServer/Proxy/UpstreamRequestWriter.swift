import NIOCore
import NIOHTTP1

/// Writes the request Gatehouse decided on to an upstream connection, byte for byte, with exactly the
/// body framing the head carries. One per upstream connection (``UpstreamHandler`` holds it).
///
/// NIO's `HTTPRequestEncoder` re-decides framing from the method: it treats `TRACE` as bodiless, drops
/// the framing headers, and still writes the body bytes, which the upstream then reads as a second,
/// unchecked request. Here nothing is re-decided. ``UpstreamRequestHeadWriter`` puts exactly one
/// framing header on the head (or none, for a bodiless request) and announces it here, and this
/// writer enforces it: a `Content-Length` body must be exactly that long, a chunked body is
/// chunk-encoded, and a body without framing is an error. Any violation throws before a stray byte is
/// handed out, and the caller closes the connection.
struct UpstreamRequestWriter {
    /// How the body of the request being written is framed.
    enum Framing: Equatable {
        case none
        case length(remaining: Int)
        case chunked
    }

    private var framing = Framing.none
    private var inMessage = false

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
}

/// A request part that would not reach the upstream as exactly one well-framed request.
enum UpstreamEncodingError: Error, Equatable {
    // The first four are thrown by the reference serializer of `HTTPRequestHead`s the tests keep
    // (Tests/GatehouseServerTests/Oracles): the byte-level head was checked by the parser.
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

