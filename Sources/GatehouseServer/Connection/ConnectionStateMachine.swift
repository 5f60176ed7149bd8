import GatehouseCore
import NIOCore
import NIOHTTP1

/// The decisions of one HTTP/1.1 connection or one HTTP/2 stream, as a value: events in, actions out
/// (the shape of AsyncHTTPClient's `HTTP1ConnectionStateMachine` and Hummingbird's
/// `HTTPConnectionStateHandler`). ``GatewayHandler`` turns channel and upstream events into calls
/// here and performs the actions it gets back; it holds the NIO objects (the context, the scheduled
/// timers, the upstream connection), this holds everything else.
///
/// A request goes through the phases in one order: its head is admitted and routed (by the caller,
/// which passes the decision in as a ``RequestHead``), then it is answered locally or proxied, then
/// logged. Per-request state lives in ``Request``, replaced whole when a head arrives.
///
/// Nothing here allocates per request or calls through an existential: actions are enums with
/// payloads, and the clock is read by the caller and passed in where a time is needed.
struct ConnectionStateMachine {
    /// Settings fixed for the connection's lifetime.
    struct Configuration {
        var isHTTP2: Bool
        /// `timeouts.header`: the first request head must arrive within it.
        var headerTimeout: TimeAmount
        /// `timeouts.idle`: a keep-alive connection waits this long for the next head.
        var idleTimeout: TimeAmount
        /// `timeouts.body`: the longest pause inside a request body.
        var bodyPause: TimeAmount
        /// `timeouts.local_body`: the whole body of a request answered locally.
        var localBodyDeadline: TimeAmount
        /// `timeouts.body_total`: the whole body of a proxied request.
        var proxyBodyDeadline: TimeAmount
        /// `limits.proxy_request_buffer`: body bytes gathered before an upstream connection is taken.
        var proxyRequestBuffer: Int
        /// Requests queued behind the current one before the connection is closed.
        var maxPipelinedRequests = ConnectionStateMachine.maxPipelinedRequests
    }

    /// What the connection is doing with the current request.
    enum Mode {
        /// Waiting for a request head.
        case idle
        /// The answer is decided; the rest of the request body is dropped.
        case discard
        /// Collecting a body for a local responder.
        case local(LocalServiceName, body: ByteBuffer)
        /// The local responder is working.
        case awaitingLocal
        /// Forwarding to an upstream.
        case proxy
    }

    /// No client waits for this many answers at once: a deeper pipeline is an attempt to make the
    /// server hold requests and responses the client does not read.
    static let maxPipelinedRequests = 32

    let configuration: Configuration
    private(set) var mode = Mode.idle
    /// The current (or last) request; replaced whole by ``requestHead(_:now:)``.
    private(set) var request = Request()
    /// Counts request heads, so an answer that arrives late (a local responder, a token lookup, an
    /// upstream connection) can tell whether its request is still the current one.
    private(set) var generation = 0
    private(set) var requestsOnConnection = 0
    /// Requests started since the last end of a read: past ``Configuration/maxPipelinedRequests``
    /// the rest wait for the next loop tick, so one connection's burst cannot keep the event loop
    /// from the others.
    private var requestsThisRead = 0
    /// Parts of pipelined HTTP/1 requests the caller holds for later (see ``partArrived(isHead:downstreamWritable:)``).
    private(set) var queuedParts = 0
    /// How many of ``queuedParts`` are request heads; more than the limit closes the connection.
    private var queuedHeads = 0
    /// The HTTP/1 connection is closing after its response: nothing more is handled.
    private(set) var connectionClosing = false
    /// A `read()` was held back and is replayed once reading is useful again.
    private(set) var pendingRead = false
    private var waitingSince: NIODeadline?
    private(set) var waitTimerArmed = false
    private(set) var bodyTimerArmed = false
    private(set) var upstreamTimerArmed = false
    /// When the armed upstream timer fires. An HTTP/1 connection keeps its timer from one request to
    /// the next (it only checks the idle time of whatever exchange is current when it fires), so a
    /// keep-alive connection schedules one timer per `upstreamTimeout`, not one per request; a request
    /// whose timeout ends sooner than that gets its own.
    private var upstreamTimerDeadline: NIODeadline?
    /// An upstream connection is attached to the current request.
    private(set) var hasUpstream = false

