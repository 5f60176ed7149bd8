import GatehouseCore
import NIOCore
import NIOHTTP1

/// Facts about the client connection a request arrived on, fixed when the connection is set up.
struct ConnectionInfo: Sendable {
    var isHTTP2: Bool
    var isTLS: Bool
    /// The TCP peer's IP address (what `X-Forwarded-For` is set to).
    var peerAddress: String?
    /// The `Strict-Transport-Security` value for TLS listeners.
    var hsts: String?
    var scheme: String { isTLS ? "https" : "http" }
    var protocolName: String { isHTTP2 ? "h2" : "h1" }
}

/// Runs every request on one HTTP/1.1 connection or one HTTP/2 stream through Gatehouse's fixed
/// phases: route (canonical path against the compiled table), then a local responder or the proxy,
/// then the access log.
///
/// The proxy phase stays on the event loop: the upstream connection comes from this loop's pool, and
/// request and response parts are written straight through in both directions. Backpressure is
/// applied by holding `read()` on whichever side is ahead, so memory stays bounded whatever the body
/// sizes.
final class GatewayHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum Mode {
        /// Waiting for a request head.
        case idle
        /// The answer is decided; the rest of the request body is dropped.
        case discard
        /// Collecting a body for a local responder.
        case local(LocalServiceName, body: ByteBuffer)
        /// The local responder is working.
        case awaitingLocal
        /// Forwarding to an upstream.
        case proxy(UpstreamPool)
    }

    private let runtime: GatewayRuntime
    private let loop: LoopContext
    private let info: ConnectionInfo
    private var context: ChannelHandlerContext!

    // Per request. Reset by `beginRequest`.
    private var mode = Mode.idle
    private var generation = 0
    private var head: HTTPRequestHead?
    private var target: RequestTarget?
    private var route: CompiledRoute?
    private var startedAt = NIODeadline.uptimeNanoseconds(0)
    private var bodyLimit = 0
    private var bytesIn = 0
    private var bytesOut = 0
    private var status = 0
    private var requestComplete = false
    /// Whether the request announced a body (a non-zero Content-Length or chunked).
    private var expectsBody = false
    private var responseStarted = false
    private var responseComplete = false
    private var closeAfterResponse = false
    private var logError: String?
    private var requestsOnConnection = 0

    // Proxy state of the current request.
    private var upstreamHead: HTTPRequestHead?
    private var upstream: UpstreamConnection?
    private var upstreamReused = false
    /// Parts of pipelined HTTP/1 requests waiting for the current one to finish.
    private var pipelined = CircularBuffer<HTTPServerRequestPart>()
    /// How many request heads `pipelined` holds; more than ``maxPipelinedRequests`` closes the connection.
    private var pipelinedHeads = 0
    /// Requests started since the last end of a read: past ``maxPipelinedRequests`` the rest wait for
    /// the next loop tick, so one connection's burst cannot keep the event loop from the others.
    private var requestsThisRead = 0
    /// No client waits for this many answers at once: a deeper pipeline is an attempt to make the
    /// server hold requests and responses the client does not read.
    static let maxPipelinedRequests = 32
    /// The HTTP/1 connection is closing after its response: nothing more is handled.
    private var connectionClosing = false
    /// Body parts received before the upstream connection was ready.
    private var pendingUpstreamParts: [HTTPClientRequestPart] = []
    private var requestBytesSent = false
    private var bodyStreamed = false
    private var upstreamNeedsFlush = false
    private var upstreamKeepAlive = true
    private var attempts = 0
    private var lastMember: Int?
    private var memberDescription: String?
    private var upstreamTimeout = TimeAmount.seconds(60)
    private var lastUpstreamActivity = NIODeadline.uptimeNanoseconds(0)
    private var pendingDownstreamRead = false

    // Timers.
    private var waitTimer: Scheduled<Void>?
    private var waitingSince: NIODeadline?
    /// Runs while a request is incomplete: cuts a body that pauses longer than `timeouts.body` or
    /// takes longer in total than `bodyDeadline`. Armed at the end of a read, so requests whose end
    /// arrived with their head (nearly all) never schedule it.
    private var bodyTimer: Scheduled<Void>?
    private var bodyDeadline = TimeAmount.seconds(10)
    private var lastBodyActivity = NIODeadline.uptimeNanoseconds(0)
    private var upstreamTimer: Scheduled<Void>?

    // Gathering a proxied body before an upstream connection is taken.
    /// The edge token check has let the request through.
    private var tokenChecked = false
    /// The user of the request's token, as the edge token check resolved it (for `sticky_user` pools).
    private var tokenUser: StickyKey?
    /// An upstream connection has been asked for.
    private var upstreamRequested = false
    /// Body bytes received and not yet written upstream.
    private var pendingBodyBytes = 0

    init(runtime: GatewayRuntime, loop: LoopContext, info: ConnectionInfo) {
        self.runtime = runtime
        self.loop = loop
        self.info = info
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

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimers()
        if let upstream { detachUpstream(reusable: false, connection: upstream) }
        // The context holds this handler: keeping it would make a cycle that outlives the channel.
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimers()
        if case .idle = mode {} else if !(requestComplete && responseComplete) {
            // The client went away mid-request: an upstream connection in mid-exchange cannot be reused.
            if let upstream { detachUpstream(reusable: false, connection: upstream) }
            if status == 0 { status = 499 }
            logError = logError ?? "client_closed"
            writeAccessLog()
            mode = .idle
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if connectionClosing { return }
        // HTTP/1 pipelining: a request that arrives while the previous one is still being answered,
        // or while the client has not taken the answers already written, waits its turn (reads are
        // held meanwhile, so at most one read's worth queues up, and at most `maxPipelinedRequests`).
        if !pipelined.isEmpty || (part.isHead && (isBusy || !context.channel.isWritable || requestsThisRead >= Self.maxPipelinedRequests)) {
            if part.isHead {
                pipelinedHeads += 1
                if pipelinedHeads > Self.maxPipelinedRequests { return pipelineOverflow() }
            }
            pipelined.append(part)
            return
        }
        dispatch(part)
    }

    private func dispatch(_ part: HTTPServerRequestPart) {
        switch part {
        case .head(let head):
            beginRequest(head)
        case .body(let buffer):
            receiveBody(buffer)
        case .end:
            receiveEnd()
        }
    }

    /// A request is being handled or answered.
    private var isBusy: Bool {
        if case .idle = mode { return false }
        return true
    }

    /// Hands queued pipelined requests over, one at a time, then reads again. The next request
    /// starts only once the client has taken the previous responses (the channel is writable), so
    /// a client that sends without reading makes Gatehouse hold at most one response.
    private func drainPipelined() {
        guard context != nil else { return }
        while let next = pipelined.first {
            if next.isHead {
                if isBusy || !context.channel.isWritable { return }
                pipelinedHeads -= 1
            }
            pipelined.removeFirst()
            dispatch(next)
            if connectionClosing {
                pipelined.removeAll()
                pipelinedHeads = 0
                return
            }
        }
        resumeReadingIfAllowed()
    }

    /// Too many requests queued behind the current one: it is answered, the rest dropped, and the
    /// connection closed.
    private func pipelineOverflow() {
        pipelined.removeAll()
        pipelinedHeads = 0
        connectionClosing = true
        logError = logError ?? "pipeline_overflow"
        if isBusy {
            closeAfterResponse = true
        } else {
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, !info.isHTTP2 {
            // Graceful shutdown: an idle connection closes now, a busy one after its response.
            if !isBusy && pipelined.isEmpty {
                connectionClosing = true
                context.close(promise: nil)
            } else {
                closeAfterResponse = true
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        requestsThisRead = 0
        if isBusy, !requestComplete, bodyTimer == nil { scheduleBodyTimer() }
        if !isBusy, !pipelined.isEmpty {
            // Requests held back by the per-read cap: on the next tick, after other channels' turn.
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            context.eventLoop.execute { bound.value.drainPipelined() }
        }
        if upstreamNeedsFlush, let upstream {
            upstreamNeedsFlush = false
            upstream.channel.flush()
        }
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        guard mayRead else {
            pendingDownstreamRead = true
            return
        }
        context.read()
    }

    /// Whether reading more from the client is useful now. Every byte read is held in memory until
    /// it is used, so reading stops:
    /// - once the connection is closing;
    /// - while pipelined requests wait their turn (one request at a time);
    /// - while forwarding a body, when the upstream connection cannot take more, or, before it is
    ///   attached, when `limits.proxy_request_buffer` is gathered;
    /// - between requests, while the client is not taking the responses already written.
    private var mayRead: Bool {
        if connectionClosing || !pipelined.isEmpty { return false }
        if case .proxy = mode, !requestComplete {
            if let upstream { return upstream.channel.isWritable }
            return pendingBodyBytes < runtime.limits.proxyRequestBuffer
        }
        if isBusy && !requestComplete { return true }
        return context.channel.isWritable
    }

    /// Replays a `read()` that was held, once ``mayRead`` allows it.
    private func resumeReadingIfAllowed() {
        guard pendingDownstreamRead, context != nil, mayRead else { return }
        pendingDownstreamRead = false
        // Time spent held back by Gatehouse is not the client's pause.
        lastBodyActivity = .now()
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            upstream?.handler.resumeReads()
            if !isBusy, !pipelined.isEmpty {
                drainPipelined()
            } else {
                resumeReadingIfAllowed()
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let parserError = error as? HTTPParserError {
            // Ambiguous or malformed HTTP/1: answer once and close; nothing of it is forwarded.
            if isBusy && responseComplete == false && head != nil && requestComplete {
                // A pipelined request after a good one is malformed: finish the good one, then close.
                closeAfterResponse = true
                pipelined.removeAll()
                pipelinedHeads = 0
                return
            }
            guard !responseStarted else {
                context.close(promise: nil)
                return
            }
            if case .idle = mode { startedAt = .now() }
            closeAfterResponse = true
            requestComplete = true
            logError = "bad_request"
            if case .headerOverflow = parserError {
                respond(MatrixError(status: 431, code: .unknown, message: "Request header fields too large"))
            } else {
                respond(MatrixError(status: 400, code: .unknown, message: "Malformed HTTP request"))
            }
            return
        }
        runtime.logger.debug("connection error", metadata: ["error": "\(error)", "peer": "\(info.peerAddress ?? "-")"])
        context.close(promise: nil)
    }

    // MARK: Route phase

    private func beginRequest(_ head: HTTPRequestHead) {
        requestsThisRead += 1
        waitingSince = nil
        generation &+= 1
        requestsOnConnection += 1
        self.head = head
        target = nil
        route = nil
        startedAt = .now()
        bytesIn = 0
        bytesOut = 0
        status = 0
        requestComplete = false
        responseStarted = false
        responseComplete = false
        closeAfterResponse = !info.isHTTP2 && !head.isKeepAlive
        logError = nil
        upstreamHead = nil
        pendingUpstreamParts.removeAll()
        requestBytesSent = false
        bodyStreamed = false
        attempts = 0
        lastMember = nil
        memberDescription = nil
        tokenChecked = false
        tokenUser = nil
        upstreamRequested = false
        pendingBodyBytes = 0
        bodyDeadline = TimeAmount(runtime.timeouts.localBody)
        mode = .discard
        bodyLimit = runtime.limits.maxBodyBytes

        let limits = runtime.limits
        let bodyFraming = requestBodyFraming(head)
        expectsBody = false
        guard let bodyFraming else {
            closeAfterResponse = true
            respond(MatrixError(status: 400, code: .unknown, message: "Invalid Content-Length or Transfer-Encoding"))
            return
        }
        expectsBody = bodyFraming != .absent && bodyFraming != .contentLength(0)
        let expectsBody = self.expectsBody
        // A request answered before its body was read cannot keep the connection in sync.
        func refuse(_ error: MatrixError) {
            if expectsBody { closeAfterResponse = true }
            respond(error)
        }

        // Before routing: TRACE would echo credentials back, and CONNECT would turn the connection into
        // a tunnel; neither is part of the Matrix APIs. Both close the connection, body or not.
        if head.method == .TRACE || head.method == .CONNECT {
            closeAfterResponse = true
            logError = "method_not_allowed"
            return respond(MatrixError(status: 405, code: .unrecognized, message: "\(head.method.rawValue) requests are not allowed"))
        }
        // HTTP/1's parser refuses control bytes in header lines; HTTP/2 framing carries them, and
        // they must never reach an HTTP/1 upstream (nor fail there as a misleading 502).
        if info.isHTTP2, !HTTPFieldSyntax.headersAreValid(head.headers) {
            closeAfterResponse = true
            logError = "bad_header"
            return respond(MatrixError(status: 400, code: .unknown, message: "A header contains a control character"))
        }
        if let problem = RequestAuthority.problem(in: head, isHTTP2: info.isHTTP2) {
            closeAfterResponse = true
            logError = "bad_host"
            return respond(MatrixError(status: 400, code: .unknown, message: problem))
        }
        if head.uri.utf8.count > limits.maxRequestTargetBytes {
            closeAfterResponse = true
            return respond(MatrixError(status: 414, code: .unknown, message: "Request target too long"))
        }
        let parsed: RequestTarget
        switch CanonicalPath.parse(head.uri) {
        case .success(let value): parsed = value
        case .failure(let error):
            logError = "bad_target"
            return refuse(MatrixError(status: 400, code: .unknown, message: error.message))
        }
        target = parsed
        let route: CompiledRoute
        switch runtime.routes.match(method: head.method.rawValue, path: parsed.canonicalPath, scratch: loop.scratch) {
        case .matched(let matched):
            route = matched
        case .noMatch:
            return refuse(MatrixError(status: 404, code: .unrecognized, message: "Unrecognized request"))
        case .failed(let failing, let error):
            // Never "no match": a later rule must not get a request an earlier rule could not judge.
            logError = "route_\(error.shortDescription)@\(failing.rule.source)"
            runtime.logger.error(
                "route pattern could not be evaluated; request refused",
                metadata: ["rule": "\(failing.rule.source)", "pattern": "\(failing.rule.pattern)", "error": "\(error)"])
            return refuse(MatrixError(status: 500, code: .unknown, message: "Internal error"))
        }
        self.route = route
        bodyLimit = route.rule.options.maxBodyBytes ?? limits.maxBodyBytes
        if case .local(let service) = route.rule.action {
            // A local service reads what it needs and no more, whatever the rule allows.
            bodyLimit = min(bodyLimit, service.maxBodyBytes)
        }
        if case .contentLength(let length) = bodyFraming, length > bodyLimit {
            logError = "body_too_large"
            return refuse(MatrixError(status: 413, code: .tooLarge, message: "Request body too large (limit \(bodyLimit) bytes)"))
        }
        lastBodyActivity = startedAt

        switch route.rule.action {
        case .deny(let code):
            refuse(MatrixError.denied(status: code))
        case .redirect(let code, let location):
            if expectsBody { closeAfterResponse = true }
            writeLocalResponse(LocalResponse(status: HTTPResponseStatus(statusCode: code), headers: ["Location": location]))
        case .local(let service):
            sendContinueIfExpected(head)
            mode = .local(service, body: context.channel.allocator.buffer(capacity: 0))
        case .proxy(let name):
            guard let pool = loop.pools[name] else {
                // The table was compiled against the configured upstreams, so this cannot happen.
                return refuse(MatrixError(status: 500, code: .unknown, message: "Internal error"))
            }
            sendContinueIfExpected(head)
            startProxy(head: head, target: parsed, pool: pool, framing: bodyFraming, route: route)
        }
    }

    /// How the client framed its body; `nil` when the framing is invalid.
    private func requestBodyFraming(_ head: HTTPRequestHead) -> HeaderRewriter.BodyFraming? {
        let lengths = head.headers["content-length"]
        if let text = lengths.first {
            // The HTTP/1 parser already refuses duplicates and CL+TE; HTTP/2 needs the check here.
            guard lengths.count == 1, !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let length = Int(text) else {
                return nil
            }
            return .contentLength(length)
        }
        if !info.isHTTP2 {
            let codings = head.headers["transfer-encoding"]
            guard !codings.isEmpty else { return .absent }
            // Only plain chunked is accepted: other codings would be silently lost re-framing the body.
            return codings.count == 1 && codings[0].lowercased() == "chunked" ? .chunked : nil
        }
        // HTTP/2 without Content-Length: a body may follow for methods that carry one.
        return Self.usuallyCarriesBody(head.method) ? .chunked : .absent
    }

    /// POST, PUT and PATCH: the methods whose requests carry a body. A switch, not an array literal's
    /// `contains`, which would build an array on every request.
    private static func usuallyCarriesBody(_ method: HTTPMethod) -> Bool {
        switch method {
        case .POST, .PUT, .PATCH: true
        default: false
        }
    }

    private func sendContinueIfExpected(_ head: HTTPRequestHead) {
        guard head.headers["expect"].contains(where: { $0.lowercased() == "100-continue" }) else { return }
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
    }

    private func receiveBody(_ buffer: ByteBuffer) {
        bytesIn += buffer.readableBytes
        lastBodyActivity = .now()
        switch mode {
        case .idle, .awaitingLocal:
            return
        case .discard:
            // Draining what the client still sends after the answer; never without bound.
            if responseComplete, bytesIn > bodyLimit { context.close(promise: nil) }
            return
        case .local(let service, var body):
            guard bytesIn <= bodyLimit else { return bodyTooLarge() }
            if body.readableBytes == 0 {
                // The usual case: the whole body in one piece, kept as it is, without a copy.
                mode = .local(service, body: buffer)
                return
            }
            mode = .idle  // drop the reference so the append does not copy
            var chunk = buffer
            body.writeBuffer(&chunk)
            mode = .local(service, body: body)
        case .proxy:
            guard bytesIn <= bodyLimit else { return bodyTooLarge() }
            if info.isHTTP2, upstreamHead.map({ !$0.headers.contains(name: "content-length") && !$0.headers.contains(name: "transfer-encoding") }) ?? false {
                // A body on an HTTP/2 request announced as bodiless: refuse rather than guess.
                logError = "unexpected_body"
                return abortProxy(MatrixError(status: 400, code: .unknown, message: "Unexpected request body"))
            }
            let part = HTTPClientRequestPart.body(.byteBuffer(buffer))
            if let upstream {
                upstream.channel.write(part, promise: nil)
                bodyStreamed = true
                upstreamNeedsFlush = true
            } else {
                pendingUpstreamParts.append(part)
                pendingBodyBytes += buffer.readableBytes
                connectUpstreamIfReady()
            }
        }
    }

    private func receiveEnd() {
        requestComplete = true
        cancelBodyTimer()
        switch mode {
        case .idle, .awaitingLocal:
            break
        case .discard:
            finishIfDone()
        case .local(let service, let body):
            mode = .awaitingLocal
            runLocal(service, body: body)
        case .proxy:
            if let upstream {
                upstream.channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
                upstreamNeedsFlush = false
                lastUpstreamActivity = .now()
            } else {
                connectUpstreamIfReady()
            }
        }
    }

    private func bodyTooLarge() {
        logError = "body_too_large"
        let error = MatrixError(status: 413, code: .tooLarge, message: "Request body too large (limit \(bodyLimit) bytes)")
        if case .proxy = mode {
            abortProxy(error)
        } else {
            closeAfterResponse = true
            respond(error)
        }
    }

    // MARK: Local phase

    private func runLocal(_ service: LocalServiceName, body: ByteBuffer) {
        guard let head, let target, let responder = runtime.responders[service] else { return }
        let request = LocalRequest(
            method: head.method, target: target, headers: head.headers, body: body, peerAddress: info.peerAddress, isTLS: info.isTLS)
        if let response = responder.immediateResponse(to: request) {
            return writeLocalResponse(response)
        }
        let promise = context.eventLoop.makePromise(of: LocalResponse.self)
        promise.completeWithTask { await responder.respond(to: request) }
        let expected = generation
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        promise.futureResult.whenSuccess { response in
            let handler = bound.value
            guard handler.generation == expected, handler.context?.channel.isActive == true else { return }
            handler.writeLocalResponse(response)
        }
    }

    /// Answers with a Matrix error, ignoring the rest of the request body.
    private func respond(_ error: MatrixError) {
        if logError == nil, error.status >= 500 { logError = "internal" }
        writeLocalResponse(.matrix(error))
    }

    private func writeLocalResponse(_ response: LocalResponse) {
        guard !responseStarted else { return }
        mode = .discard
        if bodyStillArriving, !info.isHTTP2 { closeAfterResponse = true }
        responseStarted = true
        status = Int(response.status.code)
        var headers = response.headers
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.readableBytes))
        headers.add(name: "Date", value: loop.dates.current())
        if let hsts = info.hsts { headers.replaceOrAdd(name: "Strict-Transport-Security", value: hsts) }
        if closeAfterResponse && !info.isHTTP2 { headers.replaceOrAdd(name: "Connection", value: "close") }
        let version = info.isHTTP2 ? HTTPVersion.http2 : HTTPVersion.http1_1
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: response.status, headers: headers))), promise: nil)
        if response.body.readableBytes > 0, head?.method != .HEAD {
            bytesOut = response.body.readableBytes
            context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        }
        completeResponse()
    }

    // MARK: Proxy phase

    private func startProxy(
        head: HTTPRequestHead, target: RequestTarget, pool: UpstreamPool, framing: HeaderRewriter.BodyFraming, route: CompiledRoute
    ) {
        var upstreamFraming = framing
        if framing == .absent, !info.isHTTP2, Self.usuallyCarriesBody(head.method) {
            upstreamFraming = .contentLength(0)
        }
        let rewritten = HeaderRewriter.upstreamRequest(
            from: head, target: target.forwardTarget, peerAddress: info.peerAddress, scheme: info.scheme, framing: upstreamFraming)
        if rewritten.serializedSize > pool.configuration.maxRequestHeaderBytes {
            // The upstream would drop the connection (Twisted does past 16 KiB): say so, not 502.
            logError = "upstream_header_limit"
            if expectsBody { closeAfterResponse = true }
            return respond(MatrixError(status: 431, code: .unknown, message: "Request header fields too large for the homeserver"))
        }
        upstreamHead = rewritten.head
        upstreamTimeout = TimeAmount(route.rule.options.upstreamTimeout ?? runtime.timeouts.upstream)
        bodyDeadline = TimeAmount(runtime.timeouts.bodyTotal)
        mode = .proxy(pool)
        guard let check = runtime.edgeTokenCheck else {
            tokenChecked = true
            return connectUpstreamIfReady()
        }
        // Judged on the head Synapse will get: headers named in `Connection` are gone from it.
        switch check.decide(method: head.method, headers: upstreamHead?.headers ?? head.headers, query: target.query) {
        case .forward(let user):
            tokenUser = user
            tokenChecked = true
            connectUpstreamIfReady()
        case .refuse:
            logError = "inactive_token"
            abortProxy(.inactiveToken)
        case .ambiguous(let error):
            logError = "ambiguous_token"
            abortProxy(error)
        case .lookup(let hash, let kind):
            // Reads stay held meanwhile (no upstream yet), so at most one read's worth is buffered.
            let expected = generation
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            let promise = context.eventLoop.makePromise(of: EdgeTokenCheck.Decision.self)
            promise.completeWithTask { await check.resolve(hash: hash, kind: kind) }
            promise.futureResult.whenSuccess { decision in
                let handler = bound.value
                guard handler.generation == expected, case .proxy = handler.mode, handler.context?.channel.isActive == true else { return }
                if case .forward(let user) = decision {
                    handler.tokenUser = user
                    handler.tokenChecked = true
                    handler.connectUpstreamIfReady()
                } else {
                    handler.logError = "inactive_token"
                    handler.abortProxy(.inactiveToken)
                }
            }
        }
    }

    /// Takes an upstream connection once the request may go (its token passed the edge check) and
    /// its body is complete or `limits.proxy_request_buffer` of it has arrived: a client that
    /// trickles its body holds no upstream connection while it does.
    private func connectUpstreamIfReady() {
        guard tokenChecked, !upstreamRequested, let pool,
            requestComplete || pendingBodyBytes >= runtime.limits.proxyRequestBuffer
        else { return }
        upstreamRequested = true
        acquireUpstream(pool)
    }

    private func acquireUpstream(_ pool: UpstreamPool) {
        attempts += 1
        let expected = generation
        let sticky = pool.isSticky
            ? StickyKey.forRequest(
                user: tokenUser, peer: info.peerAddress, headers: head?.headers ?? [:], trustedProxies: runtime.configuration.http.trustedProxies)
            : nil
        pool.acquire(avoiding: lastMember, sticky: sticky) { [self] result in
            guard expected == generation, case .proxy = mode, context?.channel.isActive == true else {
                if case .success(let lease) = result { pool.release(lease.connection, reusable: true) }
                return
            }
            switch result {
            case .success(let lease):
                attach(lease, pool: pool)
            case .failure(let error):
                memberDescription = "\(error.member)"
                handleProxyError(ProxyError(kind: .connectFailed, upstream: pool.configuration.name, requestBytesSent: false, onReusedConnection: false))
            }
        }
    }

    private func attach(_ lease: UpstreamLease, pool: UpstreamPool) {
        guard let upstreamHead else { return }
        let connection = lease.connection
        upstream = connection
        upstreamReused = lease.reused
        upstreamKeepAlive = true
        lastMember = connection.memberIndex
        memberDescription = connection.memberDescription
        connection.handler.exchange = self
        connection.channel.write(HTTPClientRequestPart.head(upstreamHead), promise: nil)
        requestBytesSent = true
        for part in pendingUpstreamParts {
            bodyStreamed = true
            connection.channel.write(part, promise: nil)
        }
        pendingUpstreamParts.removeAll()
        pendingBodyBytes = 0
        // `.end` is not queued but derived from `requestComplete`, so a bodiless request that is
        // retried on another connection is sent whole again.
        if requestComplete { connection.channel.write(HTTPClientRequestPart.end(nil), promise: nil) }
        connection.channel.flush()
        lastUpstreamActivity = .now()
        scheduleUpstreamTimer()
        resumeReadingIfAllowed()
    }

    private func detachUpstream(reusable: Bool, connection: UpstreamConnection) {
        upstream = nil
        cancelUpstreamTimer()
        guard case .proxy(let pool) = mode else {
            connection.handler.exchange = nil
            connection.channel.close(promise: nil)
            return
        }
        pool.release(connection, reusable: reusable)
    }

    private func handleProxyError(_ error: ProxyError) {
        cancelUpstreamTimer()
        logError = error.shortDescription
        guard !responseStarted else {
            // Part of the response is already with the client: the only honest signal left is to cut
            // the connection (HTTP/1) or reset the stream (HTTP/2).
            context.close(promise: nil)
            return
        }
        let idempotent = [.GET, .HEAD, .OPTIONS, .PUT, .DELETE].contains(head?.method)
        let maxAttempts = min(3, (pool?.configuration.members.count ?? 1) + 1)
        if error.allowsRetry(idempotent: idempotent, bodyStreamed: bodyStreamed), attempts < maxAttempts, let pool {
            runtime.logger.debug("retrying upstream request", metadata: ["error": "\(error)", "attempt": "\(attempts + 1)"])
            return acquireUpstream(pool)
        }
        runtime.logger.warning("proxy error", metadata: ["error": "\(error)", "member": "\(memberDescription ?? "-")"])
        abortProxy(error.matrixError)
    }

    /// Whether part of an announced request body has not been read yet; answering now means the
    /// HTTP/1 connection cannot be reused (the rest of the body would be taken for a new request).
    private var bodyStillArriving: Bool { expectsBody && !requestComplete }

    private var pool: UpstreamPool? {
        if case .proxy(let pool) = mode { return pool }
        return nil
    }

    /// Gives up on the upstream and answers the client with `error`.
    private func abortProxy(_ error: MatrixError) {
        if let upstream { detachUpstream(reusable: false, connection: upstream) }
        guard !responseStarted else {
            context.close(promise: nil)
            return
        }
        if !requestComplete { closeAfterResponse = true }
        respond(error)
        // HTTP/2 drains the rest of the stream; HTTP/1 reads until the close.
        resumeReadingIfAllowed()
    }

    // MARK: Timers

    /// The connection now waits for a request head (HTTP/1 only): closed after the header timeout
    /// (first request) or the idle timeout (keep-alive). One timer per connection re-arms itself, so
    /// no task is scheduled per request.
    private func startWaiting() {
        guard !info.isHTTP2 else { return }
        waitingSince = .now()
        if waitTimer == nil { armWaitTimer(in: currentWaitTimeout) }
    }

    private var currentWaitTimeout: TimeAmount {
        TimeAmount(requestsOnConnection == 0 ? runtime.timeouts.header : runtime.timeouts.idle)
    }

    private func armWaitTimer(in delay: TimeAmount) {
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        waitTimer = context.eventLoop.scheduleTask(in: delay) { bound.value.waitTimerFired() }
    }

    private func waitTimerFired() {
        waitTimer = nil
        // Busy with a request: the next `startWaiting` arms the timer again.
        guard let since = waitingSince, case .idle = mode else { return }
        let waited = NIODeadline.now() - since
        let timeout = currentWaitTimeout
        if waited >= timeout {
            context.close(promise: nil)
        } else {
            armWaitTimer(in: timeout - waited)
        }
    }

    private func cancelWaitTimer() {
        waitTimer?.cancel()
        waitTimer = nil
        waitingSince = nil
    }

    private func scheduleBodyTimer() {
        let now = NIODeadline.now()
        let gap = TimeAmount(runtime.timeouts.body)
        let delay = min(gap - (now - lastBodyActivity), bodyDeadline - (now - startedAt))
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        bodyTimer = context.eventLoop.scheduleTask(in: max(delay, .zero)) { bound.value.bodyTimerFired() }
    }

    /// One timer per request: body activity only moves a timestamp, and the timer re-arms itself
    /// for whichever limit is nearer, the pause (`timeouts.body`) or the total deadline.
    private func bodyTimerFired() {
        bodyTimer = nil
        guard !requestComplete, isBusy else { return }
        let now = NIODeadline.now()
        let paused = now - lastBodyActivity >= TimeAmount(runtime.timeouts.body)
        let overdue = now - startedAt >= bodyDeadline
        guard paused || overdue else { return scheduleBodyTimer() }
        logError = overdue ? "body_deadline" : "body_timeout"
        let error = MatrixError(status: 408, code: .unknown, message: "Timed out waiting for the request body")
        if case .proxy = mode {
            abortProxy(error)
        } else if !responseStarted {
            closeAfterResponse = true
            respond(error)
        } else {
            // Answered already (HTTP/2 draining a refused body, or a local answer): end the stream or
            // connection.
            context.close(promise: nil)
        }
    }

    private func cancelBodyTimer() {
        bodyTimer?.cancel()
        bodyTimer = nil
    }

    private func scheduleUpstreamTimer() {
        guard upstreamTimer == nil else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let timeout = upstreamTimeout
        upstreamTimer = context.eventLoop.scheduleTask(in: timeout) { bound.value.upstreamTimerFired() }
    }

    /// One timer per exchange: activity only moves a timestamp, and the timer re-arms itself for the
    /// remaining time, which avoids scheduling a task per body chunk.
    private func upstreamTimerFired() {
        upstreamTimer = nil
        guard upstream != nil, !responseComplete else { return }
        let idleFor = NIODeadline.now() - lastUpstreamActivity
        if idleFor < upstreamTimeout {
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            upstreamTimer = context.eventLoop.scheduleTask(in: upstreamTimeout - idleFor) { bound.value.upstreamTimerFired() }
            return
        }
        let name = pool?.configuration.name ?? "-"
        if let upstream { detachUpstream(reusable: false, connection: upstream) }
        handleProxyError(ProxyError(kind: .timeout, upstream: name, requestBytesSent: true, onReusedConnection: upstreamReused))
    }

    private func cancelUpstreamTimer() {
        upstreamTimer?.cancel()
        upstreamTimer = nil
    }

    private func cancelTimers() {
        cancelWaitTimer()
        cancelBodyTimer()
        cancelUpstreamTimer()
    }

    // MARK: Completion and log phase

    private func completeResponse() {
        responseComplete = true
        // HTTP/1 closes the connection; HTTP/2 resets just this stream when its body was refused unread.
        let close = closeAfterResponse && (!info.isHTTP2 || !requestComplete)
        if close && !info.isHTTP2 { connectionClosing = true }
        let promise: EventLoopPromise<Void>? = close ? context.eventLoop.makePromise() : nil
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise)
        if let promise {
            let channel = context.channel
            promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }
        finishIfDone()
    }

    private func finishIfDone() {
        // An HTTP/1 connection that closes after this response does not wait for the rest of the body.
        guard responseComplete, requestComplete || (closeAfterResponse && !info.isHTTP2) else { return }
        writeAccessLog()
        mode = .idle
        head = nil
        guard !closeAfterResponse else { return }
        startWaiting()
        if !pipelined.isEmpty {
            // Not re-entrantly: this may run inside the previous request's write path.
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            context.eventLoop.execute { bound.value.drainPipelined() }
        } else {
            resumeReadingIfAllowed()
        }
    }

    private func writeAccessLog() {
        guard runtime.accessLog.enabled else { return }
        let path: Substring = target.map { Substring($0.canonicalPath) } ?? "-"
        let action = route.map { "\($0.rule.action)" } ?? "-"
        runtime.accessLog.write(.init(
            peer: info.peerAddress ?? "-", method: head?.method.rawValue ?? "-", path: path, query: target?.query,
            proto: info.protocolName, rule: route.map { "\($0.rule.source)" } ?? "-", action: action.replacingSpaces(),
            member: memberDescription, status: status, bytesIn: bytesIn, bytesOut: bytesOut,
            durationNanoseconds: (NIODeadline.now() - startedAt).nanoseconds, error: logError))
    }
}

