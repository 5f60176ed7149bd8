import GatehouseCore
import GatehouseHomeserver
import GatehouseTesting
import MetricsTestKit
import Testing

/// The job runner's metrics: failed attempts by kind and reason, and the queue depth it saw.
struct JobRunnerMetricsTests {
    @Test func failedAttemptsAndTheQueueDepthAreRecorded() async throws {
        let metrics = TestMetrics()
        try await withSynapse(secret: sharedSecret) { fake, client async throws in
            let repository = MemoryJobRepository()
            let clock = ManualClock()
            let runner = JobRunner(repository: repository, client: client, clock: clock, logger: quietLogger, metrics: metrics)
            let queue = JobQueue(repository: repository, runner: runner)
            // The user is not provisioned: Synapse answers 404, the attempt fails and the job stays.
            try await queue.enqueue(.syncDevices(.init(localpart: "ghost", devices: ["D1"])), clock: clock, random: CountingRandom())
            #expect(await runner.runPending(now: clock.now()) == (0, 1))
            let failures = try metrics.expectCounter("gatehouse_jobs_failed_total", [("kind", "sync_devices"), ("reason", "not_found")])
            #expect(failures.totalValue == 1)
            #expect(try metrics.expectGauge("gatehouse_jobs_pending").lastValue == 1)

            fake.addUser(.init(localpart: "ghost"))
            clock.advance(by: 60)
            #expect(await runner.runPending(now: clock.now()) == (1, 0))
            #expect(failures.totalValue == 1)
            _ = await runner.runPending(now: clock.now())
            #expect(try metrics.expectGauge("gatehouse_jobs_pending").lastValue == 0)
        }
    }
}