    init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// A request is being handled or answered.
    var isBusy: Bool {
        if case .idle = mode { return false }
        return true
    }

    /// Whether part of an announced request body has not been read yet; answering now means the
    /// HTTP/1 connection cannot be reused (the rest of the body would be taken for a new request).
    private var bodyStillArriving: Bool { request.expectsBody && !request.requestComplete }

    // MARK: Connection events

    /// The connection is up (HTTP/1 waits for a head from now on).
    /// - Returns: the delay of the wait timer to schedule, if it is not running already.
    mutating func connectionStarted(now: @autoclosure () -> NIODeadline) -> TimeAmount? {
        startWaiting(now: now)
    }

    /// The connection now waits for a request head (HTTP/1 only): closed after the header timeout
    /// (first request) or the idle timeout (keep-alive). One timer per connection re-arms itself, so
    /// no task is scheduled per request.
    private mutating func startWaiting(now: () -> NIODeadline) -> TimeAmount? {
        guard !configuration.isHTTP2 else { return nil }
        waitingSince = now()
        guard !waitTimerArmed else { return nil }
        waitTimerArmed = true
        return currentWaitTimeout
    }

    private var currentWaitTimeout: TimeAmount {
        requestsOnConnection == 0 ? configuration.headerTimeout : configuration.idleTimeout
    }

    /// What to do with a request part that just arrived: HTTP/1 pipelining makes a request that
    /// arrives while the previous one is still being answered, or while the client has not taken the
    /// answers already written, wait its turn (reads are held meanwhile, so at most one read's worth
    /// queues up, and at most ``Configuration/maxPipelinedRequests``).
    mutating func partArrived(isHead: Bool, downstreamWritable: @autoclosure () -> Bool) -> PartDisposition {
        if connectionClosing { return .drop }
        if queuedParts > 0 || (isHead && (isBusy || !downstreamWritable() || requestsThisRead >= configuration.maxPipelinedRequests)) {
            if isHead {
                queuedHeads += 1
                if queuedHeads > configuration.maxPipelinedRequests { return .overflow(closeNow: pipelineOverflow()) }
            }
            queuedParts += 1
            return .queue
        }
        return .handle
    }

    /// Whether the first queued part may be handled now (the caller then removes it and handles it
    /// as it would a new part). The next request starts only once the client has taken the previous
    /// responses (the channel is writable), so a client that sends without reading makes Gatehouse
    /// hold at most one response.
    mutating func dequeue(isHead: Bool, downstreamWritable: @autoclosure () -> Bool) -> Bool {
        if isHead {
            if isBusy || !downstreamWritable() { return false }
            queuedHeads -= 1
        }
        queuedParts -= 1
        return true
    }

    /// The caller dropped every queued part.
    mutating func queueCleared() {
        queuedParts = 0
        queuedHeads = 0
    }

    /// Too many requests queued behind the current one: it is answered, the rest dropped, and the
    /// connection closed.
    /// - Returns: whether the connection closes now (else after the current response).
    private mutating func pipelineOverflow() -> Bool {
        queueCleared()
        connectionClosing = true
        if request.logError == nil { request.logError = "pipeline_overflow" }
        if isBusy {
            request.closeAfterResponse = true
            return false
        }
        return true
    }

    /// Graceful shutdown (HTTP/1): an idle connection closes now, a busy one after its response.
    /// - Returns: whether to close now.
    mutating func quiesce() -> Bool {
        if !isBusy && queuedParts == 0 {
            connectionClosing = true
            return true
        }
        request.closeAfterResponse = true
        return false
    }