// MARK: - Upstream events

extension GatewayHandler: UpstreamExchange {
    func upstreamReceived(_ part: HTTPClientResponsePart) {
        lastUpstreamActivity = .now()
        switch part {
        case .head(let responseHead):
            // 1xx from the upstream are not relayed: Gatehouse already answered `Expect` itself.
            guard responseHead.status.code >= 200 else { return }
            responseStarted = true
            status = Int(responseHead.status.code)
            upstreamKeepAlive = responseHead.isKeepAlive
            if bodyStillArriving, !info.isHTTP2 { closeAfterResponse = true }
            let rewritten = HeaderRewriter.downstreamResponseHead(from: responseHead, hsts: info.hsts, close: closeAfterResponse && !info.isHTTP2)
            var outgoing = rewritten
            if info.isHTTP2 { outgoing.version = .http2 }
            context.write(wrapOutboundOut(.head(outgoing)), promise: nil)
        case .body(let buffer):
            guard responseStarted else { return }
            bytesOut += buffer.readableBytes
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            if !context.channel.isWritable { upstream?.handler.pauseReads() }
        case .end:
            guard responseStarted, let connection = upstream else { return }
            // The upstream connection can serve another request only if both messages ended cleanly.
            let reusable = upstreamKeepAlive && requestComplete
            detachUpstream(reusable: reusable, connection: connection)
            if !requestComplete {
                // Answered before the client finished its body: HTTP/1 closes after the response,
                // HTTP/2 drains the rest of the stream (bounded by the rule's body limit).
                if !info.isHTTP2 { closeAfterResponse = true }
                mode = .discard
            }
            completeResponse()
        }
    }

    func upstreamReadComplete() {
        context.flush()
    }

    func upstreamWritabilityChanged(isWritable: Bool) {
        if isWritable { resumeReadingIfAllowed() }
    }

    func upstreamFailed(_ error: (any Error)?) {
        guard let connection = upstream else { return }
        upstream = nil
        cancelUpstreamTimer()
        if case .proxy(let pool) = mode { pool.release(connection, reusable: false) }
        guard !responseComplete else { return }
        let kind: ProxyError.Kind =
            switch error {
            case is HTTPParserError: .badUpstreamResponse
            case is UpstreamEncodingError: .unforwardable
            default: .upstreamClosed
            }
        handleProxyError(ProxyError(
            kind: kind, upstream: pool?.configuration.name ?? "-", requestBytesSent: requestBytesSent, onReusedConnection: upstreamReused))
    }
}

extension String {
    fileprivate func replacingSpaces() -> String {
        String(map { $0 == " " ? ":" : $0 })
    }
}

@available(*, unavailable)
extension GatewayHandler: Sendable {}

extension HTTPServerRequestPart {
    fileprivate var isHead: Bool {
        if case .head = self { return true }
        return false
    }
}
