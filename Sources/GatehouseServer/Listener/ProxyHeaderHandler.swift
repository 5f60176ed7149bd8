import Logging
import NIOCore

/// The first handler of a connection on a `proxy_protocol` listener: reads the PROXY protocol header
/// (``ProxyHeaderParser``), hands the connection on to the rest of the accept phase with the client
/// the header names, passes the bytes that followed the header (the TLS ClientHello or the first HTTP
/// request, often in the same read) to the handlers that set-up added, and removes itself.
///
/// Nothing reaches TLS or HTTP before a complete, valid header: a connection whose first bytes are not
/// one, or that has not sent a whole header within `timeout`, is closed.
final class ProxyHeaderHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// Adds the rest of the connection's pipeline (after this handler), for the client in the header.
    typealias Proceed = (_ channel: any Channel, _ header: ProxyHeader) -> EventLoopFuture<Void>

    private enum State {
        /// Waiting for a complete header.
        case reading
        /// Header read; the rest of the pipeline is being added, and bytes that arrive meanwhile wait.
        case handingOver
        /// Handed over; bytes pass through until the handler is gone.
        case passing
        /// Refused and closing; nothing more is read.
        case refused
    }

    private let timeout: TimeAmount
    private let logger: Logger
    private let listener: String
    private let proceed: Proceed
    private var state = State.reading
    /// What arrived while reading or handing over: the header so far, then what follows it.
    private var received: ByteBuffer?
    private var timer: Scheduled<Void>?

    /// - Parameters:
    ///   - timeout: how long the peer has to send the whole header (`timeouts.header`).
    ///   - listener: the listener's name, for the log.
    ///   - logger: where a refused connection is reported, once.
    ///   - proceed: sets up the rest of the pipeline once the header is read.
    init(timeout: TimeAmount, listener: String, logger: Logger, proceed: @escaping Proceed) {
        self.timeout = timeout
        self.listener = listener
        self.logger = logger
        self.proceed = proceed
    }

    func handlerAdded(context: ChannelHandlerContext) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            guard state == .reading else { return }
            state = .refused
            received = nil
            report(.info, "closing a connection: no complete PROXY protocol header in time", context: context, reason: "timeout")
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch state {
        case .passing: return context.fireChannelRead(data)
        case .refused: return
        case .reading, .handingOver: break
        }
        var bytes = unwrapInboundIn(data)
        if received == nil {
            received = bytes
        } else {
            received!.writeBuffer(&bytes)
        }
        if state == .reading { readHeader(context: context) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if state == .reading {
            // A load balancer's plain TCP health check connects and closes without a byte.
            logger.debug("connection closed before a complete PROXY protocol header", metadata: metadata(context))
        }
        context.fireChannelInactive()
    }

    private func readHeader(context: ChannelHandlerContext) {
        guard let buffer = received else { return }
        let length = min(buffer.readableBytes, ProxyHeaderParser.maxHeaderBytes)
        let start = buffer.getBytes(at: buffer.readerIndex, length: length) ?? []
        switch ProxyHeaderParser.parse(start) {
        case .incomplete:
            return
        case .refused(let error):
            state = .refused
            received = nil
            report(.notice, "closing a connection: invalid PROXY protocol header", context: context, reason: error.shortDescription)
            context.close(promise: nil)
        case .header(let header, let length):
            received!.moveReaderIndex(forwardBy: length)
            timer?.cancel()
            timer = nil
            state = .handingOver
            proceed(context.channel, header).assumeIsolated().whenComplete { [self] result in
                switch result {
                case .success: handOver(context: context)
                case .failure: context.close(promise: nil)
                }
            }
        }
    }

    /// Passes on what followed the header and leaves the pipeline.
    private func handOver(context: ChannelHandlerContext) {
        state = .passing
        if let rest = received, rest.readableBytes > 0 {
            received = nil
            context.fireChannelRead(wrapInboundOut(rest))
            context.fireChannelReadComplete()
        }
        received = nil
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private func report(_ level: Logger.Level, _ message: Logger.Message, context: ChannelHandlerContext, reason: String) {
        var metadata = metadata(context)
        metadata["reason"] = "\(reason)"
        logger.log(level: level, message, metadata: metadata)
    }

    private func metadata(_ context: ChannelHandlerContext) -> Logger.Metadata {
        ["listener": "\(listener)", "peer": "\(context.channel.remoteAddress?.ipAddress ?? "-")"]
    }
}

@available(*, unavailable)
extension ProxyHeaderHandler: Sendable {}