    /// The end of one read from the client.
    mutating func readComplete(now: @autoclosure () -> NIODeadline) -> ReadCompleteAction {
        requestsThisRead = 0
        var action = ReadCompleteAction()
        if isBusy, !request.requestComplete, !bodyTimerArmed {
            // Armed only here, so requests whose end arrived with their head (nearly all) never
            // schedule it.
            bodyTimerArmed = true
            action.scheduleBodyTimer = bodyTimerDelay(now: now())
        }
        // Requests held back by the per-read cap: on the next tick, after other channels' turn.
        action.drainQueueNextTick = !isBusy && queuedParts > 0
        if request.upstreamNeedsFlush, hasUpstream {
            request.upstreamNeedsFlush = false
            action.flushUpstream = true
        }
        return action
    }

    /// The channel asks to read. Every byte read is held in memory until it is used, so reading
    /// waits:
    /// - once the connection is closing;
    /// - while pipelined requests wait their turn (one request at a time);
    /// - while forwarding a body, when the upstream connection cannot take more, or, before it is
    ///   attached, when `limits.proxy_request_buffer` is gathered;
    /// - between requests, while the client is not taking the responses already written.
    /// - Returns: whether to read now; otherwise the read is replayed by ``resumeRead(downstreamWritable:upstreamWritable:now:)``.
    mutating func readRequested(downstreamWritable: @autoclosure () -> Bool, upstreamWritable: @autoclosure () -> Bool) -> Bool {
        if mayRead(downstreamWritable: downstreamWritable, upstreamWritable: upstreamWritable) { return true }
        pendingRead = true
        return false
    }

    private func mayRead(downstreamWritable: () -> Bool, upstreamWritable: () -> Bool) -> Bool {
        if connectionClosing || queuedParts > 0 { return false }
        if case .proxy = mode, !request.requestComplete {
            if hasUpstream { return upstreamWritable() }
            if request.awaitsFormBody { return request.pendingBodyBytes <= AccessToken.formBodyLimit }
            return request.pendingBodyBytes < configuration.proxyRequestBuffer
        }
        if isBusy && !request.requestComplete { return true }
        return downstreamWritable()
    }

    /// Whether a held `read()` is to be replayed now.
    mutating func resumeRead(
        downstreamWritable: @autoclosure () -> Bool, upstreamWritable: @autoclosure () -> Bool, now: @autoclosure () -> NIODeadline
    ) -> Bool {
        guard pendingRead, mayRead(downstreamWritable: downstreamWritable, upstreamWritable: upstreamWritable) else { return false }
        pendingRead = false
        // Time spent held back by Gatehouse is not the client's pause.
        request.lastBodyActivity = now()
        return true
    }

    /// The client's side became writable again.
    /// - Returns: whether queued requests can go on (else reading may resume).
    func downstreamBecameWritable() -> Next {
        !isBusy && queuedParts > 0 ? .drainQueue : .resumeRead
    }

    /// The client is gone.
    mutating func connectionClosed() -> ClosedAction {
        waitTimerArmed = false
        bodyTimerArmed = false
        disarmUpstreamTimer()
        guard isBusy, !(request.requestComplete && request.responseComplete) else { return ClosedAction(releaseUpstream: false, log: false) }
        // The client went away mid-request: an upstream connection in mid-exchange cannot be reused.
        let release = hasUpstream
        hasUpstream = false
        if request.status == 0 { request.status = 499 }
        if request.logError == nil { request.logError = "client_closed" }
        mode = .idle
        return ClosedAction(releaseUpstream: release, log: true)
    }

    /// The HTTP/1 parser refused what the client sent.
    /// - Parameters:
    ///   - error: the answer (400, or the parser's more precise status: 414, 431, 501, 505).
    ///   - logError: the access log's error label.
    mutating func parserError(_ error: MatrixError, logError: String, now: NIODeadline) -> Action {
        if isBusy && !request.responseComplete && request.hasHead && request.requestComplete {
            // A pipelined request after a good one is malformed: finish the good one, then close.
            request.closeAfterResponse = true
            queueCleared()
            return .dropQueue
        }
        guard !request.responseStarted else { return .close(releaseUpstream: false) }
        if case .idle = mode {
            // No head to start from: the answer is logged as a request of its own.
            request = Request()
            request.startedAt = now
        }
        request.closeAfterResponse = true
        request.requestComplete = true
        request.logError = logError
        return respond(error)
    }

