import NIOCore

/// What an HTTP/2 connection needs between TLS and the HTTP/2 handler, in one handler (three handlers
/// of their own cost a pipeline step each on every read, write and flush: about 2,500 instructions
/// per small request):
///
/// - **Settings from the first request** (``HTTP2EarlySettings``): the client's first SETTINGS is
///   acknowledged on its behalf, so the limits Gatehouse announced apply before the client's ACK.
/// - **One flush per tick**: every stream flushes when its response is written, and each flush would
///   reach the socket as a `writev` of its own. Responses of several streams usually complete in the
///   same tick (their upstream answers are read in one batch), so the flush waits for the end of the
///   tick, never longer, and TLS seals the frames in fewer records.
/// - **The end after an error GOAWAY**: on a connection error swift-nio-http2 writes GOAWAY and
///   reports the error, but keeps the socket open and keeps buffering whatever the peer sends: a peer
///   that ignores the GOAWAY (a PING or CONTINUATION flood) could grow that buffer until the process
///   runs out of memory. The frames written are followed (``OutboundFrameScanner``: frame headers
///   only); once a GOAWAY with an error code leaves, nothing more is read or passed on, and the
///   connection closes as soon as the GOAWAY is written, or after `grace` if the peer does not take it.
final class HTTP2ConnectionEdge: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let grace: TimeAmount
    private var earlySettings = HTTP2EarlySettings()
    private var scanner = OutboundFrameScanner()
    private var flushPending = false
    /// The end-of-tick flush, made once per connection: a closure made per flush was an allocation
    /// per request. It holds this handler until ``handlerRemoved(context:)`` lets it go.
    private var deferredFlush: (@Sendable () -> Void)?
    private var closing = false
    private var closeTimer: Scheduled<Void>?

    init(grace: TimeAmount) {
        self.grace = grace
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deferredFlush = {
            let (handler, context) = bound.value
            guard handler.flushPending else { return }
            handler.flushPending = false
            context.flush()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        closeTimer?.cancel()
        deferredFlush = nil
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // After an error GOAWAY nothing the peer sends is looked at or kept.
        guard !closing else { return }
        guard !earlySettings.isDone else { return context.fireChannelRead(data) }
        earlySettings.filter(unwrapInboundIn(data), allocator: context.channel.allocator) { bytes in
            context.fireChannelRead(wrapInboundOut(bytes))
        }
    }

    func read(context: ChannelHandlerContext) {
        guard !closing else { return }
        context.read()
    }

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !closing, case .byteBuffer(let buffer) = unwrapOutboundIn(data) else {
            // File regions are never written on these connections; after closing began, writes still go
            // out so the GOAWAY's own bytes are not lost.
            return context.write(data, promise: promise)
        }
        guard scanner.scan(buffer) else { return context.write(data, promise: promise) }
        closing = true
        flushPending = false
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.cascade(to: promise)
        context.write(data, promise: written)
        context.flush()
        written.futureResult.whenComplete { _ in
            let (handler, context) = bound.value
            handler.close(context: context, mode: .all, promise: nil)
        }
        closeTimer = context.eventLoop.scheduleTask(in: grace) {
            let (handler, context) = bound.value
            handler.close(context: context, mode: .all, promise: nil)
        }
    }

    func flush(context: ChannelHandlerContext) {
        guard !flushPending else { return }
        guard let deferredFlush else { return context.flush() }
        flushPending = true
        context.eventLoop.execute(deferredFlush)
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
extension HTTP2ConnectionEdge: Sendable {}
