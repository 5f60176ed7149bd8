import NIOCore
import NIOHTTP1

/// What an upstream connection reports to the request that is using it. Called on the event loop
/// both share, so no hop is involved.
protocol UpstreamExchange: AnyObject {
    /// The final response head (1xx heads are not reported); its ranges point into `bytes`.
    func upstreamResponseHead(_ head: HTTP1ResponseHead, bytes: ByteBuffer)
    /// Body bytes, without the upstream's framing.
    func upstreamResponseBody(_ buffer: ByteBuffer)
    /// The response is complete; `reusable` when the connection may carry another request.
    func upstreamResponseEnd(reusable: Bool)
    func upstreamReadComplete()
    func upstreamWritabilityChanged(isWritable: Bool)
    /// The connection failed or closed mid-exchange (`error` is `nil` for a plain close).
    func upstreamFailed(_ error: (any Error)?)
}

/// The whole pipeline of an upstream connection: writes the request as bytes
/// (``UpstreamRequestWriter``), reads the response on bytes (``UpstreamResponseReader``) and passes
/// it to the current exchange, and holds `read()` while the client cannot take more (backpressure
/// from client to upstream).
final class UpstreamHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The largest response head accepted from an upstream.
    static let maxResponseHeadBytes = 64 * 1024

    /// The request using this connection; `nil` while it sits idle in the pool.
    var exchange: (any UpstreamExchange)?
    /// Called once when the connection closes, so the pool forgets it.
    var onClose: (() -> Void)?
    private var holdsReads = false
    private var pendingRead = false
    /// The reader is handing a read to the exchange. The exchange may close the connection from
    /// inside (a response that ended before its request did leaves a connection that cannot be
    /// reused, and NIO closes at once): the close is then finished once the reader has returned,
    /// since it cannot be asked about the close while it is still reading.
    private var reading = false
    private var closedWhileReading = false
    private var context: ChannelHandlerContext?
    private var writer = UpstreamRequestWriter()
    private var reader = UpstreamResponseReader(maxHeadBytes: UpstreamHandler.maxResponseHeadBytes)

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: Writing the request

    /// Writes a head already written as bytes (``UpstreamRequestHeadWriter``) that announces
    /// `framing` (not flushed).
    /// - Returns: `false` when a request is still open on this connection and it was failed.
    func sendHead(bytes: ByteBuffer, framing: HTTP1BodyFraming, method: HTTP1Method) -> Bool {
        guard let context else { return false }
        do {
            try writer.head(announcing: framing)
            reader.expectResponse(to: method)
            context.write(wrapOutboundOut(bytes), promise: nil)
            return true
        } catch {
            fail(error)
            return false
        }
    }

    /// Writes a piece of the request body in the head's framing (not flushed).
    /// - Returns: `false` when the body does not fit the framing and the connection was failed.
    @discardableResult
    func sendBody(_ body: ByteBuffer) -> Bool {
        guard let context else { return false }
        do {
            try writer.body(body, allocator: context.channel.allocator) { context.write(wrapOutboundOut($0), promise: nil) }
            return true
        } catch {
            fail(error)
            return false
        }
    }

    /// Writes the end of the request (not flushed).
    /// - Returns: `false` when the body was shorter than announced and the connection was failed.
    @discardableResult
    func sendEnd() -> Bool {
        guard let context else { return false }
        do {
            if let bytes = try writer.end(allocator: context.channel.allocator) { context.write(wrapOutboundOut(bytes), promise: nil) }
            return true
        } catch {
            fail(error)
            return false
        }
    }

    /// Stops reading from the upstream until ``resumeReads()``.
    func pauseReads() {
        holdsReads = true
    }

    /// Reads again, replaying a `read()` that was held.
    func resumeReads() {
        holdsReads = false
        if pendingRead, let context {
            pendingRead = false
            context.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        if holdsReads {
            pendingRead = true
        } else {
            context.read()
        }
    }

    // MARK: Reading the response

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var failure: (any Error)?
        reading = true
        do {
            try reader.read(unwrapInboundIn(data)) { event, head in
                // The exchange may let go of the connection on any event (the client left, the end).
                guard let exchange else { return }
                switch event {
                case .head(let bytes): exchange.upstreamResponseHead(head, bytes: bytes)
                case .body(let buffer): exchange.upstreamResponseBody(buffer)
                case .end(let reusable): exchange.upstreamResponseEnd(reusable: reusable)
                }
            }
        } catch {
            failure = error
        }
        reading = false
        if closedWhileReading {
            // Closed by the exchange during the read: whatever followed in the bytes is moot.
            closedWhileReading = false
            return connectionClosed()
        }
        // Bytes outside a response, or a response that breaks the rules: the connection is out of
        // step, and nothing more is read from it.
        if let failure { fail(failure) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        exchange?.upstreamReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        exchange?.upstreamWritabilityChanged(isWritable: context.channel.isWritable)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if reading {
            closedWhileReading = true
            return
        }
        connectionClosed()
    }

    /// The connection is closed: the pool forgets it, and an exchange still using it hears how its
    /// response ended (a response read until the close ends here).
    private func connectionClosed() {
        let exchange = self.exchange
        onClose?()
        onClose = nil
        writer.reset()
        do {
            if case .end(let reusable) = try reader.connectionClosed() {
                exchange?.upstreamResponseEnd(reusable: reusable)
                return
            }
        } catch {
            self.exchange = nil
            exchange?.upstreamFailed(error)
            return
        }
        self.exchange = nil
        exchange?.upstreamFailed(nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error)
    }

    /// Closes the connection and tells the exchange why.
    private func fail(_ error: any Error) {
        let exchange = self.exchange
        self.exchange = nil
        writer.reset()
        context?.close(promise: nil)
        exchange?.upstreamFailed(error)
    }
}

@available(*, unavailable)
extension UpstreamHandler: Sendable {}
