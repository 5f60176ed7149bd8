import NIOCore

/// Closes a client connection that stops taking what Gatehouse writes (nginx's `send_timeout`).
///
/// A client that requests a large response, or many, and never reads would otherwise hold its
/// connection, its upstream connection and the buffered bytes until some other timer ran out. The
/// connection is cut once it has stayed unwritable (NIO's write buffer full because the socket's is)
/// for `timeouts.send`. One timer per connection re-arms itself, so a download whose writability
/// flips many times a second schedules nothing per flip.
final class SendTimeoutHandler: ChannelInboundHandler {
    typealias InboundIn = NIOAny
    typealias InboundOut = NIOAny

    private let timeout: TimeAmount
    private var unwritableSince: NIODeadline?
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            unwritableSince = nil
        } else if unwritableSince == nil {
            unwritableSince = .now()
            if timer == nil { arm(context: context, in: timeout) }
        }
        context.fireChannelWritabilityChanged()
    }

    private func arm(context: ChannelHandlerContext, in delay: TimeAmount) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: delay) {
            let (handler, context) = bound.value
            handler.fired(context: context)
        }
    }

    private func fired(context: ChannelHandlerContext) {
        timer = nil
        guard let since = unwritableSince else { return }
        let stalled = NIODeadline.now() - since
        if stalled >= timeout {
            context.close(promise: nil)
        } else {
            arm(context: context, in: timeout - stalled)
        }
    }
}

@available(*, unavailable)
extension SendTimeoutHandler: Sendable {}