    // MARK: Request events

    /// A request head was admitted and routed (or refused) by the caller.
    /// - Returns: whether to answer `100 Continue` first, and what follows (a tuple, so the caller
    ///   takes both apart without copying the action).
    mutating func requestHead(_ head: borrowing RequestHead, now: NIODeadline) -> (sendContinue: Bool, then: Action) {
        requestsThisRead += 1
        waitingSince = nil
        generation &+= 1
        requestsOnConnection += 1
        // The previous request's state goes in one assignment; the new one is then filled in place
        // (an initialiser taking the head would build it aside and copy it in).
        request = Request()
        request.begin(head, startedAt: now, closeAfterResponse: !configuration.isHTTP2 && !head.keepAlive)
        request.bodyDeadline = configuration.localBodyDeadline
        mode = .discard

        switch head.decision {
        case .refuse(let error, let logError, let closeConnection):
            request.logError = logError
            // A request answered before its body was read cannot keep the connection in sync.
            if closeConnection || head.expectsBody { request.closeAfterResponse = true }
            return (false, respond(error))
        case .respond(let response):
            if head.expectsBody { request.closeAfterResponse = true }
            return (false, answer(response))
        case .local(let service):
            mode = .local(service, body: ByteBuffer())
            return (head.expectsContinue, .none)
        case .proxy(let proxy):
            switch proxy.start {
            case .refuseBeforeProxy(let error, let logError):
                // The head cannot go upstream (too large for it): said before any proxy state exists.
                request.logError = logError
                if head.expectsBody { request.closeAfterResponse = true }
                return (head.expectsContinue, respond(error))
            case .forward:
                startProxy(proxy)
                request.tokenChecked = true
                return (head.expectsContinue, connectUpstreamIfReady())
            case .awaitTokenCheck:
                // Reads stay held meanwhile (no upstream yet), so at most one read's worth is buffered.
                startProxy(proxy)
                return (head.expectsContinue, .none)
            case .awaitFormBody:
                startProxy(proxy)
                request.awaitsFormBody = true
                return (head.expectsContinue, .none)
            case .refuseToken(let error, let logError):
                startProxy(proxy)
                request.logError = logError
                return (head.expectsContinue, abortProxy(error))
            }
        }
    }

    private mutating func startProxy(_ proxy: borrowing ProxyPlan) {
        request.upstreamTimeout = proxy.upstreamTimeout
        request.upstreamMembers = proxy.upstreamMembers
        request.upstreamHeadIsBodyless = proxy.upstreamHeadIsBodyless
        request.bodyDeadline = configuration.proxyBodyDeadline
        mode = .proxy
    }

    /// A piece of the request body.
    mutating func requestBody(_ buffer: ByteBuffer, now: NIODeadline) -> Action {
        request.bytesIn += buffer.readableBytes
        request.lastBodyActivity = now
        switch mode {
        case .idle, .awaitingLocal:
            return .none
        case .discard:
            // Draining what the client still sends after the answer; never without bound.
            if request.responseComplete, request.bytesIn > request.bodyLimit { return .close(releaseUpstream: false) }
            return .none
        case .local(let service, var body):
            guard request.bytesIn <= request.bodyLimit else { return bodyTooLarge() }
            if body.readableBytes == 0 {
                // The usual case: the whole body in one piece, kept as it is, without a copy.
                mode = .local(service, body: buffer)
                return .none
            }
            mode = .idle  // drop the reference so the append does not copy
            var chunk = buffer
            body.writeBuffer(&chunk)
            mode = .local(service, body: body)
            return .none
        case .proxy:
            guard request.bytesIn <= request.bodyLimit else { return bodyTooLarge() }
            if configuration.isHTTP2, request.upstreamHeadIsBodyless {
                // A body on an HTTP/2 request announced as bodiless: refuse rather than guess.
                request.logError = "unexpected_body"
                return abortProxy(MatrixError(status: 400, code: .unknown, message: "Unexpected request body"))
            }
            if hasUpstream {
                request.bodyStreamed = true
                request.upstreamNeedsFlush = true
                return .writeUpstreamBody(buffer)
            }
            request.pendingBody.append(buffer)
            request.pendingBodyBytes += buffer.readableBytes
            if request.awaitsFormBody, request.pendingBodyBytes > AccessToken.formBodyLimit {
                request.logError = "form_body_too_large"
                return abortProxy(MatrixError(
                    status: 413, code: .tooLarge,
                    message: "A form-encoded body without an Authorization header is read for an access token, up to \(AccessToken.formBodyLimit) bytes"))
            }
            return connectUpstreamIfReady()
        }
    }

