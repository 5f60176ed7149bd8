import GatehouseSQLite
import GatehouseStorage
import Testing

struct ChangeCounterTests {
    @Test func everyMutationIncrementsTheCounterAndAnotherProcessSeesIt() async throws {
        try await withStore { server, directory in
            // The CLI process: a second store on the same file.
            let cli = try SQLiteStore.open(path: directory.file())
            defer { try? cli.close() }

            var last = try await server.changeCounter()
            func expectIncrement(_ what: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
                let now = try await server.changeCounter()
                #expect(now > last, "\(what) did not move the counter", sourceLocation: sourceLocation)
                #expect(try await cli.changeCounter() == now, sourceLocation: sourceLocation)
                last = now
            }

            let alice = try await cli.users.create(Fixture.user("alice"))
            try await expectIncrement("create user")
            try await cli.users.setLocked(userId: alice.id, at: Fixture.at(1))
            try await expectIncrement("lock")
            #expect(try await server.users.find(id: alice.id)?.lockedAt == Fixture.at(1))
            try await cli.users.setDeactivated(userId: alice.id, at: Fixture.at(2))
            try await expectIncrement("deactivate")
            try await cli.users.setAdmin(userId: alice.id, true)
            try await expectIncrement("admin")
            try await cli.users.addPassword(PasswordRecord(id: "pw-1", userId: alice.id, version: 1, hash: "$argon2id$x", createdAt: Fixture.t0))
            try await expectIncrement("password")

            let session = Fixture.session("session-1", user: alice, device: "DEVICE1")
            let access = Fixture.accessToken("at-1", session: session)
            let refresh = Fixture.refreshToken("rt-1", session: session, accessToken: access)
            try await server.compatSessions.create(session: session, accessToken: access, refreshToken: refresh)
            try await expectIncrement("create session")
            let newAccess = Fixture.accessToken("at-2", session: session, at: 10)
            try await server.compatSessions.rotate(
                consumed: "rt-1", newAccessToken: newAccess,
                newRefreshToken: Fixture.refreshToken("rt-2", session: session, accessToken: newAccess, at: 10), at: Fixture.at(10))
            try await expectIncrement("rotate")
            try await cli.compatSessions.finish(sessionId: session.id, at: Fixture.at(20))
            try await expectIncrement("finish")
            _ = try await cli.compatSessions.finishAll(userId: alice.id, at: Fixture.at(21))
            try await expectIncrement("finishAll")

            try await server.jobs.enqueue(Fixture.job("job-1", runAt: 0))
            try await expectIncrement("enqueue")
            _ = try await server.jobs.claimNext(now: Fixture.at(0), leaseUntil: Fixture.at(60))
            try await expectIncrement("claim")
            try await server.jobs.fail(jobId: "job-1", error: "down", retryAt: Fixture.at(5))
            try await expectIncrement("fail")
            try await server.jobs.complete(jobId: "job-1", at: Fixture.at(6))
            try await expectIncrement("complete")

            // Reads, failed writes, idle polling and activity timestamps leave it alone.
            _ = try await server.users.list()
            _ = try await server.compatSessions.lookupAccessToken(hash: "hash-at-2")
            _ = try await server.jobs.claimNext(now: Fixture.at(100), leaseUntil: Fixture.at(160))
            await #expect(throws: StorageError.self) { _ = try await cli.users.create(Fixture.user("alice")) }
            try await server.compatSessions.touch(sessionId: session.id, at: Fixture.at(30))
            #expect(try await server.changeCounter() == last)
            #expect(try await cli.changeCounter() == last)
        }
    }
}
