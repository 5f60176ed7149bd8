import NIOCore
import NIOEmbedded
import Testing

@testable import GatehouseServer

struct GatewayTimersTests {
    private struct Ignored: NIOScheduledCallbackHandler, Sendable {
        func handleScheduledCallback(eventLoop: some EventLoop) {}
    }

    private let loop = EmbeddedEventLoop()
    private let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    private func callback(at deadline: NIODeadline) throws -> NIOScheduledCallback {
        try loop.scheduleCallback(at: deadline, handler: Ignored())
    }

    @Test func onlyAnEarlierDeadlineNeedsANewCallback() throws {
        var timers = GatewayTimers()
        let upstream = start + .seconds(60)
        #expect(timers.arm(.upstream, at: upstream) == upstream, "nothing scheduled yet")
        #expect(timers.scheduled(try callback(at: upstream), at: upstream) == nil)
        #expect(timers.arm(.wait, at: start + .seconds(90)) == nil, "a later deadline rides on the scheduled callback")
        #expect(timers.arm(.body, at: start + .seconds(5)) == start + .seconds(5), "an earlier one needs its own")
        #expect(timers.scheduled(try callback(at: start + .seconds(5)), at: start + .seconds(5)) != nil, "the later callback is replaced")
    }

    @Test func theCallbackIsCancelledOnlyWhenNoDeadlineIsLeft() throws {
        var timers = GatewayTimers()
        _ = timers.arm(.upstream, at: start + .seconds(60))
        _ = timers.scheduled(try callback(at: start + .seconds(60)), at: start + .seconds(60))
        _ = timers.arm(.wait, at: start + .seconds(90))
        #expect(timers.disarm(.upstream) == nil, "the wait deadline still needs it")
        #expect(timers.disarm(.body) == nil)
        #expect(timers.disarm(.wait) != nil, "nothing left: cancel it, so it keeps no handler alive")
        #expect(timers.unscheduledEarliest == nil)
    }

    @Test func aFiredCallbackHandsOutWhatIsDueThenSchedulesTheRest() throws {
        var timers = GatewayTimers()
        _ = timers.arm(.upstream, at: start + .seconds(1))
        _ = timers.arm(.body, at: start + .seconds(1))
        _ = timers.arm(.wait, at: start + .seconds(30))
        _ = timers.scheduled(try callback(at: start + .seconds(1)), at: start + .seconds(1))
        timers.callbackFired()
        let now = start + .seconds(2)
        #expect(timers.takeDue(now: now) == .body)
        #expect(timers.takeDue(now: now) == .upstream)
        #expect(timers.takeDue(now: now) == nil, "the wait deadline is not due")
        #expect(timers.unscheduledEarliest == start + .seconds(30))
        // A deadline moved later while its callback stayed scheduled: the early firing hands out nothing.
        _ = timers.scheduled(try callback(at: start + .seconds(30)), at: start + .seconds(30))
        #expect(timers.arm(.wait, at: start + .seconds(60)) == nil)
        timers.callbackFired()
        #expect(timers.takeDue(now: start + .seconds(30)) == nil)
        #expect(timers.unscheduledEarliest == start + .seconds(60))
    }
}