    /// Copies the body gathered before an upstream connection is attached out of the buffers it was
    /// read into, into one buffer of its own. Called at the end of each read on HTTP/1.1: a slice kept
    /// past the read would make NIOSSL copy its whole read buffer before the next one (and keep it
    /// alive); copying the body's own bytes costs less.
    mutating func compactPendingBody(allocator: ByteBufferAllocator) {
        guard request.pendingBody.count > 1 || (request.pendingBody.count == 1 && !request.pendingBodyOwned) else { return }
        var parts = request.pendingBody
        request.pendingBody = []
        var owned = request.pendingBodyOwned ? parts.removeFirst() : allocator.buffer(capacity: request.pendingBodyBytes)
        for var part in parts { owned.writeBuffer(&part) }
        request.pendingBody = [owned]
        request.pendingBodyOwned = true
    }

    /// The end of the request (the caller cancels the body timer).
    mutating func requestEnd(now: @autoclosure () -> NIODeadline) -> Action {
        request.requestComplete = true
        bodyTimerArmed = false
        switch mode {
        case .idle, .awaitingLocal:
            return .none
        case .discard:
            return finishIfDone(now: now)
        case .local(let service, let body):
            mode = .awaitingLocal
            return .runLocal(service, body: body)
        case .proxy:
            if hasUpstream {
                request.upstreamNeedsFlush = false
                request.lastUpstreamActivity = now()
                return .writeUpstreamEnd
            }
            if request.awaitsFormBody {
                request.awaitsFormBody = false
                return .checkFormBody(request.pendingBody)
            }
            return connectUpstreamIfReady()
        }
    }

    private mutating func bodyTooLarge() -> Action {
        request.logError = "body_too_large"
        let error = MatrixError(status: 413, code: .tooLarge, message: "Request body too large (limit \(request.bodyLimit) bytes)")
        if case .proxy = mode { return abortProxy(error) }
        request.closeAfterResponse = true
        return respond(error)
    }

    // MARK: Local phase

    /// A local responder answered the request of `generation`.
    mutating func localResponse(_ response: LocalResponse, generation: Int) -> Action {
        guard generation == self.generation else { return .none }
        return answer(response)
    }

    /// Answers with a Matrix error, ignoring the rest of the request body.
    private mutating func respond(_ error: MatrixError) -> Action {
        if request.logError == nil, error.status >= 500 { request.logError = "internal" }
        return answer(.matrix(error))
    }

    /// A whole response from Gatehouse itself; the caller writes it and reports ``responseWritten(now:)``.
    private mutating func answer(_ response: LocalResponse) -> Action {
        guard !request.responseStarted else { return .none }
        mode = .discard
        if bodyStillArriving, !configuration.isHTTP2 { request.closeAfterResponse = true }
        request.responseStarted = true
        request.status = Int(response.status.code)
        let omitBody = request.method == .HEAD
        if response.body.readableBytes > 0, !omitBody { request.bytesOut = response.body.readableBytes }
        return .respond(Respond(
            response: response, connectionClose: request.closeAfterResponse && !configuration.isHTTP2, omitBody: omitBody,
            closeAfterEnd: completeResponse()))
    }

