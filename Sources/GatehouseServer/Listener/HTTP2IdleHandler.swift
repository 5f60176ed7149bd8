import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP2

/// Counts the open streams of one HTTP/2 connection (the multiplexer reports them).
final class HTTP2OpenStreams: NIOHTTP2StreamDelegate {
    // Updated on the connection's event loop, read there too; atomic so the type can be Sendable.
    private let count = NIOLockedValueBox(0)

    var isIdle: Bool { count.withLockedValue { $0 == 0 } }

    func streamCreated(_ id: HTTP2StreamID, channel: any Channel) {
        count.withLockedValue { $0 += 1 }
    }

    func streamClosed(_ id: HTTP2StreamID, channel: any Channel) {
        count.withLockedValue { $0 -= 1 }
    }
}

/// Closes an HTTP/2 connection (with GOAWAY) once it has had no open stream for the idle timeout.
/// A connection holding a long-poll is never idle, however quiet it is.
final class HTTP2IdleHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundIn = HTTP2Frame

    private let streams: HTTP2OpenStreams
    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?
    private var lastActivity = NIODeadline.now()

    init(streams: HTTP2OpenStreams, timeout: TimeAmount) {
        self.streams = streams
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        schedule(context: context, in: timeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActivity = .now()
        context.fireChannelRead(data)
    }

    private func schedule(context: ChannelHandlerContext, in delay: TimeAmount) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: delay) {
            let (handler, context) = bound.value
            handler.check(context: context)
        }
    }

    private func check(context: ChannelHandlerContext) {
        let quietFor = NIODeadline.now() - lastActivity
        if streams.isIdle, quietFor >= timeout {
            // The HTTP/2 handler turns this into GOAWAY and closes once no stream is left.
            context.channel.triggerUserOutboundEvent(ChannelShouldQuiesceEvent(), promise: nil)
            return
        }
        schedule(context: context, in: quietFor >= timeout ? timeout : timeout - quietFor)
    }
}

@available(*, unavailable)
extension HTTP2IdleHandler: Sendable {}
