import NIOCore
import NIOHTTP1

/// What an upstream connection reports to the request that is using it. Called on the event loop
/// both share, so no hop is involved.
protocol UpstreamExchange: AnyObject {
    func upstreamReceived(_ part: HTTPClientResponsePart)
    func upstreamReadComplete()
    func upstreamWritabilityChanged(isWritable: Bool)
    func upstreamFailed(_ error: (any Error)?)
}

/// The tail of an upstream connection's pipeline: passes response parts to the current exchange and
/// holds `read()` while the client cannot take more (backpressure from client to upstream).
final class UpstreamHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    /// The request using this connection; `nil` while it sits idle in the pool.
    var exchange: (any UpstreamExchange)?
    /// Called once when the connection closes, so the pool forgets it.
    var onClose: (() -> Void)?
    private var holdsReads = false
    private var pendingRead = false
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
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

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        guard let exchange else {
            // An idle keep-alive connection must stay silent; anything else means it is unusable.
            context.close(promise: nil)
            return
        }
        exchange.upstreamReceived(part)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        exchange?.upstreamReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        exchange?.upstreamWritabilityChanged(isWritable: context.channel.isWritable)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let exchange = self.exchange
        self.exchange = nil
        onClose?()
        onClose = nil
        exchange?.upstreamFailed(nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let exchange = self.exchange
        self.exchange = nil
        context.close(promise: nil)
        exchange?.upstreamFailed(error)
    }
}

@available(*, unavailable)
extension UpstreamHandler: Sendable {}