    /// The response's end is about to be written.
    /// - Returns: whether the channel closes once it is (HTTP/1 closes the connection; HTTP/2 resets
    ///   just this stream when its body was refused unread).
    private mutating func completeResponse() -> Bool {
        request.responseComplete = true
        let close = request.closeAfterResponse && (!configuration.isHTTP2 || !request.requestComplete)
        if close && !configuration.isHTTP2 { connectionClosing = true }
        return close
    }

    /// The end of a response has been written.
    mutating func responseWritten(now: @autoclosure () -> NIODeadline) -> Action {
        finishIfDone(now: now)
    }

    /// Finishes the exchange once both messages are complete: it is logged, and the connection waits
    /// for the next request.
    private mutating func finishIfDone(now: () -> NIODeadline) -> Action {
        // An HTTP/1 connection that closes after this response does not wait for the rest of the body.
        guard request.responseComplete, request.requestComplete || (request.closeAfterResponse && !configuration.isHTTP2) else {
            return .none
        }
        mode = .idle
        request.hasHead = false
        guard !request.closeAfterResponse else { return .finish(Finish(scheduleWaitTimer: nil, next: .none)) }
        let timer = startWaiting(now: now)
        // Not re-entrantly: this may run inside the previous request's write path.
        return .finish(Finish(scheduleWaitTimer: timer, next: queuedParts > 0 ? .drainQueueNextTick : .resumeRead))
    }

    // MARK: Proxy phase

    /// The edge token check of the request of `generation` finished.
    mutating func tokenChecked(forward: Bool, generation: Int) -> Action {
        guard generation == self.generation, case .proxy = mode else { return .none }
        if forward {
            request.tokenChecked = true
            return connectUpstreamIfReady()
        }
        request.logError = "inactive_token"
        return abortProxy(.inactiveToken)
    }

    /// The edge token check of the request of `generation` refused it with this error (a form body
    /// that Synapse would read more than one token from).
    mutating func tokenRefused(_ error: MatrixError, logError: String, generation: Int) -> Action {
        guard generation == self.generation, case .proxy = mode else { return .none }
        request.logError = logError
        return abortProxy(error)
    }

    /// Takes an upstream connection once the request may go (its token passed the edge check) and
    /// its body is complete or `limits.proxy_request_buffer` of it has arrived: a client that
    /// trickles its body holds no upstream connection while it does.
    private mutating func connectUpstreamIfReady() -> Action {
        guard request.tokenChecked, !request.upstreamRequested,
            request.requestComplete || request.pendingBodyBytes >= configuration.proxyRequestBuffer
        else { return .none }
        request.upstreamRequested = true
        return acquireUpstream()
    }

    private mutating func acquireUpstream() -> Action {
        request.attempts += 1
        return .acquireUpstream(avoiding: request.lastMember, retrying: nil)
    }

    /// Whether a connection handed out for the request of `generation` is still wanted (else the
    /// caller gives it back to the pool for reuse).
    func wantsUpstream(generation: Int) -> Bool {
        guard generation == self.generation, case .proxy = mode else { return false }
        return true
    }

    /// An upstream connection is attached to the current request (after ``wantsUpstream(generation:)``).
    /// - Returns: what to send on it: the head, the body gathered so far, and the end when the
    ///   request is complete; the caller flushes, arms the upstream timer and resumes reading.
    mutating func upstreamAttached(member: Int, description: String, reused: Bool, now: NIODeadline) -> SendUpstream {
        hasUpstream = true
        request.upstreamReused = reused
        request.upstreamKeepAlive = true
        request.lastMember = member
        request.memberDescription = description
        request.requestBytesSent = true
        let body = request.pendingBody
        if !body.isEmpty {
            request.bodyStreamed = true
            request.pendingBody = []
            request.pendingBodyOwned = false
        }
        request.pendingBodyBytes = 0
        request.lastUpstreamActivity = now
        let deadline = now + request.upstreamTimeout
        let armTimer = !upstreamTimerArmed || (upstreamTimerDeadline ?? deadline) > deadline
        if armTimer { upstreamTimerDeadline = deadline }
        upstreamTimerArmed = true
        // `.end` is not queued but derived from `requestComplete`, so a bodiless request that is
        // retried on another connection is sent whole again.
        return SendUpstream(
            body: body, end: request.requestComplete, scheduleUpstreamTimer: armTimer ? request.upstreamTimeout : nil)
    }

