import Foundation
import GatehouseCore
import GatehouseHomeserver
import GatehouseStorage
import GatehouseTesting
import Logging
import ServiceLifecycle
import Testing

/// The job queue and runner against the fake Synapse, with a manual clock deciding what is due.
struct JobRunnerTests {
    /// A runner, its queue and store, wired to a fresh fake Synapse.
    struct Harness {
        let fake: FakeSynapse
        let client: SynapseClient
        let repository = MemoryJobRepository()
        let clock = ManualClock()
        let random = CountingRandom()
        let runner: JobRunner
        let queue: JobQueue

        init(fake: FakeSynapse, client: SynapseClient, configuration: JobRunner.Configuration = .init(), logger: Logger = quietLogger) {
            self.fake = fake
            self.client = client
            runner = JobRunner(repository: repository, client: client, clock: clock, configuration: configuration, logger: logger)
            queue = JobQueue(repository: repository, runner: runner)
        }

        @discardableResult
        func enqueue(_ job: HomeserverJob) async throws -> Job {
            try await queue.enqueue(job, clock: clock, random: random)
        }

        func runPending() async -> (succeeded: Int, failed: Int) {
            await runner.runPending(now: clock.now())
        }
    }

    private func withHarness(
        secret: String = sharedSecret, configuration: JobRunner.Configuration = .init(), logger: Logger = quietLogger,
        _ body: (Harness) async throws -> Void
    ) async throws {
        try await withSynapse(secret: secret) { fake, client async throws in
            try await body(Harness(fake: fake, client: client, configuration: configuration, logger: logger))
        }
    }

    @Test func enqueueStoresADueJobWithAULID() async throws {
        try await withHarness { harness async throws in
            let job = try await harness.enqueue(.deleteUser(.init(localpart: "alice", erase: true)))
            #expect(ULID.isValid(job.id))
            #expect(job.kind == "delete_user" && job.payload == #"{"erase":true,"localpart":"alice"}"#)
            #expect(job.runAt == harness.clock.now() && job.createdAt == harness.clock.now() && job.attempts == 0)
            #expect(try await harness.repository.pending() == [job])
        }
    }

    @Test func jobsQueuedInOneMillisecondKeepTheirOrder() async throws {
        try await withHarness { harness async throws in
            // Same clock time and descending random parts: plain ULIDs would sort sync before provision.
            let random = DescendingRandom()
            let provision = try await harness.queue.enqueue(.provisionUser(.init(localpart: "erin")), clock: harness.clock, random: random)
            let sync = try await harness.queue.enqueue(.syncDevices(.init(localpart: "erin", devices: ["D1"])), clock: harness.clock, random: random)
            #expect(provision.id < sync.id && ULID.isValid(sync.id))
            #expect(await harness.runPending() == (2, 0))
            #expect(harness.fake.requests.map(\.path) == ["/_synapse/mas/provision_user", "/_synapse/mas/sync_devices"])
        }
    }

    @Test func runPendingRunsEveryDueJob() async throws {
        try await withHarness { harness async throws in
            try await harness.enqueue(.provisionUser(.init(localpart: "alice", displayname: "Alice", emails: ["a@example.test"])))
            try await harness.enqueue(.syncDevices(.init(localpart: "alice", devices: ["DEV1", "DEV2"])))
            try await harness.enqueue(.setDisplayname(.init(localpart: "alice", displayname: "Alice B.")))
            let result = await harness.runPending()
            #expect(result.succeeded == 3 && result.failed == 0)
            let user = try #require(harness.fake.user("alice"))
            #expect(user.displayName == "Alice B." && user.emails == ["a@example.test"] && Set(user.devices.keys) == ["DEV1", "DEV2"])
            #expect(try await harness.repository.pending().isEmpty)
            #expect(await harness.repository.all().allSatisfy { $0.completedAt == harness.clock.now() })
        }
    }

