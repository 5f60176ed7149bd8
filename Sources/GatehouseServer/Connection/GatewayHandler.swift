import GatehouseAuth
import GatehouseCore
import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

/// Facts about the client connection a request arrived on, fixed when the connection is set up.
struct ConnectionInfo: Sendable {
    var isHTTP2: Bool
    var isTLS: Bool
    /// The client's IP address (what `X-Forwarded-For` is set to): the TCP peer's, or on a
    /// `proxy_protocol` listener the one its PROXY header names.
    var peerAddress: String?
    /// The `Strict-Transport-Security` value for TLS listeners.
    var hsts: String?
    var scheme: String { isTLS ? "https" : "http" }
    var protocolName: String { isHTTP2 ? "h2" : "h1" }
}

/// Runs every request on one HTTP/1.1 connection or one HTTP/2 stream through Gatehouse's fixed
/// phases: admission and route (``RequestAdmission`` and the route table), then a local responder
/// or the proxy, then the access log.
///
/// A thin adapter over ``ConnectionStateMachine``: it turns channel and upstream events into the
/// state machine's events and performs the actions it returns. It owns what the state machine must
/// not: the channel context, the scheduled timers, the upstream pool and connection, and the parsed
/// heads (the client's and the one sent upstream).
///
/// An HTTP/1.1 connection carries bytes both ways: the handler reads requests with
/// ``HTTP1RequestReader`` and writes responses as bytes (``HTTP1ResponseWriter``,
/// ``ResponseHeadRewriter``), so a proxied request never becomes an `HTTPRequestHead`. An HTTP/2
/// stream carries HEADERS and DATA payloads: its request header block is written as the HTTP/1.1
/// head it stands for and parsed by the same parser (``HTTP2RequestHead``), so from admission on a
/// request takes one path whatever its protocol; responses become HEADERS and DATA here
/// (``HTTP2StreamMessages``): no codec handler per stream. A stream's handler is in no pipeline:
/// ``HTTP2GatewayHandler`` keeps one per stream and calls its `stream…` methods (``HTTP2StreamLink``
/// is the way back), so the phases below are the same code for both protocols.
///
/// The proxy phase stays on the event loop: the upstream connection comes from this loop's pool, and
/// request and response parts are written straight through in both directions. Backpressure is
/// applied by holding `read()` on whichever side is ahead, so memory stays bounded whatever the body
/// sizes.
final class GatewayHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = Never
    typealias OutboundOut = ByteBuffer
    typealias State = ConnectionStateMachine

    /// See ``ConnectionStateMachine/maxPipelinedRequests``.
    static let maxPipelinedRequests = State.maxPipelinedRequests

    private let runtime: GatewayRuntime
    private let loop: LoopContext
    private let info: ConnectionInfo
    /// HTTP/1.1: the handler's place in the connection's pipeline (`nil` for an HTTP/2 stream).
    private var context: ChannelHandlerContext!
    /// An HTTP/2 stream of an ``HTTP2GatewayHandler``. Kept after the stream ends: a frame written
    /// just before may still need the connection's flush.
    private var stream: HTTP2StreamLink?
    /// The handler heard of its stream's end (``streamClosed()``). Not ``HTTP2StreamFlow/ended``,
    /// which the connection sets first: frames still held are delivered between the two, and reach a
    /// request that is still active but can no longer write.
    private var streamEnded = false
    /// An HTTP/2 stream's reading, held frames and windows (kept by ``HTTP2GatewayHandler``).
    var streamFlow: HTTP2StreamFlow
    private var state: State

    /// HTTP/1.1: turns the client's bytes into requests (`nil` on HTTP/2 streams).
    private var reader: HTTP1RequestReader?
    /// The current request's head, parsed as bytes (on HTTP/2, the bytes of the HTTP/1.1 head its
    /// header block stands for), kept only for what reads it after ``beginRequest(_:)``: a local
    /// service (``runLocal(_:body:)``) and a sticky pool (``acquireUpstream(avoiding:)``). Storing and
    /// clearing a few hundred bytes costs copies that a proxied request need not pay.
    private var clientHead: ClientHead?
    /// Whether ``clientHead`` holds a head: tested instead of the optional, whose every read copies it.
    private var holdsClientHead = false
    /// The head that goes upstream, with its framing.
    private var upstreamHeadBytes: (bytes: ByteBuffer, framing: HTTP1BodyFraming)?
    /// HTTP/1.1: the relayed response body goes to the client chunked (the upstream's was chunked or
    /// read until close).
    private var relayChunked = false
    /// HTTP/1.1: the relayed response's head until what follows it in the same read (one write for a
    /// small response).
    private var heldResponseHead = HeldResponseHead()
    /// HTTP/1.1: the SHA-256 of the last token the connection presented (HTTP/2 streams use their
    /// connection's).
    private var tokenDigests = TokenDigestMemo()
    /// HTTP/2: the stream's request head has arrived (a later HEADERS block is trailers).
    private var streamHeadReceived = false
    /// HTTP/2: the last response frame, held until the next one, a flush or the end, so the end
    /// sets END_STREAM on it instead of costing a frame of its own.
    private var pendingFrame: HTTP2Frame.FramePayload?
    /// The localpart of the request's token as the edge token check resolved it (for `sticky_user` pools).
    private var tokenUser: String?
    /// What the head said about the token while the edge check waits for a form-encoded body.
    private var formBodyHeadReading: AccessToken.Reading?
    /// The pool of the current proxied request, and the connection it is using.
    private var pool: UpstreamPool?
    private var upstream: UpstreamConnection?
    /// Parts of pipelined HTTP/1 requests waiting for the current one to finish (counted by the
    /// state machine, which decides when they go on). An array, empty without an allocation: few
    /// connections pipeline, no HTTP/2 stream does, and a `CircularBuffer` would allocate 16 slots
    /// (7.5 KiB) for every connection and stream up front.
    private var queue: [InboundPart] = []

    /// The wait, body and upstream timers, on one scheduled callback.
    private var timers = GatewayTimers()
    /// HTTP/1.1: closes the connection when the client stops taking the response (`nil` on HTTP/2
    /// streams: their connection's handler watches it).
    private let sendStall: SendStallWatch?

    init(runtime: GatewayRuntime, loop: LoopContext, info: ConnectionInfo) {
        self.runtime = runtime
        self.loop = loop
        self.info = info
        var configuration = runtime.connectionConfiguration
        configuration.isHTTP2 = info.isHTTP2
        self.state = State(configuration: configuration)
        self.streamFlow = HTTP2StreamFlow(targetWindow: 0)
        self.sendStall = SendStallWatch(timeout: TimeAmount(runtime.timeouts.send))
        if !info.isHTTP2 { reader = HTTP1RequestReader(limits: HTTP1RequestHeadParser.Limits(runtime.limits)) }
    }

    /// A handler for one stream of an ``HTTP2GatewayHandler``.
    /// - Parameter streamWindow: the stream's inbound window target.
    init(runtime: GatewayRuntime, loop: LoopContext, info: ConnectionInfo, stream: HTTP2StreamLink, streamWindow: Int) {
        self.runtime = runtime
        self.loop = loop
        self.info = info
        var configuration = runtime.connectionConfiguration
        configuration.isHTTP2 = true
        self.state = State(configuration: configuration)
        self.stream = stream
        self.streamFlow = HTTP2StreamFlow(targetWindow: streamWindow)
        self.sendStall = nil
    }

    // MARK: The downstream: this handler's channel, or its HTTP/2 stream

    private static let allocator = ByteBufferAllocator()

    /// Every deadline and duration of the handler is read from its loop's clock (``LoopContext/now``).
    private var now: NIODeadline { loop.now }

    /// The client's side can take more.
    private var downstreamWritable: Bool {
        if let stream { return stream.connection.isWritable(self) }
        return context?.channel.isWritable ?? false
    }

    /// The connection (HTTP/1.1) or stream (HTTP/2) is still there.
    private var downstreamActive: Bool {
        if stream != nil { return !streamEnded }
        return context?.channel.isActive == true
    }

    /// Closes the connection (HTTP/1.1) or resets the stream (HTTP/2).
    private func closeDownstream() {
        if let stream { return stream.connection.reset(self, on: stream.id) }
        context?.close(promise: nil)
    }

    private func readDownstream() {
        if let stream { return stream.connection.read(self, on: stream.id) }
        context?.read()
    }

    /// HTTP/2: a frame of the stream's response (dropped once the stream has ended).
    private func writeDownstream(_ payload: HTTP2Frame.FramePayload, promise: EventLoopPromise<Void>? = nil) {
        guard let stream, !streamEnded else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        stream.connection.write(payload, on: stream.id, of: self, promise: promise)
    }

    private func flushDownstream() {
        if let stream { return stream.connection.flush() }
        context?.flush()
    }

    // MARK: Stream events (from HTTP2GatewayHandler)

    /// Whether the request takes more frames now; if not, ``readDownstream()`` says when it does.
    func streamMayRead() -> Bool {
        state.readRequested(downstreamWritable: downstreamWritable, upstreamWritable: upstream?.channel.isWritable ?? true)
    }

    /// The connection read that brought the stream's frames ended.
    func streamReadComplete() {
        readCompleted()
    }

    /// The stream can take more of its response.
    func streamBecameWritable() {
        downstreamBecameWritable()
    }

    func streamErrorCaught(_ error: any Error) {
        runtime.logger.debug("stream error", metadata: ["error": "\(error)", "peer": "\(info.peerAddress ?? "-")"])
        closeDownstream()
    }

    /// The stream is gone (both sides ended, reset, or the connection closed).
    func streamClosed() {
        cancelTimers()
        // Whatever the state machine says, an upstream still attached cannot outlive the stream.
        if state.connectionClosed().log { writeAccessLog() }
        releaseUpstream(reusable: false)
        streamEnded = true
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { startWaiting() }
    }

    func channelActive(context: ChannelHandlerContext) {
        startWaiting()
        context.fireChannelActive()
    }

    private func startWaiting() {
        if let delay = state.connectionStarted(now: now) { armWaitTimer(in: delay) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimers()
        sendStall?.stop()
        releaseUpstream(reusable: false)
        // The context holds this handler: keeping it would make a cycle that outlives the channel.
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimers()
        let closed = state.connectionClosed()
        if closed.releaseUpstream { releaseUpstream(reusable: false) }
        if closed.log { writeAccessLog() }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reader?.append(unwrapInboundIn(data))
        while let part = reader?.next() {
            switch part {
            case .head(let bytes): arrived(ClientHead(head: reader!.head, bytes: bytes))
            case .body(let buffer): arrived(.body(buffer))
            case .end: arrived(.end)
            case .refused(let refusal):
                // Malformed or over a limit: answered once, and the connection closed; nothing of it
                // is forwarded.
                runtime.logger.debug("request refused by the HTTP/1.1 parser", metadata: ["reason": "\(refusal.shortDescription)"])
                return run(state.parserError(refusal.matrixError, logError: refusal.shortDescription, now: now))
            }
        }
    }

    /// A HEADERS or DATA payload of this HTTP/2 stream: the first HEADERS block is the request head,
    /// DATA the body, END_STREAM the end (trailers are dropped, as they always were).
    func streamFrame(_ payload: HTTP2Frame.FramePayload) {
        switch payload {
        case .headers(let block):
            if !streamHeadReceived {
                streamHeadReceived = true
                let outcome: HTTP2RequestHead.Outcome
                var head = HTTP1RequestHead()
                do {
                    outcome = try HTTP2RequestHead.parse(
                        block.headers, endStream: block.endStream, limits: HTTP1RequestHeadParser.Limits(runtime.limits),
                        allocator: Self.allocator, into: &head)
                } catch {
                    runtime.logger.debug("malformed HTTP/2 request", metadata: ["reason": "\(error.reason)"])
                    return closeDownstream()
                }
                switch outcome {
                case .head(let bytes):
                    arrived(ClientHead(head: head, bytes: bytes, isOwnCopy: true))
                case .refused(let refusal, let method):
                    refuseStreamHead(refusal, method: method, endStream: block.endStream)
                }
            }
            if block.endStream { arrived(.end) }
        case .data(let data):
            guard case .byteBuffer(let buffer) = data.data else { return }
            if buffer.readableBytes > 0 || !data.endStream { arrived(.body(buffer)) }
            if data.endStream { arrived(.end) }
        default:
            break
        }
    }

    /// A stream's head that HTTP/1.1's rules refuse (``HTTP2RequestHead``): answered as a head
    /// admission refuses, and the stream reset after the answer if the client is still sending.
    private func refuseStreamHead(_ refusal: HTTP1Refusal, method: String, endStream: Bool) {
        runtime.logger.debug("HTTP/2 request refused", metadata: ["reason": "\(refusal.shortDescription)"])
        let (_, then) = state.requestHead(
            State.RequestHead(
                method: HTTPMethod(rawValue: method), keepAlive: true, expectsBody: !endStream, bodyLimit: runtime.limits.maxBodyBytes,
                target: nil, route: nil,
                decision: .refuse(refusal.matrixError, logError: refusal.shortDescription, closeConnection: true)),
            now: now)
        run(then)
    }

    /// A request part, from the HTTP/1.1 reader or the HTTP/2 stream: handled now, or queued
    /// behind the current request.
    private func arrived(_ part: InboundPart) {
        if handlesNow(isHead: part.isHead, queued: { part }) { handle(part) }
    }

    /// A request head: ``arrived(_:)`` without wrapping it in an ``InboundPart`` unless it is
    /// queued (the head is a few hundred bytes, copied each time it is wrapped or unwrapped).
    private func arrived(_ head: ClientHead) {
        if handlesNow(isHead: true, queued: { .head(head) }) { beginRequest(head) }
    }

    /// Whether a part that just arrived is handled now; if not, it was queued (`queued` gives its
    /// queue entry), dropped, or the queue overflowed.
    private func handlesNow(isHead: Bool, queued: () -> InboundPart) -> Bool {
        switch state.partArrived(isHead: isHead, downstreamWritable: downstreamWritable) {
        case .handle:
            return true
        case .queue:
            queue.append(queued())
        case .drop:
            break
        case .overflow(let closeNow):
            queue.removeAll()
            if closeNow { closeDownstream() }
        }
        return false
    }

    private func handle(_ part: InboundPart) {
        switch part {
        case .head(let head):
            beginRequest(head)
        case .body(let buffer):
            run(state.requestBody(buffer, now: now))
        case .end:
            cancelBodyTimer()
            run(state.requestEnd(now: now))
        }
    }

    /// Hands queued pipelined requests over, one at a time, then reads again.
    private func drainQueue() {
        guard downstreamActive else { return }
        while let next = queue.first {
            guard state.dequeue(isHead: next.isHead, downstreamWritable: downstreamWritable) else { return }
            queue.removeFirst()
            handle(next)
            if state.connectionClosing {
                queue.removeAll()
                state.queueCleared()
                return
            }
        }
        resumeReadingIfAllowed()
    }

    private func drainQueueOnNextTick() {
        let bound = NIOLoopBound(self, eventLoop: loop.eventLoop)
        loop.eventLoop.execute { bound.value.drainQueue() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, !info.isHTTP2 {
            if state.quiesce() { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        readCompleted()
        context.fireChannelReadComplete()
    }

    private func readCompleted() {
        keepClientHeadPastRead()
        if !info.isHTTP2 { state.compactPendingBody(allocator: Self.allocator) }
        let action = state.readComplete(now: now)
        if let delay = action.scheduleBodyTimer { armBodyTimer(in: delay) }
        if action.drainQueueNextTick { drainQueueOnNextTick() }
        if action.flushUpstream, let upstream { upstream.channel.flush() }
    }

    /// A head's bytes are a slice of the buffer NIOSSL reads into again next time: holding them past
    /// this read would make it copy that whole buffer (32 KiB or more) instead of reusing it. What the
    /// request still needs of its head (a local service's parsed head, a sticky pool's headers) is
    /// kept in a buffer of its own; a proxied request to another pool needs none of it.
    private func keepClientHeadPastRead() {
        guard holdsClientHead, var head = clientHead, !head.isOwnCopy else { return }
        head.bytes = Self.allocator.buffer(buffer: head.bytes)
        head.isOwnCopy = true
        clientHead = head
    }

    func read(context: ChannelHandlerContext) {
        if state.readRequested(downstreamWritable: context.channel.isWritable, upstreamWritable: upstream?.channel.isWritable ?? true) {
            context.read()
        }
    }

    /// Replays a `read()` that was held, once the state machine allows it.
    private func resumeReadingIfAllowed() {
        guard downstreamActive else { return }
        if state.resumeRead(downstreamWritable: downstreamWritable, upstreamWritable: upstream?.channel.isWritable ?? true, now: now) {
            readDownstream()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        sendStall?.writabilityChanged(context: context)
        if context.channel.isWritable { downstreamBecameWritable() }
        context.fireChannelWritabilityChanged()
    }

    private func downstreamBecameWritable() {
        upstream?.handler.resumeReads()
        switch state.downstreamBecameWritable() {
        case .drainQueue: drainQueue()
        default: resumeReadingIfAllowed()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        runtime.logger.debug("connection error", metadata: ["error": "\(error)", "peer": "\(info.peerAddress ?? "-")"])
        context.close(promise: nil)
    }

    // MARK: Actions

    private func run(_ action: State.Action) {
        switch action {
        case .none:
            break
        case .close(let releaseUpstream):
            if releaseUpstream { self.releaseUpstream(reusable: false) }
            closeDownstream()
        case .respond(let respond):
            write(respond)
        case .runLocal(let service, let body):
            runLocal(service, body: body)
        case .acquireUpstream(let avoiding, let retrying):
            if let retrying {
                runtime.logger.debug("retrying upstream request", metadata: ["error": "\(retrying)", "attempt": "\(state.request.attempts)"])
            }
            acquireUpstream(avoiding: avoiding)
        case .writeUpstreamBody(let buffer):
            upstream?.handler.sendBody(buffer)
        case .writeUpstreamEnd:
            if let upstream, upstream.handler.sendEnd() { upstream.channel.flush() }
        case .checkFormBody(let parts):
            checkFormBody(parts)
        case .finish(let finish):
            writeAccessLog()
            if let delay = finish.scheduleWaitTimer { armWaitTimer(in: delay) }
            switch finish.next {
            case .none: break
            case .resumeRead: resumeReadingIfAllowed()
            case .drainQueue: drainQueue()
            case .drainQueueNextTick: drainQueueOnNextTick()
            }
        case .dropQueue:
            queue.removeAll()
        case .scheduleWaitTimer(let delay):
            armWaitTimer(in: delay)
        case .scheduleBodyTimer(let delay):
            armBodyTimer(in: delay)
        }
    }

    // MARK: Admission and route phases

    private func beginRequest(_ head: ClientHead) {
        if holdsClientHead {
            clientHead = nil
            holdsClientHead = false
        }
        upstreamHeadBytes = nil
        tokenUser = nil
        formBodyHeadReading = nil
        pool = nil
        var lookup: TokenLookup?
        let (sendContinue, then): (Bool, State.Action)
        let decision = RequestAdmission.decide(head.head, in: head.bytes, limits: runtime.limits, routes: runtime.routes, scratch: loop.scratch)
        // Each branch hands its facts to the state machine as a temporary: the struct is not copied.
        switch decision {
        case .admitted(let admitted):
            (sendContinue, then) = state.requestHead(route(head, admitted, lookup: &lookup), now: now)
        case .refused(let refusal):
            if let (failing, error) = refusal.evaluationFailure {
                runtime.logger.error(
                    "route pattern could not be evaluated; request refused",
                    metadata: ["rule": "\(failing.rule.source)", "pattern": "\(failing.rule.pattern)", "error": "\(error)"])
            }
            (sendContinue, then) = state.requestHead(
                State.RequestHead(
                    method: head.method, keepAlive: head.keepAlive, expectsBody: refusal.expectsBody, bodyLimit: refusal.bodyLimit,
                    target: refusal.target, route: refusal.route,
                    decision: .refuse(refusal.error, logError: refusal.logError, closeConnection: refusal.closesConnection)),
                now: now)
        }
        if sendContinue {
            if stream != nil {
                writeDownstream(.headers(.init(headers: [":status": "100"])))
                flushDownstream()
            } else {
                context.writeAndFlush(NIOAny(Self.allocator.buffer(staticString: HTTP1ResponseWriter.continueHead)), promise: nil)
            }
        }
        run(then)
        if let lookup { checkToken(lookup) }
    }

    /// Keeps the head for a local service or a sticky pool (see ``clientHead``).
    private func keepClientHead(_ head: ClientHead) {
        clientHead = head
        holdsClientHead = true
    }

    /// The facts of an admitted head, with what its route decides. Built in one initialiser call:
    /// the struct is not copied on its way to the state machine.
    private func route(
        _ head: ClientHead, _ admitted: consuming RequestAdmission.Admitted, lookup: inout TokenLookup?
    ) -> State.RequestHead {
        let decision: State.Decision
        var expectsContinue = false
        switch admitted.route.rule.action {
        case .deny(let code):
            decision = .refuse(.denied(status: code), logError: nil, closeConnection: false)
        case .redirect(let code, let location):
            decision = .respond(LocalResponse(status: HTTPResponseStatus(statusCode: code), headers: ["Location": location]))
        case .local(let service):
            keepClientHead(head)
            expectsContinue = head.expectsContinue
            decision = .local(service)
        case .proxy(let name):
            if let pool = loop.pool(named: name) {
                // A sticky pool's headers choose the member.
                if pool.isSticky { keepClientHead(head) }
                expectsContinue = head.expectsContinue
                decision = .proxy(proxyPlan(head, admitted, pool: pool, lookup: &lookup))
            } else {
                // The table was compiled against the configured upstreams, so this cannot happen.
                decision = .refuse(MatrixError(status: 500, code: .unknown, message: "Internal error"), logError: nil, closeConnection: false)
            }
        }
        return State.RequestHead(
            method: head.method, keepAlive: head.keepAlive, expectsBody: admitted.expectsBody, expectsContinue: expectsContinue,
            bodyLimit: admitted.bodyLimit, target: admitted.target, route: admitted.route, decision: decision)
    }

    /// The head that goes upstream, and whether the edge token check lets it go.
    private func proxyPlan(
        _ head: ClientHead, _ admitted: RequestAdmission.Admitted, pool: UpstreamPool, lookup: inout TokenLookup?
    ) -> State.ProxyPlan {
        let timeout = admitted.route.rule.options.upstreamTimeout.map { TimeAmount($0) } ?? runtime.upstreamTimeout
        // The client's bytes, edited on their way into one buffer: no header becomes a String.
        var output = Self.allocator.buffer(capacity: UpstreamRequestHeadWriter.capacity(for: head.head, peerAddress: info.peerAddress))
        let framing = head.head.upstreamFraming
        let size = UpstreamRequestHeadWriter.write(
            head.head, from: head.bytes, peerAddress: info.peerAddress, scheme: info.scheme, framing: framing, into: &output)
        upstreamHeadBytes = (output, framing)
        let bodyless = framing == .none
        let start: State.ProxyPlan.Start
        if size > pool.configuration.maxRequestHeaderBytes {
            // The upstream would drop the connection (Twisted does past 16 KiB): say so, not 502.
            upstreamHeadBytes = nil
            start = .refuseBeforeProxy(
                MatrixError(status: 431, code: .unknown, message: "Request header fields too large for the homeserver"),
                logError: "upstream_header_limit")
        } else {
            self.pool = pool
            start = tokenCheck(head, lookup: &lookup)
        }
        return State.ProxyPlan(
            upstreamTimeout: timeout, upstreamMembers: pool.configuration.members.count, upstreamHeadIsBodyless: bodyless, start: start)
    }

    /// The edge token check, judged on the head Synapse will get (headers named in `Connection` are
    /// gone from it).
    private func tokenCheck(_ head: ClientHead, lookup: inout TokenLookup?) -> State.ProxyPlan.Start {
        guard let check = runtime.edgeTokenCheck else { return .forward }
        // HTTP/2: the memo of the connection, whose streams carry the client's token one after another.
        let decision =
            if let stream {
                check.decide(head.head, in: head.bytes, clientAddress: info.peerAddress, digests: &stream.connection.tokenDigests)
            } else {
                check.decide(head.head, in: head.bytes, clientAddress: info.peerAddress, digests: &tokenDigests)
            }
        switch decision {
        case .forward(let user):
            tokenUser = user
            return .forward
        case .refuse:
            return .refuseToken(.inactiveToken, logError: "inactive_token")
        case .ambiguous(let error):
            return .refuseToken(error, logError: "ambiguous_token")
        case .lookup(let hash, let kind, let address):
            lookup = TokenLookup(check: check, hash: hash, kind: kind, address: address)
            return .awaitTokenCheck
        case .awaitFormBody(let headReading):
            formBodyHeadReading = headReading
            return .awaitFormBody
        }
    }

    /// The edge token check on a whole form-encoded body (``State/ProxyPlan/Start/awaitFormBody``).
    private func checkFormBody(_ parts: [ByteBuffer]) {
        let generation = state.generation
        guard let check = runtime.edgeTokenCheck, let headReading = formBodyHeadReading else {
            return run(state.tokenChecked(forward: false, generation: generation))
        }
        var body = parts.first ?? ByteBuffer()
        for var part in parts.dropFirst() { body.writeBuffer(&part) }
        switch check.decide(formBody: body, headReading: headReading, clientAddress: info.peerAddress) {
        case .forward(let user):
            tokenUser = user
            run(state.tokenChecked(forward: true, generation: generation))
        case .refuse, .awaitFormBody:
            run(state.tokenChecked(forward: false, generation: generation))
        case .ambiguous(let error):
            run(state.tokenRefused(error, logError: "ambiguous_token", generation: generation))
        case .lookup(let hash, let kind, let address):
            checkToken(TokenLookup(check: check, hash: hash, kind: kind, address: address))
        }
    }

    /// A token the edge check looks up in the store before the request may go on.
    struct TokenLookup {
        var check: EdgeTokenCheck
        var hash: TokenDigest
        var kind: TokenKind
        var address: String?
    }

    private func checkToken(_ lookup: TokenLookup) {
        let (check, hash, kind, address) = (lookup.check, lookup.hash, lookup.kind, lookup.address)
        let expected = state.generation
        let bound = NIOLoopBound(self, eventLoop: loop.eventLoop)
        let promise = loop.eventLoop.makePromise(of: EdgeTokenCheck.Decision.self)
        promise.completeWithTask { await check.resolve(hash: hash, kind: kind, address: address) }
        promise.futureResult.whenSuccess { decision in
            let handler = bound.value
            guard handler.downstreamActive else { return }
            var forward = false
            if case .forward(let user) = decision, handler.state.generation == expected {
                handler.tokenUser = user
                forward = true
            }
            handler.run(handler.state.tokenChecked(forward: forward, generation: expected))
        }
    }

    // MARK: Local phase

    private func runLocal(_ service: LocalServiceName, body: ByteBuffer) {
        guard let head = clientHead?.nioHead, let target = state.request.target, let responder = runtime.responders[service] else { return }
        let request = LocalRequest(
            method: head.method, target: target, headers: head.headers, body: body, peerAddress: info.peerAddress, isTLS: info.isTLS)
        if let response = responder.immediateResponse(to: request) {
            return run(state.localResponse(response, generation: state.generation))
        }
        let promise = loop.eventLoop.makePromise(of: LocalResponse.self)
        promise.completeWithTask { await responder.respond(to: request) }
        let expected = state.generation
        let bound = NIOLoopBound(self, eventLoop: loop.eventLoop)
        promise.futureResult.whenSuccess { response in
            let handler = bound.value
            guard handler.downstreamActive else { return }
            handler.run(handler.state.localResponse(response, generation: expected))
        }
    }

    /// Writes a response of Gatehouse's own, whole.
    private func write(_ respond: State.Respond) {
        if respond.releaseUpstream { releaseUpstream(reusable: false) }
        if let error = respond.proxyError {
            runtime.logger.warning("proxy error", metadata: ["error": "\(error)", "member": "\(state.request.memberDescription ?? "-")"])
        }
        let response = respond.response
        var headers = response.headers
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.readableBytes))
        headers.add(name: "Date", value: loop.dates.current())
        if let hsts = info.hsts { headers.replaceOrAdd(name: "Strict-Transport-Security", value: hsts) }
        if respond.connectionClose { headers.replaceOrAdd(name: "Connection", value: "close") }
        if reader != nil {
            // Head and body in one buffer: one write, one TLS record.
            var output = Self.allocator.buffer(capacity: 256 + (respond.omitBody ? 0 : response.body.readableBytes))
            HTTP1ResponseWriter.write(status: response.status, headers: headers, body: response.body, omitBody: respond.omitBody, into: &output)
            context.write(NIOAny(output), promise: nil)
            relayChunked = false
        } else {
            writeFrame(.headers(.init(headers: HTTP2StreamMessages.responseHeaders(status: response.status, headers: headers))))
            if response.body.readableBytes > 0, !respond.omitBody {
                writeFrame(.data(.init(data: .byteBuffer(response.body))))
            }
        }
        writeEnd(closeAfter: respond.closeAfterEnd)
        if respond.resumeReadAfter { resumeReadingIfAllowed() }
    }

    /// HTTP/1.1: writes the relayed response's head if it is still held back.
    private func writeHeldResponseHead() {
        if let head = heldResponseHead.take() { context.write(NIOAny(head), promise: nil) }
    }

    /// HTTP/2: writes the frame held back (if any) and holds `frame` in its place.
    private func writeFrame(_ frame: HTTP2Frame.FramePayload) {
        if let previous = pendingFrame { writeDownstream(previous) }
        pendingFrame = frame
    }

    /// Writes the end of the response (closing the channel after it when told), then finishes the
    /// exchange as the state machine says.
    private func writeEnd(closeAfter: Bool) {
        // HTTP/1.1: a relayed head still held (a response without a body) goes first.
        writeHeldResponseHead()
        let promise: EventLoopPromise<Void>? = closeAfter ? loop.eventLoop.makePromise() : nil
        if reader == nil {
            // END_STREAM on the last frame written, or an empty DATA frame when there is none.
            var last = pendingFrame ?? .data(.init(data: .byteBuffer(Self.allocator.buffer(capacity: 0))))
            pendingFrame = nil
            switch last {
            case .headers(var block):
                block.endStream = true
                last = .headers(block)
            case .data(var data):
                data.endStream = true
                last = .data(data)
            default:
                break
            }
            writeDownstream(last, promise: promise)
            flushDownstream()
        } else if relayChunked {
            relayChunked = false
            context.writeAndFlush(NIOAny(Self.allocator.buffer(staticString: ChunkedBodyWriter.end)), promise: promise)
        } else if let promise {
            context.writeAndFlush(NIOAny(Self.allocator.buffer(capacity: 0)), promise: promise)
        } else {
            context.flush()
        }
        if let promise {
            let bound = NIOLoopBound(self, eventLoop: loop.eventLoop)
            promise.futureResult.whenComplete { _ in bound.value.closeDownstream() }
        }
        run(state.responseWritten(now: now))
    }

    // MARK: Proxy phase

    private func acquireUpstream(avoiding: Int?) {
        guard let pool else { return }
        let expected = state.generation
        let sticky = pool.isSticky
            ? StickyKey.forRequest(
                user: tokenUser.flatMap { runtime.edgeTokenCheck?.stickyKey(localpart: $0) }, peer: info.peerAddress,
                headers: tokenUser == nil ? clientHead?.nioHead.headers ?? [:] : [:],
                trustedProxies: runtime.configuration.http.trustedProxies)
            : nil
        let member = pool.member(avoiding: avoiding, sticky: sticky)
        // An idle connection is attached at once, without the completion closure a new connection
        // needs (its context is an allocation per request).
        if let lease = pool.takeIdle(member: member) { return upstreamAcquired(.success(lease), from: pool, generation: expected) }
        pool.connect(member: member) { [self] result in upstreamAcquired(result, from: pool, generation: expected) }
    }

    private func upstreamAcquired(_ result: Result<UpstreamLease, UpstreamConnectError>, from pool: UpstreamPool, generation: Int) {
        guard state.wantsUpstream(generation: generation), downstreamActive else {
            if case .success(let lease) = result { pool.release(lease.connection, reusable: true) }
            return
        }
        switch result {
        case .success(let lease):
            attach(lease)
        case .failure(let error):
            run(state.upstreamConnectFailed(member: "\(error.member)", upstream: pool.configuration.name))
        }
    }

    private func attach(_ lease: UpstreamLease) {
        let connection = lease.connection
        upstream = connection
        connection.handler.exchange = self
        let send = state.upstreamAttached(
            member: connection.memberIndex, description: connection.memberDescription, reused: lease.reused, now: now)
        // A head or body that does not fit its framing fails the connection (and this exchange) at once.
        let method: HTTP1Method = state.request.method == .HEAD ? .head : .get
        guard let (bytes, framing) = upstreamHeadBytes, connection.handler.sendHead(bytes: bytes, framing: framing, method: method)
        else { return }
        for buffer in send.body where upstream === connection {
            connection.handler.sendBody(buffer)
        }
        if send.end, upstream === connection { connection.handler.sendEnd() }
        connection.channel.flush()
        if let delay = send.scheduleUpstreamTimer { armUpstreamTimer(in: delay) }
        resumeReadingIfAllowed()
    }

    /// Gives the upstream connection back to its pool (kept for reuse when `reusable`).
    /// - Parameter keepingTimer: the state machine keeps the upstream timer for the next exchange.
    private func releaseUpstream(reusable: Bool, keepingTimer: Bool = false) {
        guard let connection = upstream else { return }
        upstream = nil
        if !keepingTimer { cancelUpstreamTimer() }
        guard let pool else {
            connection.handler.exchange = nil
            connection.channel.close(promise: nil)
            return
        }
        pool.release(connection, reusable: reusable)
    }

    // MARK: Timers

    private func armWaitTimer(in delay: TimeAmount) {
        arm(.wait, in: delay)
    }

    private func armBodyTimer(in delay: TimeAmount) {
        arm(.body, in: delay)
    }

    private func cancelBodyTimer() {
        disarm(.body)
    }

    /// Schedules the upstream timer, replacing one still scheduled (there is never more than one).
    private func armUpstreamTimer(in delay: TimeAmount) {
        arm(.upstream, in: delay)
    }

    private func cancelUpstreamTimer() {
        disarm(.upstream)
    }

    private func cancelTimers() {
        disarm(.wait)
        disarm(.body)
        disarm(.upstream)
    }

    private func arm(_ kind: GatewayTimers.Kind, in delay: TimeAmount) {
        guard let at = timers.arm(kind, at: now + delay) else { return }
        schedule(at: at)
    }

    private func disarm(_ kind: GatewayTimers.Kind) {
        timers.disarm(kind)?.cancel()
    }

    private func schedule(at deadline: NIODeadline) {
        guard downstreamActive else { return }
        if let stream {
            // The connection's one timer calls this stream by then: a callback per stream cost an
            // insert into the event loop's timer heap and a search of it to cancel, per request.
            stream.connection.scheduleStreamTimer(at: deadline)
            timers.scheduled(nil, at: deadline)?.cancel()
            return
        }
        guard let callback = try? loop.eventLoop.scheduleCallback(at: deadline, handler: GatewayTimerCallback(handler: self)) else { return }
        timers.scheduled(callback, at: deadline)?.cancel()
    }

    /// HTTP/2: when this stream asked its connection's timer to call (``timerCallbackFired()``).
    var streamTimerDue: NIODeadline? { timers.scheduledAt }

    /// The scheduled callback (HTTP/2: the connection's timer) fired: every timer that is due
    /// fires, then the next is scheduled.
    func timerCallbackFired() {
        timers.callbackFired()
        let now = self.now
        while let due = timers.takeDue(now: now) {
            switch due {
            case .wait: run(state.waitTimerFired(now: now))
            case .body: run(state.bodyTimerFired(now: now))
            case .upstream: upstreamTimerFired(now: now)
            }
        }
        if let next = timers.unscheduledEarliest { schedule(at: next) }
    }

    private func upstreamTimerFired(now: NIODeadline) {
        switch state.upstreamTimerFired(upstream: pool?.configuration.name ?? "-", now: now) {
        case .none:
            break
        case .rearm(let delay):
            armUpstreamTimer(in: delay)
        case .timedOut(let action):
            releaseUpstream(reusable: false)
            run(action)
        }
    }

    // MARK: Log phase

    private func writeAccessLog() {
        // Metrics hook (reload-metrics branch): each finished request is counted here, on this loop.
        runtime.requestMetrics?.record(
            route: state.request.route, status: state.request.status, wentUpstream: state.request.memberDescription != nil,
            startedAt: state.request.startedAt, into: loop.metrics)
        guard runtime.accessLog.enabled else { return }
        let request = state.request
        let path: Substring = request.target?.canonicalPath ?? "-"
        let action = request.route.map { "\($0.rule.action)" } ?? "-"
        runtime.accessLog.write(.init(
            peer: info.peerAddress ?? "-", method: request.method?.rawValue ?? "-", path: path, query: request.target?.query,
            proto: info.protocolName, rule: request.route.map { "\($0.rule.source)" } ?? "-", action: action.replacingSpaces(),
            member: request.memberDescription, status: request.status, bytesIn: request.bytesIn, bytesOut: request.bytesOut,
            durationNanoseconds: (now - request.startedAt).nanoseconds, error: request.logError))
    }
}

// MARK: - Upstream events

extension GatewayHandler: UpstreamExchange {
    func upstreamResponseHead(_ responseHead: HTTP1ResponseHead, bytes: ByteBuffer) {
        guard case .forward(let close) = state.upstreamResponseHead(
            status: responseHead.status, keepAlive: responseHead.keepAlive, now: now)
        else { return }
        if reader != nil {
            // An upstream body without a length goes on chunked, so the client connection stays usable.
            relayChunked = responseHead.framing == .chunked || responseHead.framing == .untilClose
            let headCapacity = ResponseHeadRewriter.capacity(for: responseHead, hsts: info.hsts)
            // Room for a small body too, appended in place when it arrives in the same read.
            var bodyRoom = 0
            if case .contentLength(let length) = responseHead.framing, headCapacity + length <= WriteCoalescingHandler.defaultLimit {
                bodyRoom = length
            }
            var output = Self.allocator.buffer(capacity: headCapacity + bodyRoom)
            ResponseHeadRewriter.write(responseHead, from: bytes, hsts: info.hsts, chunked: relayChunked, close: close, into: &output)
            heldResponseHead.hold(consume output)
        } else {
            writeFrame(.headers(.init(headers: HTTP2StreamMessages.responseHeaders(responseHead, in: bytes, hsts: info.hsts, memo: stream?.connection.responseFieldMemo))))
        }
    }

    func upstreamResponseBody(_ buffer: ByteBuffer) {
        guard state.upstreamResponseBody(bytes: buffer.readableBytes, now: now) else { return }
        if reader == nil {
            writeFrame(.data(.init(data: .byteBuffer(buffer))))
        } else if relayChunked {
            writeHeldResponseHead()
            var header = Self.allocator.buffer(capacity: 18)
            ChunkedBodyWriter.writeChunkHeader(count: buffer.readableBytes, into: &header)
            context.write(NIOAny(header), promise: nil)
            context.write(NIOAny(buffer), promise: nil)
            context.write(NIOAny(Self.allocator.buffer(staticString: "\r\n")), promise: nil)
        } else if let whole = heldResponseHead.take(appendingIfRoom: buffer) {
            // Framed by its length: the body's bytes follow the head's as they are.
            context.write(NIOAny(whole), promise: nil)
        } else {
            writeHeldResponseHead()
            context.write(NIOAny(buffer), promise: nil)
        }
        // Backpressure from the client to the upstream: read no more until the client takes this.
        if !downstreamWritable { upstream?.handler.pauseReads() }
    }

    func upstreamResponseEnd(reusable: Bool) {
        guard let end = state.upstreamResponseEnd(reusable: reusable, now: now) else { return }
        releaseUpstream(reusable: end.reusable, keepingTimer: state.upstreamTimerArmed)
        writeEnd(closeAfter: end.closeAfterEnd)
    }

    func upstreamReadComplete() {
        writeHeldResponseHead()
        if let frame = pendingFrame {
            pendingFrame = nil
            writeDownstream(frame)
            // The frame held back counts too: a client that is behind stops the next upstream read.
            if !downstreamWritable { upstream?.handler.pauseReads() }
        }
        flushDownstream()
    }

    func upstreamWritabilityChanged(isWritable: Bool) {
        if isWritable { resumeReadingIfAllowed() }
    }

    func upstreamFailed(_ error: (any Error)?) {
        guard upstream != nil else { return }
        writeHeldResponseHead()
        releaseUpstream(reusable: false)
        let kind: ProxyError.Kind =
            switch error {
            case let failure as UpstreamResponseReader.Failure: failure == .truncated ? .upstreamClosed : .badUpstreamResponse
            case is UpstreamEncodingError: .unforwardable
            default: .upstreamClosed
            }
        run(state.upstreamFailed(kind: kind, upstream: pool?.configuration.name ?? "-"))
    }
}

extension String {
    fileprivate func replacingSpaces() -> String {
        String(map { $0 == " " ? ":" : $0 })
    }
}

@available(*, unavailable)
extension GatewayHandler: Sendable {}

/// A request part as the handler queues it, whichever side parsed it.
enum InboundPart {
    case head(ClientHead)
    case body(ByteBuffer)
    case end

    var isHead: Bool {
        if case .head = self { return true }
        return false
    }
}

/// A request head as offsets into its bytes: as it arrived on an HTTP/1.1 connection, or the
/// HTTP/1.1 head an HTTP/2 stream's header block stands for.
struct ClientHead {
    var head: HTTP1RequestHead
    var bytes: ByteBuffer
    /// `bytes` is a buffer of its own, not a slice of a read buffer (see `keepClientHeadPastRead`).
    var isOwnCopy = false

    var method: HTTPMethod { head.method.nioMethod(raw: head.methodString(in: bytes)) }
    var keepAlive: Bool { head.keepAlive }
    /// `Expect: 100-continue`.
    var expectsContinue: Bool { head.expectsContinue }

    /// NIO's form, for local responders (which may keep a parsed form) and the rare paths that read
    /// headers; the proxy path never builds it.
    var nioHead: HTTPRequestHead { head.httpRequestHead(in: bytes) }
}