    /// No connection could be made to the upstream.
    mutating func upstreamConnectFailed(member: String, upstream: String) -> Action {
        request.memberDescription = member
        return proxyFailed(ProxyError(kind: .connectFailed, upstream: upstream, requestBytesSent: false, onReusedConnection: false))
    }

    /// Retries on another member when the error allows it, else answers the client (or cuts the
    /// connection when part of the response is already with it).
    private mutating func proxyFailed(_ error: ProxyError) -> Action {
        disarmUpstreamTimer()
        request.logError = error.shortDescription
        guard !request.responseStarted else {
            // Part of the response is already with the client: the only honest signal left is to cut
            // the connection (HTTP/1) or reset the stream (HTTP/2).
            return .close(releaseUpstream: false)
        }
        let idempotent = Self.isIdempotent(request.method)
        let maxAttempts = min(3, request.upstreamMembers + 1)
        if error.allowsRetry(idempotent: idempotent, bodyStreamed: request.bodyStreamed), request.attempts < maxAttempts {
            request.attempts += 1
            return .acquireUpstream(avoiding: request.lastMember, retrying: error)
        }
        var action = abortProxy(error.matrixError)
        if case .respond(var respond) = action {
            respond.proxyError = error
            action = .respond(respond)
        }
        return action
    }

    private static func isIdempotent(_ method: HTTPMethod?) -> Bool {
        switch method {
        case .GET, .HEAD, .OPTIONS, .PUT, .DELETE: true
        default: false
        }
    }

    /// Gives up on the upstream and answers the client with `error`.
    private mutating func abortProxy(_ error: MatrixError) -> Action {
        let release = hasUpstream
        if release { detachUpstream() }
        guard !request.responseStarted else { return .close(releaseUpstream: release) }
        if !request.requestComplete { request.closeAfterResponse = true }
        guard case .respond(var respond) = respond(error) else { return .none }
        respond.releaseUpstream = release
        // HTTP/2 drains the rest of the stream; HTTP/1 reads until the close.
        respond.resumeReadAfter = true
        return .respond(respond)
    }

    /// - Parameter keepingTimer: the exchange ended cleanly; the upstream timer stays armed for the
    ///   connection's next exchange (the caller keeps it scheduled).
    private mutating func detachUpstream(keepingTimer: Bool = false) {
        hasUpstream = false
        if !keepingTimer { disarmUpstreamTimer() }
    }

    private mutating func disarmUpstreamTimer() {
        upstreamTimerArmed = false
        upstreamTimerDeadline = nil
    }

    /// The upstream's response head arrived.
    mutating func upstreamResponseHead(status: Int, keepAlive: Bool, now: NIODeadline) -> ForwardHead {
        request.lastUpstreamActivity = now
        // 1xx from the upstream are not relayed: Gatehouse already answered `Expect` itself.
        guard status >= 200 else { return .ignore }
        request.responseStarted = true
        request.status = status
        request.upstreamKeepAlive = keepAlive
        if bodyStillArriving, !configuration.isHTTP2 { request.closeAfterResponse = true }
        return .forward(connectionClose: request.closeAfterResponse && !configuration.isHTTP2)
    }

    /// A piece of the upstream's response body arrived.
    /// - Returns: whether to pass it on to the client.
    mutating func upstreamResponseBody(bytes: Int, now: NIODeadline) -> Bool {
        request.lastUpstreamActivity = now
        guard request.responseStarted else { return false }
        request.bytesOut += bytes
        return true
    }