    @Test func everyKindRunsAgainstSynapse() async throws {
        try await withHarness { harness async throws in
            try await harness.enqueue(.provisionUser(.init(localpart: "bob", locked: true)))
            try await harness.enqueue(.upsertDevice(.init(localpart: "bob", deviceId: "D1", displayName: "Phone")))
            try await harness.enqueue(.deleteDevice(.init(localpart: "bob", deviceId: "D1")))
            try await harness.enqueue(.setDisplayname(.init(localpart: "bob", displayname: "Bob")))
            try await harness.enqueue(.unsetDisplayname(.init(localpart: "bob")))
            try await harness.enqueue(.provisionUser(.init(localpart: "bob", locked: false)))
            try await harness.enqueue(.deleteUser(.init(localpart: "bob", erase: false)))
            try await harness.enqueue(.reactivateUser(.init(localpart: "bob")))
            #expect(await harness.runPending() == (8, 0))
            let paths = harness.fake.requests.map { $0.path.replacingOccurrences(of: "/_synapse/mas/", with: "") }
            #expect(paths == [
                "provision_user", "upsert_device", "delete_device", "set_displayname", "unset_displayname", "provision_user", "delete_user",
                "reactivate_user",
            ])
            let bob = try #require(harness.fake.user("bob"))
            #expect(!bob.locked && !bob.deactivated && bob.displayName == nil && bob.devices.isEmpty)
        }
    }

    @Test func aJobRetriesWithBackoffWhileSynapseIsDownAndCompletesWhenItIsBack() async throws {
        let capture = LogCapture()
        try await withHarness(logger: capture.logger()) { harness async throws in
            harness.fake.down = true
            let start = harness.clock.now()
            let job = try await harness.enqueue(.provisionUser(.init(localpart: "alice", locked: false)))

            // Attempt 1 fails: due again 1 s later.
            #expect(await harness.runPending() == (0, 1))
            var stored = try #require(await harness.repository.job(job.id))
            #expect(stored.attempts == 1 && stored.runAt == start.addingTimeInterval(1) && stored.completedAt == nil)
            #expect(stored.lastError?.contains("Synapse is unreachable") == true)
            // Not due yet: nothing runs.
            #expect(await harness.runPending() == (0, 0))

            // Attempt 2 after 1 s, attempt 3 after 2 more, each doubling the wait.
            harness.clock.advance(by: 1)
            #expect(await harness.runPending() == (0, 1))
            stored = try #require(await harness.repository.job(job.id))
            #expect(stored.attempts == 2 && stored.runAt == start.addingTimeInterval(1 + 2))
            harness.clock.advance(by: 1)
            #expect(await harness.runPending() == (0, 0))
            harness.clock.advance(by: 1)
            #expect(await harness.runPending() == (0, 1))
            stored = try #require(await harness.repository.job(job.id))
            #expect(stored.attempts == 3 && stored.runAt == start.addingTimeInterval(1 + 2 + 4))

            // Synapse is back: the next attempt succeeds.
            harness.fake.down = false
            harness.clock.advance(by: 4)
            #expect(await harness.runPending() == (1, 0))
            #expect(try await harness.repository.pending().isEmpty)
            #expect(harness.fake.user("alice") != nil)
        }
        #expect(capture.all.contains { $0.hasPrefix("warning homeserver job failed; retrying") && $0.contains("unreachable") })
    }

    @Test func refusedJobsAreKeptAndRetriedLater() async throws {
        let capture = LogCapture()
        try await withHarness(logger: capture.logger()) { harness async throws in
            let start = harness.clock.now()
            // The user is not provisioned: 404 M_NOT_FOUND, not retryable.
            let job = try await harness.enqueue(.syncDevices(.init(localpart: "ghost", devices: ["D1"])))
            #expect(await harness.runPending() == (0, 1))
            var stored = try #require(await harness.repository.job(job.id))
            #expect(stored.runAt == start.addingTimeInterval(60) && stored.lastError?.contains("M_NOT_FOUND") == true)

            harness.clock.advance(by: 59)
            #expect(await harness.runPending() == (0, 0))
            harness.clock.advance(by: 1)
            #expect(await harness.runPending() == (0, 1))
            stored = try #require(await harness.repository.job(job.id))
            #expect(stored.attempts == 2 && stored.runAt == start.addingTimeInterval(60 + 120))

            // Someone fixes it; the job goes through at its next attempt.
            harness.fake.addUser(.init(localpart: "ghost"))
            harness.clock.advance(by: 120)
            #expect(await harness.runPending() == (1, 0))
            #expect(harness.fake.user("ghost")?.devices.keys.sorted() == ["D1"])
        }
        #expect(capture.all.contains { $0.hasPrefix("error homeserver job refused by Synapse") && $0.contains("not_found") })
    }

    @Test func aWrongSecretKeepsJobsQueued() async throws {
        try await withHarness(secret: "wrong-secret") { harness async throws in
            let job = try await harness.enqueue(.provisionUser(.init(localpart: "alice")))
            #expect(await harness.runPending() == (0, 1))
            let stored = try #require(await harness.repository.job(job.id))
            #expect(stored.runAt == harness.clock.now().addingTimeInterval(60))
            #expect(stored.lastError?.contains("matrix.secret") == true)
            #expect(stored.lastError?.contains("wrong-secret") == false)
        }
    }

    @Test func unreadableJobsAreKeptNotDropped() async throws {
        let capture = LogCapture()
        try await withHarness(logger: capture.logger()) { harness async throws in
            let now = harness.clock.now()
            try await harness.repository.enqueue(Job(id: "01J00000000000000000000000", kind: "frobnicate", payload: "{}", runAt: now, createdAt: now))
            try await harness.repository.enqueue(
                Job(id: "01J00000000000000000000001", kind: "delete_user", payload: "[]", runAt: now, createdAt: now))
            #expect(await harness.runPending() == (0, 2))
            let pending = try await harness.repository.pending()
            #expect(pending.count == 2)
            #expect(pending.allSatisfy { $0.runAt == now.addingTimeInterval(60) && $0.attempts == 1 })
            #expect(pending[0].lastError?.contains("unknown homeserver job kind 'frobnicate'") == true)
            #expect(harness.fake.requests.isEmpty)
        }
        #expect(capture.all.filter { $0.hasPrefix("error cannot read a queued homeserver job") }.count == 2)
    }

    @Test func jobsOfOneUserRunInQueueOrder() async throws {
        try await withHarness { harness async throws in
            let start = harness.clock.now()
            harness.fake.addUser(.init(localpart: "alice"))
            harness.fake.addUser(.init(localpart: "bob"))
            harness.fake.down = true
            // Lock while Synapse is down: fails, due again at +1 s.
            try await harness.enqueue(.provisionUser(.init(localpart: "alice", locked: true)))
            #expect(await harness.runPending() == (0, 1))

            // Synapse is back and an unlock is queued before the lock's retry is due.
            harness.fake.down = false
            harness.clock.advance(by: 0.5)
            let unlock = try await harness.enqueue(.provisionUser(.init(localpart: "alice", locked: false)))
            try await harness.enqueue(.setDisplayname(.init(localpart: "bob", displayname: "x")))
            // The unlock is held back behind the lock; another user's job is not.
            let early = await harness.runPending()
            #expect(early == (1, 1))
            #expect(harness.fake.requests.map(\.path) == ["/_synapse/mas/set_displayname"])
            let held = try #require(await harness.repository.job(unlock.id))
            #expect(held.runAt == start.addingTimeInterval(2) && held.lastError?.contains("waiting for the earlier job") == true)

            // Both due: lock, then unlock. The user ends unlocked, as last asked.
            harness.clock.advance(by: 1.5)
            #expect(await harness.runPending() == (2, 0))
            #expect(harness.fake.requests.suffix(2).compactMap { $0.json()?["locked"] as? Bool } == [true, false])
            #expect(harness.fake.user("alice")?.locked == false)
        }
    }

    @Test func theServiceWakesOnNotifyAndStopsOnGracefulShutdown() async throws {
        // A poll interval of an hour: only notify() can make the job run within the test.
        try await withHarness(configuration: .init(pollInterval: .seconds(3600))) { harness async throws in
            let group = ServiceGroup(configuration: .init(services: [.init(service: harness.runner)], logger: quietLogger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                try await Task.sleep(for: .milliseconds(100))
                try await harness.enqueue(.provisionUser(.init(localpart: "carol")))
                let done = try await eventually { try await harness.repository.pending().isEmpty }
                #expect(done, "the enqueue woke the runner")
                #expect(harness.fake.user("carol") != nil)

                // An idle runner waits an hour for its next round unless shutdown wakes it; the 60 s bound
                // only limits how long a failing test hangs.
                let started = ContinuousClock.now
                await group.triggerGracefulShutdown()
                try await tasks.next()
                #expect(ContinuousClock.now - started < .seconds(60), "shutdown woke the idle runner")
            }
        }
    }

    @Test func theServiceRetriesAfterAnOutage() async throws {
        try await withHarness(configuration: .init(pollInterval: .milliseconds(20))) { harness async throws in
            harness.fake.down = true
            let group = ServiceGroup(configuration: .init(services: [.init(service: harness.runner)], logger: quietLogger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let job = try await harness.enqueue(.provisionUser(.init(localpart: "dave")))
                // The failure is recorded (not merely the claim, which counts the attempt first): its retry
                // time is fixed before the clock moves. The bound only limits how long a failing test hangs.
                let failedOnce = await eventually(timeout: .seconds(60)) {
                    let stored = await harness.repository.job(job.id)
                    return stored?.attempts == 1 && stored?.lastError != nil
                }
                #expect(failedOnce)
                let retryAt = try #require(await harness.repository.job(job.id)?.runAt)
                #expect(retryAt > harness.clock.now() && retryAt <= harness.clock.now().addingTimeInterval(1))
                // Nothing is due until the clock reaches the retry time: a round now runs nothing.
                #expect(await harness.runPending() == (0, 0))
                #expect(await harness.repository.job(job.id)?.attempts == 1)

                harness.fake.down = false
                harness.clock.advance(by: 1)
                let completed = await eventually(timeout: .seconds(60)) { await harness.repository.job(job.id)?.completedAt != nil }
                #expect(completed)
                #expect(await harness.repository.job(job.id)?.attempts == 2)
                #expect(harness.fake.user("dave") != nil)
                await group.triggerGracefulShutdown()
                try await tasks.next()
            }
        }
    }
}
