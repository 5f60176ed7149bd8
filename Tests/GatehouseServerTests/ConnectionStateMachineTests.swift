import GatehouseCore
import NIOCore
import NIOHTTP1
import Testing

@testable import GatehouseServer

/// The connection's decisions, driven event by event with no channel: each test is a sequence of
/// events and the actions expected back.
struct ConnectionStateMachineTests {
    typealias State = ConnectionStateMachine

    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    private func machine(http2: Bool = false, proxyRequestBuffer: Int = 64 * 1024) -> State {
        State(
            configuration: State.Configuration(
                isHTTP2: http2, headerTimeout: .seconds(10), idleTimeout: .seconds(60), bodyPause: .seconds(5), localBodyDeadline: .seconds(10),
                proxyBodyDeadline: .seconds(300), proxyRequestBuffer: proxyRequestBuffer))
    }

    private func proxied(
        _ method: HTTPMethod = .GET, body: Bool = false, members: Int = 2, start: State.ProxyPlan.Start = .forward, keepAlive: Bool = true
    ) -> State.RequestHead {
        State.RequestHead(
            method: method, keepAlive: keepAlive, expectsBody: body, bodyLimit: 1000,
            decision: .proxy(State.ProxyPlan(upstreamTimeout: .seconds(30), upstreamMembers: members, upstreamHeadIsBodyless: !body, start: start)))
    }

    private func local(body: Bool = false, continue expectsContinue: Bool = false) -> State.RequestHead {
        State.RequestHead(
            method: .POST, keepAlive: true, expectsBody: body, expectsContinue: expectsContinue, bodyLimit: 100, decision: .local(.health))
    }

    private func bytes(_ count: Int) -> ByteBuffer {
        ByteBuffer(repeating: UInt8(ascii: "x"), count: count)
    }

    private func respond(_ action: State.Action) -> State.Respond? {
        if case .respond(let respond) = action { return respond }
        return nil
    }

    private func acquire(_ action: State.Action) -> (avoiding: Int?, retrying: ProxyError?)? {
        if case .acquireUpstream(let avoiding, let retrying) = action { return (avoiding, retrying) }
        return nil
    }

    private func finish(_ action: State.Action) -> State.Finish? {
        if case .finish(let finish) = action { return finish }
        return nil
    }

