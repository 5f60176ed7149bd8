import NIOCore
import NIOHTTP2

/// Decides when an HTTP/2 connection ends: after `idle` without an open stream, and at graceful
/// shutdown once its streams are done (the shutdown grace bounds the wait). Both send GOAWAY
/// (NO_ERROR, naming the last stream served) and then close the socket: a GOAWAY alone would leave a
/// peer that ignores it holding a file descriptor forever.
///
/// Only streams count as activity. PING, SETTINGS or WINDOW_UPDATE frames keep nothing alive, so a
/// peer that sends nothing but those is closed like an idle one. ``HTTP2GatewayHandler`` reports
/// each stream that starts and ends.
final class HTTP2ConnectionLifecycle: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private let idleTimeout: TimeAmount
    private var context: ChannelHandlerContext?
    private var openStreams = 0
    private var lastStreamID = HTTP2StreamID.rootStream
    private var idleSince = NIODeadline.now()
    private var idleTimer: Scheduled<Void>?
    private var goingAway = false
    private var shuttingDown = false

    /// - Parameter idle: how long a connection without streams is kept.
    init(idle: TimeAmount) {
        self.idleTimeout = idle
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        armIdleTimer(in: idleTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        self.context = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            // Graceful shutdown: streams in flight finish first. Some clients (httpcore) fail every
            // open stream on any GOAWAY, even one that covers them, so it goes out once none is left.
            shuttingDown = true
            if openStreams == 0 { goAway() }
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: Streams

    func streamCreated(_ id: HTTP2StreamID) {
        openStreams += 1
        if id > lastStreamID { lastStreamID = id }
    }

    func streamClosed(_ id: HTTP2StreamID) {
        openStreams -= 1
        guard openStreams == 0 else { return }
        idleSince = .now()
        if goingAway {
            closeSoon()
        } else if shuttingDown {
            goAway()
        }
    }

    // MARK: Ending the connection

    private func armIdleTimer(in delay: TimeAmount) {
        guard let context else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        idleTimer = context.eventLoop.scheduleTask(in: delay) { bound.value.idleTimerFired() }
    }

    private func idleTimerFired() {
        idleTimer = nil
        guard !goingAway else { return }
        guard openStreams == 0 else { return armIdleTimer(in: idleTimeout) }
        let idleFor = NIODeadline.now() - idleSince
        if idleFor >= idleTimeout {
            goAway()
        } else {
            armIdleTimer(in: idleTimeout - idleFor)
        }
    }

    /// Announces the end (streams already open may finish) and closes once none is left.
    private func goAway() {
        guard !goingAway, let context else { return }
        goingAway = true
        idleTimer?.cancel()
        let frame = HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: lastStreamID, errorCode: .noError, opaqueData: nil))
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
        if openStreams == 0 { closeSoon() }
    }

    /// Closes on the next loop tick, so frames written in this one (the GOAWAY, a stream's last
    /// frame) are flushed first.
    private func closeSoon() {
        guard let context else { return }
        let channel = context.channel
        context.eventLoop.execute { channel.close(promise: nil) }
    }
}

@available(*, unavailable)
extension HTTP2ConnectionLifecycle: Sendable {}
