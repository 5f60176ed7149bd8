import NIOCore

/// Closes a client connection that stops taking what Gatehouse writes (nginx's `send_timeout`).
///
/// A client that requests a large response, or many, and never reads would otherwise hold its
/// connection, its upstream connection and the buffered bytes until some other timer ran out. The
/// connection is cut once it has stayed unwritable (NIO's write buffer full because the socket's is)
/// for `timeouts.send`. One timer per connection re-arms itself, so a download whose writability
/// flips many times a second schedules nothing per flip.
///
/// Kept by the connection's last handler (``GatewayHandler`` on HTTP/1.1, ``HTTP2GatewayHandler`` on
/// HTTP/2), which sees every writability change anyway: as a handler of its own it sat in the path of
/// every read of the connection (about 1,000 instructions per small proxied request).
final class SendStallWatch {
    private let timeout: TimeAmount
    private var unwritableSince: NIODeadline?
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    /// The connection's writability changed (`context` is the connection's, its channel the client's).
    func writabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            unwritableSince = nil
        } else if unwritableSince == nil {
            // The loop's clock (virtual on an EmbeddedEventLoop); writability changes are rare.
            unwritableSince = context.eventLoop.now
            if timer == nil { arm(context: context, in: timeout) }
        }
    }

    /// The handler goes away: nothing is watched any more.
    func stop() {
        timer?.cancel()
        timer = nil
        unwritableSince = nil
    }

    private func arm(context: ChannelHandlerContext, in delay: TimeAmount) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: delay) {
            let (watch, context) = bound.value
            watch.fired(context: context)
        }
    }

    private func fired(context: ChannelHandlerContext) {
        timer = nil
        guard let since = unwritableSince else { return }
        let stalled = context.eventLoop.now - since
        if stalled >= timeout {
            context.close(promise: nil)
        } else {
            arm(context: context, in: timeout - stalled)
        }
    }
}

@available(*, unavailable)
extension SendStallWatch: Sendable {}
