import NIOCore

/// Merges the flushes of one event-loop tick into one, below the HTTP/2 handler.
///
/// Every HTTP/2 stream flushes on its own when its response is written, and each of those flushes
/// would reach the socket as a separate `writev`. Responses of several streams usually complete in
/// the same tick (their upstream answers are read in one batch), so deferring the flush to the end of
/// the tick sends them in one system call, and TLS seals them in fewer records. Writes pass through
/// untouched; only `flush` is delayed, and never beyond the current tick.
final class FlushCoalescingHandler: ChannelOutboundHandler {
    typealias OutboundIn = NIOAny

    private var flushPending = false

    func flush(context: ChannelHandlerContext) {
        guard !flushPending else { return }
        flushPending = true
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let (handler, context) = bound.value
            guard handler.flushPending else { return }
            handler.flushPending = false
            context.flush()
        }
    }

    /// A close right after a write (GOAWAY, a reset) must not lose it: flush first.
    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if flushPending {
            flushPending = false
            context.flush()
        }
        context.close(mode: mode, promise: promise)
    }
}

@available(*, unavailable)
extension FlushCoalescingHandler: Sendable {}
