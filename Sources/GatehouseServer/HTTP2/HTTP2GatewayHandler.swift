import GatehouseAuth
import NIOCore
import NIOHTTP2

/// An HTTP/2 connection's streams without a channel per stream. `NIOHTTP2Handler`, set up without a
/// stream multiplexer, passes every frame on with its stream id; this handler keeps one
/// ``GatewayHandler`` per stream (the same request phases as an HTTP/1.1 connection: admission,
/// route, local responder or proxy, log) and does for it what NIO's child channel did:
///
/// - **Reading.** A frame goes to the stream's request as it arrives while the request reads; when it
///   does not (its upstream cannot take more, or `limits.proxy_request_buffer` is gathered), frames
///   wait on the stream until the request reads again.
/// - **Inbound flow control.** NIO sends no WINDOW_UPDATE in this mode. Each stream's window is raised
///   once half of it is consumed, counting held frames as not consumed (``HTTP2InboundWindow``), so a
///   request that stops reading stops its client after one window; the connection window is raised as
///   data arrives (the streams bound what is held).
/// - **Outbound backpressure.** A stream is writable while NIO holds less than
///   ``HTTP2StreamFlow/highWater`` of its DATA (a client that does not open its window) and the
///   connection is writable; ``HTTP2SentFrames`` reports what NIO encodes. A stream that is not
///   writable stops reading its upstream.
/// - **Ends.** A stream closed by NIO (both sides ended, RST_STREAM from the client, an error) ends
///   its request as a closed connection would; a request that gives up resets its stream.
///
/// ``HTTP2ConnectionLifecycle`` hears of each stream from here (idle close, graceful shutdown).
final class HTTP2GatewayHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private let runtime: GatewayRuntime
    private let loop: LoopContext
    private let info: ConnectionInfo
    private let streamWindow: Int
    private let lifecycle: HTTP2ConnectionLifecycle?
    private var context: ChannelHandlerContext?
    private(set) var streams: [HTTP2StreamID: GatewayHandler] = [:]
    private var connectionWindow: HTTP2InboundWindow
    /// Streams that received frames in the current read, for their end of read.
    private var streamsRead: [GatewayHandler] = []
    /// Where `streamsRead` goes at the end of a read (the two are swapped): a copy of it made there
    /// shared its storage, so emptying it allocated new storage on every read.
    private var streamsReadBefore: [GatewayHandler] = []
    /// Inside `channelRead`: a stream's end of read waits for the connection's.
    private var inRead = false
    /// A frame was written that no flush has covered yet.
    private var needsFlush = false
    /// The one timer of the connection's streams (``scheduleStreamTimer(at:)``), and when it fires.
    private var streamTimer: (callback: NIOScheduledCallback, at: NIODeadline)?
    /// Closes the connection when the client stops taking what is written (`timeouts.send`).
    private let sendStall: SendStallWatch
    /// The strings of the last relayed heads' fields, for the streams' response header blocks.
    let responseFieldMemo = HTTP2ResponseFieldMemo()
    /// The SHA-256 of the last token the connection's streams presented, for the edge token check.
    var tokenDigests = TokenDigestMemo()

    /// - Parameters:
    ///   - connectionWindow: the connection window kept open for the client.
    ///   - streamWindow: each stream's window (the `SETTINGS_INITIAL_WINDOW_SIZE` Gatehouse announces).
    ///   - lifecycle: told of every stream that starts and ends.
    init(
        runtime: GatewayRuntime, loop: LoopContext, info: ConnectionInfo, connectionWindow: Int, streamWindow: Int,
        lifecycle: HTTP2ConnectionLifecycle?
    ) {
        self.runtime = runtime
        self.loop = loop
        self.info = info
        self.streamWindow = streamWindow
        self.connectionWindow = HTTP2InboundWindow(target: connectionWindow)
        self.lifecycle = lifecycle
        self.sendStall = SendStallWatch(timeout: TimeAmount(runtime.timeouts.send))
    }

    /// The number of streams with a request (for tests).
    var openStreams: Int { streams.count }

    /// Whether stream `id` may take more of its response (for tests).
    func isWritable(stream id: HTTP2StreamID) -> Bool {
        streams[id].map(isWritable) ?? false
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        sendStall.stop()
        endAllStreams()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        endAllStreams()
        context.fireChannelInactive()
    }

    // MARK: The streams' timer

    /// A stream's handler needs its timers looked at by `deadline`. One scheduled callback serves
    /// every stream: it is moved only for an earlier deadline (a later one, the usual case, costs
    /// nothing), and nothing is cancelled when a stream ends; when it fires, the streams that are
    /// due run their timers and it is scheduled again for the earliest left.
    func scheduleStreamTimer(at deadline: NIODeadline) {
        if let streamTimer, streamTimer.at <= deadline { return }
        guard let context,
            let callback = try? context.eventLoop.scheduleCallback(at: deadline, handler: HTTP2StreamTimerCallback(connection: self))
        else { return }
        streamTimer?.callback.cancel()
        streamTimer = (callback, deadline)
    }

    fileprivate func streamTimerFired() {
        streamTimer = nil
        let now = loop.now
        // A stream's timer can end streams (its own, or the connection): run over a copy.
        for handler in Array(streams.values) {
            if let due = handler.streamTimerDue, due <= now { handler.timerCallbackFired() }
        }
        // The streams not due yet.
        for handler in streams.values {
            if let due = handler.streamTimerDue { scheduleStreamTimer(at: due) }
        }
    }

    private func cancelStreamTimer() {
        streamTimer?.callback.cancel()
        streamTimer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let id = frame.streamID
        inRead = true
        // Connection frames (SETTINGS, PING, GOAWAY) are NIO's; RST_STREAM arrives as the stream's
        // close event, WINDOW_UPDATE as a window event, PRIORITY is not used.
        switch frame.payload {
        case .headers, .data: break
        default: return
        }
        let handler: GatewayHandler
        if let existing = streams[id] {
            handler = existing
        } else {
            guard case .headers = frame.payload else { return }
            handler = GatewayHandler(
                runtime: runtime, loop: loop, info: info, stream: HTTP2StreamLink(connection: self, id: id), streamWindow: streamWindow)
            streams[id] = handler
            lifecycle?.streamCreated(id)
        }
        guard !handler.streamFlow.reset else { return }
        if case .headers(let block) = frame.payload, block.endStream { handler.streamFlow.inbound.closed = true }
        if case .data(let body) = frame.payload, body.endStream { handler.streamFlow.inbound.closed = true }
        if !handler.streamFlow.readInThisRead {
            handler.streamFlow.readInThisRead = true
            streamsRead.append(handler)
        }
        if handler.streamFlow.reading, handler.streamFlow.held.isEmpty, !handler.streamFlow.delivering {
            handler.streamFlow.delivering = true
            handler.streamFrame(frame.payload)
            handler.streamFlow.delivering = false
            if !handler.streamFlow.ended { handler.streamFlow.reading = handler.streamMayRead() }
        } else {
            handler.streamFlow.hold(frame.payload)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        inRead = false
        swap(&streamsRead, &streamsReadBefore)
        for handler in streamsReadBefore where !handler.streamFlow.ended {
            handler.streamFlow.readInThisRead = false
            handler.streamReadComplete()
        }
        streamsReadBefore.removeAll(keepingCapacity: true)
        flushIfNeeded()
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Three of these arrive for every stream. Each `as?` that fails is a dynamic cast of its own
        // (a `switch` of `case let … as` tried up to three per event); comparing the dynamic type
        // first leaves one cast, the one that succeeds.
        let type = ObjectIdentifier(Swift.type(of: event))
        switch type {
        case ObjectIdentifier(NIOHTTP2WindowUpdatedEvent.self):
            windowUpdated(event as! NIOHTTP2WindowUpdatedEvent)
        case ObjectIdentifier(StreamClosedEvent.self):
            streamClosed((event as! StreamClosedEvent).streamID)
        case ObjectIdentifier(NIOHTTP2StreamCreatedEvent.self):
            // A stream starts with its first HEADERS frame, which comes just before this.
            break
        case ObjectIdentifier(NIOHTTP2BulkStreamWindowChangeEvent.self):
            let change = event as! NIOHTTP2BulkStreamWindowChangeEvent
            for (id, handler) in streams {
                if let increment = handler.streamFlow.inbound.initialWindowSizeChanged(delta: change.delta) {
                    writeWindowUpdate(increment, on: id)
                }
            }
            flushIfNeeded()
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        sendStall.writabilityChanged(context: context)
        if context.channel.isWritable {
            for handler in streams.values where handler.streamFlow.belowHighWater {
                handler.streamBecameWritable()
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A stream's error ends that stream; a connection error ends the connection below (the
        // GOAWAY guard), and its streams with it.
        if let streamError = error as? NIOHTTP2Errors.StreamError {
            streams[streamError.streamID]?.streamErrorCaught(streamError.baseError)
            return
        }
        context.fireErrorCaught(error)
    }

    // MARK: Flow control

    private func windowUpdated(_ event: NIOHTTP2WindowUpdatedEvent) {
        guard let size = event.inboundWindowSize else { return }
        if event.streamID == .rootStream {
            if let increment = connectionWindow.newWindowSize(size) { writeWindowUpdate(increment, on: .rootStream) }
        } else if let handler = streams[event.streamID], let increment = handler.streamFlow.inbound.newWindowSize(size) {
            writeWindowUpdate(increment, on: event.streamID)
        }
        if !inRead { flushIfNeeded() }
    }

    private func writeWindowUpdate(_ increment: Int, on id: HTTP2StreamID) {
        guard let context else { return }
        context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .windowUpdate(windowSizeIncrement: increment))), promise: nil)
        needsFlush = true
    }

    /// NIO encoded a frame (``HTTP2SentFrames``): a stream whose held-back DATA drains below the
    /// low-water mark may read its upstream again.
    func frameSent(_ frame: HTTP2Frame) {
        guard case .data(let body) = frame.payload, let handler = streams[frame.streamID] else { return }
        if handler.streamFlow.sent(bytes: body.data.readableBytes), context?.channel.isWritable == true {
            handler.streamBecameWritable()
        }
    }

    // MARK: Requests to the stream (from its GatewayHandler, which passes itself)

    /// Whether the stream may take more of its response.
    func isWritable(_ handler: GatewayHandler) -> Bool {
        guard !handler.streamFlow.ended, let context else { return false }
        return handler.streamFlow.belowHighWater && context.channel.isWritable
    }

    /// Writes a frame of the stream's response (flushed by ``flush()``).
    func write(_ payload: HTTP2Frame.FramePayload, on id: HTTP2StreamID, of handler: GatewayHandler, promise: EventLoopPromise<Void>?) {
        guard let context, !handler.streamFlow.ended, !handler.streamFlow.reset else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        switch payload {
        case .data(let body):
            handler.streamFlow.wrote(bytes: body.data.readableBytes)
            if body.endStream { handler.streamFlow.responseEnded = true }
        case .headers(let block):
            if block.endStream { handler.streamFlow.responseEnded = true }
        default:
            break
        }
        context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: payload)), promise: promise)
        needsFlush = true
    }

    func flush() {
        // Inside a read the end of the read flushes once for every stream.
        if !inRead { flushIfNeeded() }
    }

    private func flushIfNeeded() {
        guard needsFlush, let context else { return }
        needsFlush = false
        context.flush()
    }

    /// The stream's request reads again: held frames go to it, in order, while it keeps reading.
    func read(_ handler: GatewayHandler, on id: HTTP2StreamID) {
        guard !handler.streamFlow.ended else { return }
        handler.streamFlow.reading = true
        guard !handler.streamFlow.delivering, !handler.streamFlow.held.isEmpty else { return }
        handler.streamFlow.delivering = true
        while handler.streamFlow.reading, let (payload, increment) = handler.streamFlow.nextHeld() {
            if let increment { writeWindowUpdate(increment, on: id) }
            handler.streamFrame(payload)
            guard !handler.streamFlow.ended else { return }
            handler.streamFlow.reading = handler.streamMayRead()
        }
        handler.streamFlow.delivering = false
        // Outside a connection read this is the end of the stream's read.
        if !inRead {
            handler.streamReadComplete()
            flushIfNeeded()
        }
    }

    /// The request gives up on its stream: RST_STREAM. Its close event ends the request.
    ///
    /// Once the response has ended, only the client's upload is stopped: the response's frames are
    /// flushed first (NIO drops the DATA it still holds for a stream that is reset, so a 413 written
    /// in this read would be lost) and the code is NO_ERROR, which asks the client to stop sending
    /// and keep the response (RFC 9113 section 8.1). Before that, CANCEL.
    func reset(_ handler: GatewayHandler, on id: HTTP2StreamID) {
        guard let context, !handler.streamFlow.ended, !handler.streamFlow.reset else { return }
        handler.streamFlow.reset = true
        handler.streamFlow.held.removeAll()
        let code: HTTP2ErrorCode
        if handler.streamFlow.responseEnded {
            flushIfNeeded()
            code = .noError
        } else {
            code = .cancel
        }
        context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .rstStream(code))), promise: nil)
        needsFlush = true
        if !inRead { flushIfNeeded() }
    }

    // MARK: Stream ends

    /// NIO closed the stream: frames still held go to the request first (as a closed child channel
    /// delivered its pending reads), then the request ends as on a closed connection.
    private func streamClosed(_ id: HTTP2StreamID) {
        guard let handler = streams.removeValue(forKey: id) else { return }
        handler.streamFlow.ended = true
        handler.streamFlow.inbound.closed = true
        if !handler.streamFlow.reset {
            while let (payload, _) = handler.streamFlow.nextHeld() { handler.streamFrame(payload) }
        }
        handler.streamClosed()
        lifecycle?.streamClosed(id)
    }

    private func endAllStreams() {
        cancelStreamTimer()
        let ended = streams
        streams.removeAll()
        for (id, handler) in ended {
            handler.streamFlow.ended = true
            handler.streamClosed()
            lifecycle?.streamClosed(id)
        }
    }
}

