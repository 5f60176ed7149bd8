import Foundation
import GatehouseIdentity
import GatehouseStorage
import Synchronization
import Testing

/// Counts the writes the flusher makes.
final class CountingActivityRepository: SessionActivityRepository {
    let batches = Mutex<[[SessionActivity]]>([])
    let failing = Mutex(false)

    struct Failure: Error {}

    func record(_ batch: [SessionActivity]) async throws {
        if failing.withLock({ $0 }) { throw Failure() }
        batches.withLock { $0.append(batch) }
    }
}

struct SessionActivityTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func manyUsesBecomeOneWritePerFlushWithTheLatestUseOfEachSession() async throws {
        let recorder = SessionActivityRecorder()
        let repository = CountingActivityRepository()
        let flusher = SessionActivityFlusher(recorder: recorder, repository: repository)
        for second in 0..<1000 {
            let at = Self.t0.addingTimeInterval(Double(second))
            recorder.record(.compat, sessionId: "compat-\(second % 3)", at: at, address: second % 2 == 0 ? "192.0.2.\(second % 3)" : nil)
            recorder.record(.oauth2, sessionId: "oauth2", at: at, address: "198.51.100.1")
        }
        // A use reported late (an older request finishing after a newer one) never moves time back.
        recorder.record(.oauth2, sessionId: "oauth2", at: Self.t0, address: "203.0.113.9")
        #expect(await flusher.flush() == 4)
        let batches = repository.batches.withLock { $0 }
        #expect(batches.count == 1, "2001 uses, one store write")
        let byId = Dictionary(uniqueKeysWithValues: batches[0].map { ($0.sessionId, $0) })
        #expect(byId["oauth2"] == SessionActivity(kind: .oauth2, sessionId: "oauth2", lastActiveAt: Self.t0.addingTimeInterval(999), address: "198.51.100.1"))
        // compat-0's last use (second 999) had no address: the last known one (second 996) stays.
        #expect(byId["compat-0"] == SessionActivity(kind: .compat, sessionId: "compat-0", lastActiveAt: Self.t0.addingTimeInterval(999), address: "192.0.2.0"))
        #expect(await flusher.flush() == 0, "nothing new, nothing written")
        #expect(repository.batches.withLock { $0.count } == 1)
    }

    @Test func aFailedWriteIsKeptForTheNextFlush() async throws {
        let recorder = SessionActivityRecorder()
        let repository = CountingActivityRepository()
        let flusher = SessionActivityFlusher(recorder: recorder, repository: repository)
        recorder.record(.browser, sessionId: "browser", at: Self.t0, address: "192.0.2.5")
        repository.failing.withLock { $0 = true }
        #expect(await flusher.flush() == 0)
        recorder.record(.browser, sessionId: "browser", at: Self.t0.addingTimeInterval(5), address: nil)
        repository.failing.withLock { $0 = false }
        #expect(await flusher.flush() == 1)
        #expect(repository.batches.withLock { $0 } == [[
            SessionActivity(kind: .browser, sessionId: "browser", lastActiveAt: Self.t0.addingTimeInterval(5), address: "192.0.2.5"),
        ]])
    }

    @Test func pendingSessionsAreBounded() {
        let recorder = SessionActivityRecorder(maximumPending: 2)
        for id in ["a", "b", "c"] { recorder.record(.compat, sessionId: id, at: Self.t0, address: nil) }
        recorder.record(.compat, sessionId: "a", at: Self.t0.addingTimeInterval(1), address: nil)
        #expect(recorder.drain().map(\.sessionId) == ["a", "b"], "known sessions still update; new ones wait for the next interval")
    }
}
