import NIOCore

/// Reads an upstream's response on bytes: the head with ``HTTP1ResponseHeadParser`` (1xx heads
/// skipped), then the body in the framing the head decided, handed out without its framing. One per
/// upstream connection (``UpstreamHandler`` holds it); it expects exactly one response per request
/// written, so any byte the upstream sends outside one is an error and the connection is not reused.
///
/// Body bytes are slices of the received buffers (no copy). A head or a chunk-size line that arrives
/// in pieces is gathered in a buffer of its own; one that arrives whole (nearly all) is parsed where
/// it landed.
struct UpstreamResponseReader {
    enum Event {
        /// The final response head, the `head` that comes with the event; `bytes` is the buffer it was
        /// parsed from (its ranges point there).
        case head(bytes: ByteBuffer)
        /// Body bytes, without chunk framing.
        case body(ByteBuffer)
        /// The response is complete; `reusable` when the connection may carry another request.
        case end(reusable: Bool)
    }

    /// Why a response could not be read. The connection is closed, and the request failed as a bad
    /// upstream response (502).
    enum Failure: Error, Equatable {
        /// The head or chunked body broke HTTP/1.1's rules.
        case malformed(HTTP1Refusal)
        /// Bytes arrived while no request was waiting for them, or after the response ended.
        case unsolicited
        /// The connection closed before the response was complete.
        case truncated
    }

    private enum State {
        /// No request is waiting for an answer.
        case idle
        /// Waiting for the head of the answer to a request with this method.
        case head(requestMethod: HTTP1Method)
        case body(Body)
    }

    private enum Body {
        case length(remaining: Int)
        case chunked(ChunkedBodyParser)
        case untilClose
    }

    private var state = State.idle
    private var parser: HTTP1ResponseHeadParser
    /// The head of the response being read, written in place by the parser (handed out in events,
    /// a head with its inline fields was copied whole at every step). Its keep-alive says whether the
    /// connection stays usable after the body.
    private(set) var head = HTTP1ResponseHead()
    /// Bytes of a head or of a chunk's framing that have not arrived whole yet: the next read is
    /// appended to them.
    private var leftover: ByteBuffer?

    /// - Parameter maxHeadBytes: the largest response head accepted.
    init(maxHeadBytes: Int) {
        parser = HTTP1ResponseHeadParser(maxHeadBytes: maxHeadBytes)
    }

    /// Whether a response is expected or being read.
    var isReading: Bool {
        if case .idle = state { return false }
        return true
    }

    /// A request was written: its response comes next.
    /// - Parameter method: the request's method (a response to `HEAD` has no body).
    mutating func expectResponse(to method: HTTP1Method) {
        state = .head(requestMethod: method)
        leftover = nil
    }

    /// Hands `emit` what `buffer` carries, in order, each event with the head of the response it
    /// belongs to (read it there: ``head`` itself cannot be read while this runs). After
    /// ``Event/end(reusable:)`` nothing more is expected: bytes left over are ``Failure/unsolicited``.
    /// - Parameters:
    ///   - buffer: bytes read from the upstream.
    ///   - emit: called with each event and the response's head.
    mutating func read(_ incoming: ByteBuffer, _ emit: (Event, _ head: HTTP1ResponseHead) -> Void) throws(Failure) {
        var buffer: ByteBuffer
        if var carried = leftover {
            leftover = nil
            var incoming = incoming
            carried.writeBuffer(&incoming)
            buffer = carried
        } else {
            buffer = incoming
        }
        while true {
            switch state {
            case .idle:
                if buffer.readableBytes > 0 { throw .unsolicited }
                return
            case .head(let method):
                guard let headBytes = try readHead(&buffer, requestMethod: method) else { return }
                emit(.head(bytes: headBytes), head)
                if case .idle = state { emit(.end(reusable: head.keepAlive), head) }
            case .body(.length(let remaining)):
                guard buffer.readableBytes > 0 else { return }
                let count = min(remaining, buffer.readableBytes)
                let slice = buffer.readSlice(length: count)!
                if count == remaining {
                    state = .idle
                    emit(.body(slice), head)
                    emit(.end(reusable: head.keepAlive), head)
                } else {
                    state = .body(.length(remaining: remaining - count))
                    emit(.body(slice), head)
                }
            case .body(.chunked(var parser)):
                let event: ChunkedBodyParser.Event?
                do {
                    event = try parser.next(&buffer)
                } catch {
                    throw .malformed(error)
                }
                switch event {
                case .none:
                    state = .body(.chunked(parser))
                    if buffer.readableBytes > 0 { leftover = buffer }
                    return
                case .data(let slice):
                    state = .body(.chunked(parser))
                    emit(.body(slice), head)
                case .end:
                    state = .idle
                    emit(.end(reusable: head.keepAlive), head)
                }
            case .body(.untilClose):
                guard buffer.readableBytes > 0 else { return }
                emit(.body(buffer.readSlice(length: buffer.readableBytes)!), head)
                return
            }
        }
    }

    /// The upstream closed the connection: the end of a body read until close, else a truncation
    /// (when a response was expected).
    /// - Returns: the end event of a close-delimited body.
    mutating func connectionClosed() throws(Failure) -> Event? {
        defer { state = .idle }
        switch state {
        case .idle: return nil
        case .body(.untilClose): return .end(reusable: false)
        case .head, .body: throw .truncated
        }
    }

    /// Parses the head from what has arrived into ``head``; its bytes, or `nil` when more is needed.
    /// Moves to the body (or to `idle` for a response without one), and leaves what follows the head
    /// in `buffer`.
    private mutating func readHead(_ buffer: inout ByteBuffer, requestMethod: HTTP1Method) throws(Failure) -> ByteBuffer? {
        while true {
            guard buffer.readableBytes > 0 else { return nil }
            switch parser.parse(buffer, requestMethod: requestMethod, into: &head) {
            case .needMore:
                leftover = buffer
                buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
                return nil
            case .refused(let refusal):
                throw .malformed(refusal)
            case .complete:
                // What follows the head is body (or, after a 1xx, the next head).
                let headBytes = buffer.readSlice(length: head.headLength)!
                // 1xx heads are not relayed: Gatehouse answered `Expect` itself.
                if head.isInformational { continue }
                switch head.framing {
                case .none, .contentLength(0): state = .idle
                case .contentLength(let length): state = .body(.length(remaining: length))
                case .chunked: state = .body(.chunked(ChunkedBodyParser()))
                case .untilClose: state = .body(.untilClose)
                }
                return headBytes
            }
        }
    }
}