@available(*, unavailable)
extension HTTP2GatewayHandler: Sendable {}

/// The scheduled callback of an HTTP/2 connection's streams (``HTTP2GatewayHandler/scheduleStreamTimer(at:)``).
///
/// `@unchecked Sendable`: NIO calls it on the event loop it was scheduled on, which is the handler's.
private struct HTTP2StreamTimerCallback: NIOScheduledCallbackHandler, @unchecked Sendable {
    let connection: HTTP2GatewayHandler

    func handleScheduledCallback(eventLoop: some EventLoop) {
        connection.streamTimerFired()
    }
}

/// A stream of an ``HTTP2GatewayHandler``, as its ``GatewayHandler`` reaches it.
struct HTTP2StreamLink {
    let connection: HTTP2GatewayHandler
    let id: HTTP2StreamID
}

/// Tells the ``HTTP2GatewayHandler`` which frames `NIOHTTP2Handler` encoded, so it knows how much of
/// each stream's response NIO still holds.
///
/// `@unchecked Sendable` is not claimed: NIO calls it on the connection's event loop only.
struct HTTP2SentFrames: NIOHTTP2FrameDelegate {
    let gateway: HTTP2GatewayHandler

    func wroteFrame(_ frame: HTTP2Frame) {
        gateway.frameSent(frame)
    }
}
