import GatehouseStorage
import GatehouseTestSupport
import Testing

/// A hung store call fails its test instead of the whole run.
@Suite(.storeTimeLimit)
struct JobRepositoryTests {
    @Test(arguments: StoreBackend.allCases) func claimsTheJobDueLongestAndSkipsFutureOnes(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            try await store.jobs.enqueue(Fixture.job("job-late", runAt: 20, createdAt: 0))
            try await store.jobs.enqueue(Fixture.job("job-b", runAt: 5, createdAt: 1))
            try await store.jobs.enqueue(Fixture.job("job-a", runAt: 3, createdAt: 2))

            #expect(try await store.jobs.claimNext(now: Fixture.at(2), leaseUntil: Fixture.at(62)) == nil)
            let first = try #require(try await store.jobs.claimNext(now: Fixture.at(10), leaseUntil: Fixture.at(70)))
            #expect(first.id == "job-a" && first.attempts == 1 && first.payload == #"{"user":"job-a"}"#)
            #expect(try await store.jobs.claimNext(now: Fixture.at(10), leaseUntil: Fixture.at(70))?.id == "job-b")
            // Both due jobs are leased; the third is not due.
            #expect(try await store.jobs.claimNext(now: Fixture.at(10), leaseUntil: Fixture.at(70)) == nil)
            #expect(try await store.jobs.pending().map(\.id) == ["job-late", "job-b", "job-a"])
        }
    }

    @Test(arguments: StoreBackend.allCases) func expiredLeaseMakesACrashedWorkersJobDueAgain(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            try await store.jobs.enqueue(Fixture.job("job-1", runAt: 0))
            #expect(try await store.jobs.claimNext(now: Fixture.at(0), leaseUntil: Fixture.at(60))?.attempts == 1)
            // The worker dies. Before the lease expires nobody else gets the job…
            #expect(try await store.jobs.claimNext(now: Fixture.at(59), leaseUntil: Fixture.at(119)) == nil)
            // …afterwards it comes back, with the lost attempt counted.
            let again = try #require(try await store.jobs.claimNext(now: Fixture.at(60), leaseUntil: Fixture.at(120)))
            #expect(again.id == "job-1" && again.attempts == 2)
        }
    }

    @Test(arguments: StoreBackend.allCases) func completedJobsAreNeverReturned(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            try await store.jobs.enqueue(Fixture.job("job-1", runAt: 0))
            _ = try await store.jobs.claimNext(now: Fixture.at(0), leaseUntil: Fixture.at(60))
            try await store.jobs.complete(jobId: "job-1", at: Fixture.at(1))
            #expect(try await store.jobs.claimNext(now: Fixture.at(1000), leaseUntil: Fixture.at(1060)) == nil)
            #expect(try await store.jobs.pending().isEmpty)
            // A late failure report of a completed job changes nothing.
            try await store.jobs.fail(jobId: "job-1", error: "late", retryAt: Fixture.at(2))
            #expect(try await store.jobs.claimNext(now: Fixture.at(1000), leaseUntil: Fixture.at(1060)) == nil)

            await expectStorageError(.notFound(""), containing: "job-nobody") { try await store.jobs.complete(jobId: "job-nobody", at: Fixture.t0) }
            await expectStorageError(.notFound("")) { try await store.jobs.fail(jobId: "job-nobody", error: "x", retryAt: Fixture.t0) }
            await expectStorageError(.conflict("")) { try await store.jobs.enqueue(Fixture.job("job-1", runAt: 0)) }
        }
    }

    @Test(arguments: StoreBackend.allCases) func failedJobRetriesAtItsNewTimeBehindJobsDueEarlier(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            try await store.jobs.enqueue(Fixture.job("job-a", runAt: 0, createdAt: 0))
            try await store.jobs.enqueue(Fixture.job("job-b", runAt: 1, createdAt: 1))

            #expect(try await store.jobs.claimNext(now: Fixture.at(2), leaseUntil: Fixture.at(62))?.id == "job-a")
            try await store.jobs.fail(jobId: "job-a", error: "synapse unreachable", retryAt: Fixture.at(30))

            // job-a is not due until 30 s, whatever its lease said; job-b goes first.
            #expect(try await store.jobs.claimNext(now: Fixture.at(3), leaseUntil: Fixture.at(63))?.id == "job-b")
            #expect(try await store.jobs.claimNext(now: Fixture.at(29), leaseUntil: Fixture.at(89)) == nil)
            let retried = try #require(try await store.jobs.claimNext(now: Fixture.at(30), leaseUntil: Fixture.at(90)))
            #expect(retried.id == "job-a" && retried.attempts == 2 && retried.lastError == "synapse unreachable")
            #expect(retried.runAt == Fixture.at(30))

            try await store.jobs.complete(jobId: "job-a", at: Fixture.at(31))
            #expect(try await store.jobs.pending().map(\.id) == ["job-b"])
        }
    }

    /// Two instances on one database claiming at the same time: every job is leased exactly once
    /// (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the single writer on SQLite).
    @Test(arguments: StoreBackend.allCases) func instancesClaimingTogetherLeaseEachJobOnce(_ backend: StoreBackend) async throws {
        try await withStore(backend) { first, fixture in
            let second = try await fixture.open()
            let ids = (0..<24).map { "job-\($0)" }
            for (index, id) in ids.enumerated() {
                try await first.jobs.enqueue(Fixture.job(id, runAt: Double(index) / 10))
            }
            let claimed = try await withThrowingTaskGroup(of: [String].self) { group in
                for worker in 0..<6 {
                    let store = worker.isMultiple(of: 2) ? first : second
                    group.addTask {
                        var mine: [String] = []
                        while let job = try await store.jobs.claimNext(now: Fixture.at(10), leaseUntil: Fixture.at(70)) {
                            mine.append(job.id)
                        }
                        return mine
                    }
                }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            #expect(claimed.sorted() == ids.sorted(), "each job once: \(claimed.sorted())")
        }
    }
}