    /// Runs a bodiless proxied GET through to the end of its response.
    private func completeProxiedGet(_ state: inout State, at now: NIODeadline) throws {
        let head = state.requestHead(proxied(), now: now)
        #expect(head.sendContinue == false)
        guard case .none = head.then else { throw Failure("the head alone must not take a connection") }
        let result1 = state.requestEnd(now: now)
        #expect(acquire(result1) != nil)
        let send = state.upstreamAttached(member: 0, description: "127.0.0.1:8008", reused: false, now: now)
        #expect(send.body.isEmpty && send.end)
        guard case .forward(connectionClose: false) = state.upstreamResponseHead(status: 200, keepAlive: true, now: now) else {
            throw Failure("head not forwarded")
        }
        let result2 = state.upstreamResponseBody(bytes: 12, now: now)
        #expect(result2)
        let result3 = state.upstreamResponseEnd(now: now)
        let end = try #require(result3)
        #expect(end.reusable && !end.closeAfterEnd)
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    @Test func aKeepAliveRequestIsProxiedLoggedAndTheConnectionWaitsForTheNext() throws {
        var state = machine()
        let result4 = state.connectionStarted(now: Self.start)
        #expect(result4 == .seconds(10))
        try completeProxiedGet(&state, at: Self.start)
        let result5 = state.responseWritten(now: Self.start)
        let done = try #require(finish(result5))
        // The wait timer is still running from the first wait; it re-arms itself for the idle timeout.
        #expect(done.scheduleWaitTimer == nil)
        guard case .resumeRead = done.next else { throw Failure("expected to read on") }
        #expect(state.isBusy == false)
        #expect(state.request.status == 200)
        #expect(state.request.bytesOut == 12)
        #expect(state.request.memberDescription == "127.0.0.1:8008")
        // Idle: the wait timer closes the connection after `timeouts.idle`, not `timeouts.header`.
        guard case .scheduleWaitTimer(let rest) = state.waitTimerFired(now: Self.start + .seconds(10)) else {
            throw Failure("an idle connection within its idle timeout stays")
        }
        #expect(rest == .seconds(50))
        guard case .close = state.waitTimerFired(now: Self.start + .seconds(60)) else { throw Failure("idle timeout must close") }
    }

    @Test func eachRequestStartsFromAFreshRequestState() throws {
        var state = machine()
        try completeProxiedGet(&state, at: Self.start)
        _ = state.responseWritten(now: Self.start)
        #expect(state.request.attempts == 1)
        _ = state.requestHead(local(), now: Self.start + .seconds(1))
        #expect(state.request.attempts == 0)
        #expect(state.request.status == 0)
        #expect(state.request.bytesOut == 0)
        #expect(state.request.memberDescription == nil)
        #expect(state.request.startedAt == Self.start + .seconds(1))
    }

    @Test func pipelinedRequestsWaitTheirTurnAndGoOnAfterTheResponse() throws {
        var state = machine()
        let result6 = state.partArrived(isHead: true, downstreamWritable: true)
        #expect(result6 == .handle)
        _ = state.requestHead(proxied(), now: Self.start)
        let result7 = state.partArrived(isHead: false, downstreamWritable: true)
        #expect(result7 == .handle)
        _ = state.requestEnd(now: Self.start)
        // The next request's parts arrive while the first is being answered: all are queued, in order.
        let result8 = state.partArrived(isHead: true, downstreamWritable: true)
        #expect(result8 == .queue)
        let result9 = state.partArrived(isHead: false, downstreamWritable: true)
        #expect(result9 == .queue)
        #expect(state.queuedParts == 2)
        // No reading meanwhile: one request at a time.
        let result10 = state.readRequested(downstreamWritable: true, upstreamWritable: true)
        #expect(result10 == false)
        _ = state.upstreamAttached(member: 0, description: "m", reused: false, now: Self.start)
        _ = state.upstreamResponseHead(status: 200, keepAlive: true, now: Self.start)
        _ = state.upstreamResponseEnd(now: Self.start)
        let result11 = state.responseWritten(now: Self.start)
        let done = try #require(finish(result11))
        guard case .drainQueueNextTick = done.next else { throw Failure("queued requests go on, on the next tick") }
        // The client has not taken the answer yet: the next head waits.
        let result12 = state.dequeue(isHead: true, downstreamWritable: false)
        #expect(result12 == false)
        let result13 = state.dequeue(isHead: true, downstreamWritable: true)
        #expect(result13)
        _ = state.requestHead(proxied(), now: Self.start)
        let result14 = state.dequeue(isHead: false, downstreamWritable: true)
        #expect(result14)
        #expect(state.queuedParts == 0)
        let result15 = state.requestEnd(now: Self.start)
        #expect(acquire(result15) != nil)
    }

    @Test func tooManyPipelinedRequestsCloseTheConnectionAfterTheCurrentAnswer() throws {
        var state = machine()
        _ = state.requestHead(proxied(), now: Self.start)
        for _ in 0..<State.maxPipelinedRequests {
            let result16 = state.partArrived(isHead: true, downstreamWritable: true)
            #expect(result16 == .queue)
        }
        let result17 = state.partArrived(isHead: true, downstreamWritable: true)
        #expect(result17 == .overflow(closeNow: false))
        #expect(state.queuedParts == 0)
        #expect(state.connectionClosing)
        #expect(state.request.logError == "pipeline_overflow")
        let result18 = state.partArrived(isHead: true, downstreamWritable: true)
        #expect(result18 == .drop)
    }

    @Test func aGatheredBodyIsCopiedOutOfTheReadBuffersAtTheEndOfEachRead() throws {
        var state = machine(proxyRequestBuffer: 1000)
        _ = state.requestHead(proxied(.POST, body: true), now: Self.start)
        var read = ByteBufferAllocator().buffer(capacity: 32 * 1024)
        read.writeString("first-")
        _ = state.requestBody(read, now: Self.start)
        state.compactPendingBody(allocator: ByteBufferAllocator())
        // The read buffer is free again: reusing it from the start does not copy it.
        let before = read.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        read.clear()
        read.writeString("second")
        #expect(read.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } == before, "the gathered body still held the read buffer")
        _ = state.requestBody(read, now: Self.start)
        state.compactPendingBody(allocator: ByteBufferAllocator())
        _ = state.requestEnd(now: Self.start)
        let send = state.upstreamAttached(member: 0, description: "m", reused: false, now: Self.start)
        #expect(send.body.count == 1)
        #expect(send.body.map { String(buffer: $0) }.joined() == "first-second")
        #expect(send.end)
    }

    @Test func aBodyIsGatheredBeforeTheUpstreamIsTakenThenSentWithTheHead() throws {
        var state = machine(proxyRequestBuffer: 10)
        _ = state.requestHead(proxied(.POST, body: true), now: Self.start)
        guard case .none = state.requestBody(bytes(4), now: Self.start) else { throw Failure("4 of 10 bytes: keep gathering") }
        let result19 = state.readRequested(downstreamWritable: true, upstreamWritable: true)
        #expect(result19)
        let result20 = state.requestBody(bytes(8), now: Self.start)
        #expect(acquire(result20) != nil, "the buffer is full: take a connection")
        // Backpressure while no connection is attached: the buffer is full, reading waits.
        let result21 = state.readRequested(downstreamWritable: true, upstreamWritable: true)
        #expect(result21 == false)
        #expect(state.pendingRead)
        let send = state.upstreamAttached(member: 1, description: "m", reused: false, now: Self.start)
        #expect(send.body.map(\.readableBytes) == [4, 8])
        #expect(send.end == false)
        #expect(send.scheduleUpstreamTimer == .seconds(30))
        let result22 = state.resumeRead(downstreamWritable: true, upstreamWritable: true, now: Self.start)
        #expect(result22)
        guard case .writeUpstreamBody(let more) = state.requestBody(bytes(3), now: Self.start) else { throw Failure("stream the rest") }
        #expect(more.readableBytes == 3)
        let result23 = state.readComplete(now: Self.start)
        #expect(result23.flushUpstream)
        guard case .writeUpstreamEnd = state.requestEnd(now: Self.start) else { throw Failure("end goes upstream") }
    }

    @Test func aRequestBodyWaitsWhileTheUpstreamCannotTakeMore() throws {
        var state = machine(proxyRequestBuffer: 0)
        let head = state.requestHead(proxied(.PUT, body: true), now: Self.start)
        #expect(acquire(head.then) != nil, "with no buffer the connection is taken at once")
        _ = state.upstreamAttached(member: 0, description: "m", reused: false, now: Self.start)
        let result24 = state.readRequested(downstreamWritable: true, upstreamWritable: false)
        #expect(result24 == false)
        let result25 = state.resumeRead(downstreamWritable: true, upstreamWritable: false, now: Self.start)
        #expect(result25 == false)
        let result26 = state.resumeRead(downstreamWritable: true, upstreamWritable: true, now: Self.start)
        #expect(result26)
        #expect(state.pendingRead == false)
    }

    @Test func betweenRequestsNothingIsReadWhileTheClientTakesNoResponses() throws {
        var state = machine()
        try completeProxiedGet(&state, at: Self.start)
        _ = state.responseWritten(now: Self.start)
        let result27 = state.readRequested(downstreamWritable: false, upstreamWritable: true)
        #expect(result27 == false)
        let result28 = state.partArrived(isHead: true, downstreamWritable: false)
        #expect(result28 == .queue, "a head that arrives anyway waits")
        guard case .drainQueue = state.downstreamBecameWritable() else { throw Failure("writable again: the queued head goes on") }
    }

    @Test func aFailedReusedConnectionIsRetriedOnAnotherMemberThenAnswered502() throws {
        var state = machine()
        _ = state.requestHead(proxied(members: 2), now: Self.start)
        _ = state.requestEnd(now: Self.start)
        _ = state.upstreamAttached(member: 0, description: "a", reused: true, now: Self.start)
        let result29 = state.upstreamFailed(kind: .upstreamClosed, upstream: "synapse")
        let retry = try #require(acquire(result29))
        #expect(retry.avoiding == 0)
        #expect(retry.retrying?.kind == .upstreamClosed)
        #expect(state.hasUpstream == false)
        let result30 = state.upstreamConnectFailed(member: "b", upstream: "synapse")
        let second = try #require(acquire(result30))
        #expect(second.retrying?.kind == .connectFailed)
        // Three attempts at most (two members + 1): the third failure is answered.
        let result31 = state.upstreamConnectFailed(member: "a", upstream: "synapse")
        let answer = try #require(respond(result31))
        #expect(answer.response.status.code == 502)
        #expect(answer.proxyError?.kind == .connectFailed)
        #expect(answer.closeAfterEnd == false, "the request was complete: the connection stays")
        #expect(state.request.attempts == 3)
        #expect(state.request.logError == "connect_failed")
    }

    @Test func aNonIdempotentRequestIsNotRetriedOnceSent() throws {
        var state = machine()
        _ = state.requestHead(proxied(.POST), now: Self.start)
        _ = state.requestEnd(now: Self.start)
        _ = state.upstreamAttached(member: 0, description: "a", reused: true, now: Self.start)
        let result32 = state.upstreamFailed(kind: .upstreamClosed, upstream: "synapse")
        let answer = try #require(respond(result32))
        #expect(answer.response.status.code == 502)
    }

    @Test func anUpstreamThatStopsAnsweringTimesOutWith504() throws {
        var state = machine()
        _ = state.requestHead(proxied(.POST), now: Self.start)
        _ = state.requestEnd(now: Self.start)
        _ = state.upstreamAttached(member: 0, description: "a", reused: false, now: Self.start)
        guard case .rearm(let rest) = state.upstreamTimerFired(upstream: "synapse", now: Self.start + .seconds(20)) else {
            throw Failure("within the timeout the timer re-arms")
        }
        #expect(rest == .seconds(10))
        guard case .timedOut(let action) = state.upstreamTimerFired(upstream: "synapse", now: Self.start + .seconds(30)) else {
            throw Failure("timeout")
        }
        #expect(respond(action)?.response.status.code == 504)
        #expect(state.request.logError == "timeout")
    }

    @Test func aKeepAliveConnectionKeepsOneUpstreamTimerAcrossRequests() throws {
        var state = machine()
        _ = state.connectionStarted(now: Self.start)
        func attach(_ head: State.RequestHead, at now: NIODeadline) -> TimeAmount? {
            _ = state.requestHead(head, now: now)
            _ = state.requestEnd(now: now)
            return state.upstreamAttached(member: 0, description: "a", reused: true, now: now).scheduleUpstreamTimer
        }
        func finishResponse(at now: NIODeadline) {
            _ = state.upstreamResponseHead(status: 200, keepAlive: true, now: now)
            _ = state.upstreamResponseEnd(now: now)
            _ = state.responseWritten(now: now)
        }
        #expect(attach(proxied(), at: Self.start) == .seconds(30), "the first exchange schedules it")
        finishResponse(at: Self.start)
        #expect(state.upstreamTimerArmed, "a clean end keeps it for the next exchange")
        #expect(attach(proxied(), at: Self.start + .seconds(1)) == nil, "the next one with the same timeout reuses it")
        // It fires at the first exchange's deadline and re-arms for what the current one has left.
        guard case .rearm(let rest) = state.upstreamTimerFired(upstream: "synapse", now: Self.start + .seconds(30)) else {
            throw Failure("the current exchange is within its timeout")
        }
        #expect(rest == .seconds(1))
        finishResponse(at: Self.start + .seconds(30))
        // Firing between exchanges does nothing, and the next exchange schedules it again.
        guard case .none = state.upstreamTimerFired(upstream: "synapse", now: Self.start + .seconds(31)) else {
            throw Failure("nothing to time out between requests")
        }
        #expect(state.upstreamTimerArmed == false)
        #expect(attach(proxied(), at: Self.start + .seconds(41)) == .seconds(30))
        finishResponse(at: Self.start + .seconds(41))
        // A route whose timeout ends before the kept timer fires (+71 s) gets its own.
        let short = State.RequestHead(
            method: .GET, keepAlive: true, expectsBody: false, bodyLimit: 1000,
            decision: .proxy(State.ProxyPlan(upstreamTimeout: .seconds(5), upstreamMembers: 1, upstreamHeadIsBodyless: true, start: .forward)))
        #expect(attach(short, at: Self.start + .seconds(42)) == .seconds(5))
        guard case .timedOut(let action) = state.upstreamTimerFired(upstream: "synapse", now: Self.start + .seconds(47)) else {
            throw Failure("the short timeout applies")
        }
        #expect(respond(action)?.response.status.code == 504)
    }

    @Test func aBodyThatPausesTooLongIsAnswered408AndTheConnectionCloses() throws {
        var state = machine()
        _ = state.requestHead(local(body: true), now: Self.start)
        _ = state.requestBody(bytes(10), now: Self.start)
        let read = state.readComplete(now: Self.start)
        #expect(read.scheduleBodyTimer == .seconds(5))
        let result33 = state.readComplete(now: Self.start)
        #expect(result33.scheduleBodyTimer == nil, "one body timer per request")
        guard case .scheduleBodyTimer = state.bodyTimerFired(now: Self.start + .seconds(4)) else { throw Failure("not paused yet") }
        let result34 = state.bodyTimerFired(now: Self.start + .seconds(9))
        let answer = try #require(respond(result34))
        #expect(answer.response.status.code == 408)
        #expect(answer.connectionClose && answer.closeAfterEnd)
        #expect(state.request.logError == "body_timeout")
    }

    @Test func theFirstHeadMustArriveWithinTheHeaderTimeout() throws {
        var state = machine()
        let result35 = state.connectionStarted(now: Self.start)
        #expect(result35 == .seconds(10))
        guard case .close = state.waitTimerFired(now: Self.start + .seconds(10)) else { throw Failure("header timeout") }
        var h2 = machine(http2: true)
        let result36 = h2.connectionStarted(now: Self.start)
        #expect(result36 == nil, "HTTP/2 streams have no wait timer")
    }

    @Test func aClientThatLeavesMidResponseIsLoggedAndTheUpstreamConnectionDropped() throws {
        var state = machine()
        _ = state.requestHead(proxied(), now: Self.start)
        _ = state.requestEnd(now: Self.start)
        _ = state.upstreamAttached(member: 0, description: "a", reused: false, now: Self.start)
        _ = state.upstreamResponseHead(status: 200, keepAlive: true, now: Self.start)
        let closed = state.connectionClosed()
        #expect(closed.releaseUpstream && closed.log)
        #expect(state.request.status == 200)
        #expect(state.request.logError == "client_closed")
        #expect(state.hasUpstream == false)
        // A client that leaves between requests leaves nothing to log.
        let result37 = state.connectionClosed()
        #expect(result37.log == false)
    }

    @Test func aClientThatLeavesBeforeAnyResponseIsLogged499() {
        var state = machine()
        _ = state.requestHead(proxied(), now: Self.start)
        let result38 = state.connectionClosed()
        #expect(result38.log)
        #expect(state.request.status == 499)
    }

    @Test func refusalsWithABodyCloseTheConnectionAndWithoutKeepIt() throws {
        var state = machine()
        let refuse = State.Decision.refuse(MatrixError(status: 404, code: .unrecognized, message: "no"), logError: nil, closeConnection: false)
        let bodiless = try #require(respond(
            state.requestHead(
                State.RequestHead(method: .GET, keepAlive: true, expectsBody: false, bodyLimit: 0, decision: refuse), now: Self.start
            ).then))
        #expect(bodiless.closeAfterEnd == false)
        #expect(bodiless.connectionClose == false)
        guard case .finish = state.requestEnd(now: Self.start) else { throw Failure("answered and complete: finished") }
        let withBody = try #require(respond(
            state.requestHead(
                State.RequestHead(method: .POST, keepAlive: true, expectsBody: true, bodyLimit: 0, decision: refuse), now: Self.start
            ).then))
        #expect(withBody.closeAfterEnd && withBody.connectionClose)
        #expect(state.connectionClosing)
    }

    @Test func aLocalBodyIsCollectedThenHandedToTheServiceAfterContinue() throws {
        var state = machine()
        let head = state.requestHead(local(body: true, continue: true), now: Self.start)
        #expect(head.sendContinue)
        _ = state.requestBody(bytes(30), now: Self.start)
        _ = state.requestBody(bytes(20), now: Self.start)
        guard case .runLocal(.health, let body) = state.requestEnd(now: Self.start) else { throw Failure("the service gets the body") }
        #expect(body.readableBytes == 50)
        let result39 = state.localResponse(LocalResponse(status: .ok), generation: state.generation - 1)
        #expect(respond(result39) == nil, "a stale answer is dropped")
        let result40 = state.localResponse(LocalResponse(status: .ok), generation: state.generation)
        let answer = try #require(respond(result40))
        #expect(answer.closeAfterEnd == false)
    }

    @Test func aLocalBodyOverTheLimitIs413() throws {
        var state = machine()
        _ = state.requestHead(local(body: true), now: Self.start)
        let result41 = state.requestBody(bytes(101), now: Self.start)
        let answer = try #require(respond(result41))
        #expect(answer.response.status.code == 413)
        #expect(answer.closeAfterEnd)
    }

    @Test func anInactiveTokenIsAnswered401AndAStaleCheckIgnored() throws {
        var state = machine()
        let head = state.requestHead(proxied(start: .awaitTokenCheck), now: Self.start)
        guard case .none = head.then else { throw Failure("waits for the lookup") }
        guard case .none = state.requestEnd(now: Self.start) else { throw Failure("no connection before the token passed") }
        guard case .none = state.tokenChecked(forward: true, generation: state.generation + 1) else { throw Failure("stale") }
        let result42 = state.tokenChecked(forward: false, generation: state.generation)
        let answer = try #require(respond(result42))
        #expect(answer.response.status.code == 401)
        #expect(state.request.logError == "inactive_token")
    }

    @Test func aFormBodyIsGatheredWholeForTheTokenCheckAndNeverBeyondItsLimit() throws {
        let limit = AccessToken.formBodyLimit
        func formHead() -> State.RequestHead {
            State.RequestHead(
                method: .POST, keepAlive: true, expectsBody: true, bodyLimit: 4 * limit,
                decision: .proxy(State.ProxyPlan(upstreamTimeout: .seconds(30), upstreamMembers: 1, upstreamHeadIsBodyless: false, start: .awaitFormBody)))
        }
        // Past proxy_request_buffer (0 here) the body is still read, with no upstream taken, up to the end.
        var state = machine(proxyRequestBuffer: 0)
        guard case .none = state.requestHead(formHead(), now: Self.start).then else { throw Failure("waits for the body") }
        guard case .none = state.requestBody(ByteBuffer(string: "List-Unsubscribe="), now: Self.start) else { throw Failure("no upstream yet") }
        let readsOn = state.readRequested(downstreamWritable: true, upstreamWritable: true)
        #expect(readsOn, "reads go on until the body is whole")
        _ = state.requestBody(ByteBuffer(string: "One-Click"), now: Self.start)
        guard case .checkFormBody(let parts) = state.requestEnd(now: Self.start) else { throw Failure("the whole body goes to the check") }
        #expect(parts.map { $0.getString(at: $0.readerIndex, length: $0.readableBytes) ?? "" }.joined() == "List-Unsubscribe=One-Click")
        guard case .acquireUpstream = state.tokenChecked(forward: true, generation: state.generation) else { throw Failure("then it goes") }

        var ambiguous = machine()
        _ = ambiguous.requestHead(formHead(), now: Self.start)
        _ = ambiguous.requestBody(ByteBuffer(string: "access_token=a&access_token=b"), now: Self.start)
        guard case .checkFormBody = ambiguous.requestEnd(now: Self.start) else { throw Failure("checked") }
        let refusal = MatrixError(status: 401, code: .missingToken, message: AccessToken.Message.repeatedBody)
        let refused = try #require(respond(ambiguous.tokenRefused(refusal, logError: "ambiguous_token", generation: ambiguous.generation)))
        #expect(refused.response.status.code == 401)
        #expect(ambiguous.request.logError == "ambiguous_token")

        var large = machine()
        _ = large.requestHead(formHead(), now: Self.start)
        guard case .none = large.requestBody(ByteBuffer(repeating: UInt8(ascii: "a"), count: limit), now: Self.start) else { throw Failure("at the limit") }
        let readsAtLimit = large.readRequested(downstreamWritable: true, upstreamWritable: true)
        #expect(readsAtLimit, "the end may still come")
        let tooLarge = try #require(respond(large.requestBody(ByteBuffer(string: "a"), now: Self.start)))
        #expect(tooLarge.response.status.code == 413)
        #expect(large.request.logError == "form_body_too_large")
    }

    @Test func anAnswerBeforeTheBodyEndedClosesHTTP1ButDrainsHTTP2() throws {
        for http2 in [false, true] {
            var state = machine(http2: http2, proxyRequestBuffer: 0)
            _ = state.requestHead(proxied(.POST, body: true), now: Self.start)
            _ = state.upstreamAttached(member: 0, description: "a", reused: false, now: Self.start)
            guard case .forward(let close) = state.upstreamResponseHead(status: 413, keepAlive: true, now: Self.start) else {
                throw Failure("forwarded")
            }
            #expect(close == !http2)
            let result43 = state.upstreamResponseEnd(now: Self.start)
            let end = try #require(result43)
            #expect(end.reusable == false, "the upstream did not get the whole request")
            #expect(end.closeAfterEnd == !http2, "HTTP/1 closes the connection; HTTP/2 drains the rest of the stream")
        }
    }

    @Test func aMalformedRequestAfterAGoodOneLetsTheGoodOneFinish() throws {
        var state = machine()
        _ = state.requestHead(proxied(), now: Self.start)
        _ = state.requestEnd(now: Self.start)
        let malformed = MatrixError(status: 400, code: .unknown, message: "Malformed HTTP request")
        guard case .dropQueue = state.parserError(malformed, logError: "malformed_start_line", now: Self.start) else {
            throw Failure("finish first")
        }
        #expect(state.request.closeAfterResponse)
        var idle = machine()
        let tooLarge = HTTP1Refusal.headTooLarge
        let result44 = idle.parserError(
            MatrixError(status: tooLarge.status, code: .unknown, message: tooLarge.message), logError: tooLarge.shortDescription, now: Self.start)
        let answer = try #require(respond(result44))
        #expect(answer.response.status.code == 431)
        #expect(answer.closeAfterEnd)
        #expect(idle.request.logError == "head_too_large")
    }

    @Test func anHTTP2BodyOnARequestAnnouncedBodilessIsRefused() throws {
        var state = machine(http2: true)
        _ = state.requestHead(proxied(.GET), now: Self.start)
        let result45 = state.requestBody(bytes(1), now: Self.start)
        let answer = try #require(respond(result45))
        #expect(answer.response.status.code == 400)
        #expect(state.request.logError == "unexpected_body")
    }

    @Test func quiescingClosesAnIdleConnectionAtOnceAndABusyOneAfterItsResponse() throws {
        var idle = machine()
        let result46 = idle.quiesce()
        #expect(result46)
        var busy = machine()
        _ = busy.requestHead(proxied(), now: Self.start)
        let result47 = busy.quiesce()
        #expect(result47 == false)
        _ = busy.requestEnd(now: Self.start)
        _ = busy.upstreamAttached(member: 0, description: "a", reused: false, now: Self.start)
        guard case .forward(connectionClose: true) = busy.upstreamResponseHead(status: 200, keepAlive: true, now: Self.start) else {
            throw Failure("the response says the connection closes")
        }
    }
}