    /// The upstream's response ended.
    /// - Parameter reusable: whether the upstream connection may carry another request (its
    ///   response's keep-alive, and nothing after the response).
    mutating func upstreamResponseEnd(reusable upstreamReusable: Bool = true, now: NIODeadline) -> EndResponse? {
        request.lastUpstreamActivity = now
        guard request.responseStarted, hasUpstream else { return nil }
        // The upstream connection can serve another request only if both messages ended cleanly.
        let reusable = upstreamReusable && request.upstreamKeepAlive && request.requestComplete
        detachUpstream(keepingTimer: true)
        if !request.requestComplete {
            // Answered before the client finished its body: HTTP/1 closes after the response,
            // HTTP/2 drains the rest of the stream (bounded by the rule's body limit).
            if !configuration.isHTTP2 { request.closeAfterResponse = true }
            mode = .discard
        }
        return EndResponse(reusable: reusable, closeAfterEnd: completeResponse())
    }

    /// The upstream connection closed or failed (the caller has given it back to the pool).
    mutating func upstreamFailed(kind: ProxyError.Kind, upstream: String) -> Action {
        guard hasUpstream else { return .none }
        detachUpstream()
        guard !request.responseComplete else { return .none }
        return proxyFailed(ProxyError(
            kind: kind, upstream: upstream, requestBytesSent: request.requestBytesSent, onReusedConnection: request.upstreamReused))
    }

    // MARK: Timers

    /// The wait timer fired.
    mutating func waitTimerFired(now: NIODeadline) -> Action {
        waitTimerArmed = false
        // Busy with a request: the next wait arms the timer again.
        guard let since = waitingSince, case .idle = mode else { return .none }
        let waited = now - since
        let timeout = currentWaitTimeout
        if waited >= timeout { return .close(releaseUpstream: false) }
        waitTimerArmed = true
        return .scheduleWaitTimer(in: timeout - waited)
    }

    private func bodyTimerDelay(now: NIODeadline) -> TimeAmount {
        let delay = min(configuration.bodyPause - (now - request.lastBodyActivity), request.bodyDeadline - (now - request.startedAt))
        return max(delay, .zero)
    }

    /// The body timer fired. One timer per request: body activity only moves a timestamp, and the
    /// timer re-arms itself for whichever limit is nearer, the pause (`timeouts.body`) or the total
    /// deadline.
    mutating func bodyTimerFired(now: NIODeadline) -> Action {
        bodyTimerArmed = false
        guard !request.requestComplete, isBusy else { return .none }
        let paused = now - request.lastBodyActivity >= configuration.bodyPause
        let overdue = now - request.startedAt >= request.bodyDeadline
        guard paused || overdue else {
            bodyTimerArmed = true
            return .scheduleBodyTimer(in: bodyTimerDelay(now: now))
        }
        request.logError = overdue ? "body_deadline" : "body_timeout"
        let error = MatrixError(status: 408, code: .unknown, message: "Timed out waiting for the request body")
        if case .proxy = mode { return abortProxy(error) }
        if !request.responseStarted {
            request.closeAfterResponse = true
            return respond(error)
        }
        // Answered already (HTTP/2 draining a refused body, or a local answer): end the stream or
        // connection.
        return .close(releaseUpstream: false)
    }

    /// The upstream timer fired. One timer per exchange: activity only moves a timestamp, and the
    /// timer re-arms itself for the remaining time, which avoids scheduling a task per body chunk.
    /// - Returns: `.rearm` to wait on, else what follows the timeout once the caller has given the
    ///   connection back to the pool as not reusable.
    mutating func upstreamTimerFired(upstream: String, now: NIODeadline) -> UpstreamTimeout {
        disarmUpstreamTimer()
        guard hasUpstream, !request.responseComplete else { return .none }
        let idleFor = now - request.lastUpstreamActivity
        if idleFor < request.upstreamTimeout {
            upstreamTimerArmed = true
            upstreamTimerDeadline = now + (request.upstreamTimeout - idleFor)
            return .rearm(in: request.upstreamTimeout - idleFor)
        }
        detachUpstream()
        let error = ProxyError(kind: .timeout, upstream: upstream, requestBytesSent: true, onReusedConnection: request.upstreamReused)
        return .timedOut(proxyFailed(error))
    }
}
