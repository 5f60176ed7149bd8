import NIOCore

/// Turns the bytes a client sends on an HTTP/1.1 connection into requests: heads
/// (``HTTP1RequestHeadParser``), then each body in the framing its head decided, handed out without
/// that framing, then the end; pipelined requests follow one another in the same bytes.
///
/// The handler appends what it reads (``append(_:)``) and takes parts out (``next()``) until there
/// is none. Heads and body bytes are slices of the received buffers (no copy); a head or a chunk-size
/// line that arrives in pieces stays in the reader until the rest arrives. After a refusal nothing
/// more is read: the connection is answered and closed.
struct HTTP1RequestReader {
    enum Part {
        /// A complete head, in ``head`` until the next one; its ranges point into `bytes`, which holds
        /// exactly the head. (The head stays where the parser wrote it: handing it out in the part
        /// copied its few hundred bytes at every step.)
        case head(bytes: ByteBuffer)
        /// Body bytes, without chunk framing.
        case body(ByteBuffer)
        /// The request (head and body) is complete.
        case end
        /// The bytes break HTTP/1.1's rules or Gatehouse's limits: answer `refusal.status` and close.
        case refused(HTTP1Refusal)
    }

    private enum State {
        case head
        case body(remaining: Int)
        case chunked(ChunkedBodyParser)
        /// The body of the current request is complete; `.end` is handed out next.
        case end
        /// A refusal was handed out: nothing more is read.
        case refused
    }

    private var state = State.head
    private var parser: HTTP1RequestHeadParser
    /// The last complete head (after a ``Part/head(bytes:)``).
    private(set) var head = HTTP1RequestHead()
    /// Received bytes not handed out yet.
    private var pending: ByteBuffer?

    /// - Parameter limits: the head and target limits (`limits.max_header_bytes`,
    ///   `limits.max_request_target_bytes`).
    init(limits: HTTP1RequestHeadParser.Limits) {
        parser = HTTP1RequestHeadParser(limits: limits)
    }

    /// Whether bytes are held that did not make a whole part yet (a partial head, say).
    var holdsBytes: Bool { (pending?.readableBytes ?? 0) > 0 }

    /// Adds bytes read from the client.
    mutating func append(_ incoming: ByteBuffer) {
        guard incoming.readableBytes > 0 else { return }
        if var held = pending, held.readableBytes > 0 {
            // A part that arrived in pieces (rare): the new bytes join it.
            pending = nil
            var incoming = incoming
            held.writeBuffer(&incoming)
            pending = held
        } else {
            pending = incoming
        }
    }

    /// The next part, or `nil` until more bytes arrive.
    mutating func next() -> Part? {
        switch state {
        case .refused:
            return nil
        case .end:
            state = .head
            return .end
        case .head:
            guard var buffer = pending, buffer.readableBytes > 0 else { return nil }
            switch parser.parse(buffer, into: &head) {
            case .needMore:
                return nil
            case .refused(let refusal):
                state = .refused
                pending = nil
                return .refused(refusal)
            case .complete:
                let bytes = buffer.readSlice(length: head.headLength)!
                // Nothing after the head: let go of the buffer, or NIOSSL copies it on its next read.
                pending = buffer.readableBytes > 0 ? buffer : nil
                switch head.framing {
                case .none, .untilClose, .contentLength(0): state = .end
                case .contentLength(let length): state = .body(remaining: length)
                case .chunked: state = .chunked(ChunkedBodyParser())
                }
                return .head(bytes: bytes)
            }
        case .body(let remaining):
            guard var buffer = pending, buffer.readableBytes > 0 else { return nil }
            let count = min(remaining, buffer.readableBytes)
            let slice = buffer.readSlice(length: count)!
            pending = buffer.readableBytes > 0 ? buffer : nil
            state = count == remaining ? .end : .body(remaining: remaining - count)
            return .body(slice)
        case .chunked(var chunked):
            guard var buffer = pending, buffer.readableBytes > 0 else { return nil }
            // Out of `self` while the parser works on it, so the buffer is not copied.
            pending = nil
            defer { pending = buffer.readableBytes > 0 ? buffer : nil }
            do {
                switch try chunked.next(&buffer) {
                case .none:
                    state = .chunked(chunked)
                    return nil
                case .data(let slice):
                    state = .chunked(chunked)
                    return .body(slice)
                case .end:
                    state = .head
                    return .end
                }
            } catch {
                state = .refused
                buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
                return .refused(error)
            }
        }
    }
}
