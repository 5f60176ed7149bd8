import Foundation
import GatehouseCore
import GatehousePostgres
import GatehouseSQLite
import GatehouseStorage
import GatehouseTestSupport
import Testing

/// `gatehouse database copy`: a SQLite store filled through its repositories, copied into a fresh
/// PostgreSQL database and read back through the PostgreSQL repositories.
@Suite struct StoreCopyTests {
    /// A SQLite store and an empty PostgreSQL database, closed and removed afterwards.
    private static func withStores(_ body: (SQLiteStore, PostgresStore) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-copy-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let settings = try await PostgresTestServer.shared.createDatabase(migrated: true)
        let sqlite = try SQLiteStore.open(path: directory + "/gatehouse.db")
        let postgres: PostgresStore
        do {
            postgres = try await PostgresStore.open(settings)
        } catch {
            try? sqlite.close()
            await PostgresTestServer.shared.dropDatabase(settings)
            throw error
        }
        do {
            try await body(sqlite, postgres)
        } catch {
            Issue.record(error)
        }
        await postgres.close()
        try? sqlite.close()
        try? FileManager.default.removeItem(atPath: directory)
        await PostgresTestServer.shared.dropDatabase(settings)
    }

    private static func copy(_ sqlite: SQLiteStore, _ postgres: PostgresStore, batchSize: Int = 2) async throws -> StoreCopyReport {
        // A small batch so that paging, and successors pointing into later pages, are exercised.
        try await StoreCopy(source: try sqlite.copySource(), target: postgres.copyTarget, batchSize: batchSize).run()
    }

    /// Fills every table through the repositories, with the states a live deployment has: rotated
    /// refresh tokens (successor links), a finished session, a consumed login token, a fulfilled SSO
    /// login, an exchanged authorization grant, a decided device grant, completed, leased and due jobs.
    private static func populate(_ store: SQLiteStore) async throws {
        let alice = try await store.users.create(User(id: "user-alice", username: "alice", createdAt: Fixture.t0, isAdmin: true), password: nil)
        let bob = try await store.users.create(Fixture.user("bob", at: 1))
        try await store.users.setLocked(userId: bob.id, at: Fixture.at(2))
        // Two passwords created in the same millisecond: the later insertion is the current one.
        try await store.users.addPassword(PasswordRecord(id: "pw-b", userId: alice.id, version: 1, hash: "$2b$12$old", createdAt: Fixture.at(3)))
        try await store.users.addPassword(PasswordRecord(id: "pw-a", userId: alice.id, version: 2, hash: "$argon2id$new", createdAt: Fixture.at(3)))
        try await store.users.addPassword(PasswordRecord(id: "pw-bob", userId: bob.id, version: 2, hash: "$argon2id$bob", createdAt: Fixture.at(3)))
        var batch = AccountImportBatch()
        batch.emails = [UserEmail(id: "email-1", userId: alice.id, email: "alice@example.org", createdAt: Fixture.at(4))]
        try await store.accountImport.write(batch) { _ in }

        let session = Fixture.session("session-1", user: alice, device: "DEVICE1")
        let access = Fixture.accessToken("at-1", session: session)
        let refresh = Fixture.refreshToken("rt-1", session: session, accessToken: access)
        try await store.compatSessions.create(session: session, accessToken: access, refreshToken: refresh)
        for step in 2...5 {
            let newAccess = Fixture.accessToken("at-\(step)", session: session, at: Double(step))
            try await store.compatSessions.rotate(
                consumed: "rt-\(step - 1)", newAccessToken: newAccess,
                newRefreshToken: Fixture.refreshToken("rt-\(step)", session: session, accessToken: newAccess, at: Double(step)), at: Fixture.at(Double(step)))
        }
        let finished = Fixture.session("session-2", user: bob, device: "DEVICE2", at: 6)
        try await store.compatSessions.create(session: finished, accessToken: Fixture.accessToken("at-bob", session: finished, at: 6), refreshToken: nil)
        try await store.compatSessions.finish(sessionId: finished.id, at: Fixture.at(7))
        try await store.compatSessions.createLoginToken(
            CompatLoginToken(id: "login-1", userId: alice.id, tokenHash: "hash-login-1", createdAt: Fixture.at(8), expiresAt: Fixture.at(128)))
        try await store.compatSSOLogins.create(CompatSSOLogin(id: "sso-1", redirectURL: "https://app.example/", createdAt: Fixture.at(8)))
        try await store.compatSSOLogins.fulfil(
            id: "sso-1", userId: alice.id,
            loginToken: CompatLoginToken(id: "login-2", userId: alice.id, tokenHash: "hash-login-2", createdAt: Fixture.at(9), expiresAt: Fixture.at(129)),
            at: Fixture.at(9))

        _ = try await store.clients.register(OAuth2ClientRepositoryTests.client("client-1", origin: .dynamic, digest: "digest-1"))
        try await store.browserSessions.create(Fixture.browserSession("browser-1", user: alice, at: 10))
        try await store.authorizationGrants.create(Fixture.grant("grant-1", at: 11))
        try await store.authorizationGrants.fulfil(id: "grant-1", userId: alice.id, browserSessionId: "browser-1", codeHash: "code-1", at: Fixture.at(12))
        _ = try await store.authorizationGrants.redeem(codeHash: "code-1", at: Fixture.at(13))
        var oauth = Fixture.oauth2Session("oauth-1", user: alice, device: "OAUTHDEV", at: 13)
        oauth.browserSessionId = "browser-1"
        let oauthAccess = Fixture.oauth2AccessToken("oat-1", session: oauth, at: 13)
        try await store.oauth2Sessions.create(
            session: oauth, accessToken: oauthAccess, refreshToken: Fixture.oauth2RefreshToken("ort-1", session: oauth, accessToken: oauthAccess, at: 13),
            grantId: "grant-1")
        let oauthAccess2 = Fixture.oauth2AccessToken("oat-2", session: oauth, at: 14)
        try await store.oauth2Sessions.rotate(
            consumed: "ort-1", newAccessToken: oauthAccess2,
            newRefreshToken: Fixture.oauth2RefreshToken("ort-2", session: oauth, accessToken: oauthAccess2, at: 14), at: Fixture.at(14))
        try await store.oauth2Sessions.markUsed(accessTokenId: "oat-2", at: Fixture.at(15))
        try await store.deviceGrants.create(Fixture.deviceGrant("device-1", userCode: "ABCD-EFGH", at: 15))
        try await store.deviceGrants.decide(id: "device-1", approved: true, userId: alice.id, browserSessionId: "browser-1", at: Fixture.at(16))
        try await store.deviceGrants.create(Fixture.deviceGrant("device-2", userCode: "WXYZ-WXYZ", at: 16))

        try await store.jobs.enqueue(Fixture.job("job-done", runAt: 0))
        try await store.jobs.enqueue(Fixture.job("job-leased", runAt: 1))
        try await store.jobs.enqueue(Fixture.job("job-due", runAt: 100))
        _ = try await store.jobs.claimNext(now: Fixture.at(0), leaseUntil: Fixture.at(60))
        try await store.jobs.complete(jobId: "job-done", at: Fixture.at(2))
        _ = try await store.jobs.claimNext(now: Fixture.at(3), leaseUntil: Fixture.at(63))
    }

    @Test func everyRowArrivesAndTokensStillResolve() async throws {
        try await Self.withStores { sqlite, postgres in
            try await Self.populate(sqlite)
            let report = try await Self.copy(sqlite, postgres)

            #expect(report.tables.map(\.name) == StoreCopy.tables.map(\.name))
            #expect(report.tables.allSatisfy { $0.alreadyPresent == 0 && $0.copied == $0.sourceRows })
            let counts = Dictionary(uniqueKeysWithValues: report.tables.map { ($0.name, $0.copied) })
            #expect(counts["users"] == 2 && counts["user_passwords"] == 3 && counts["user_emails"] == 1)
            #expect(counts["compat_access_tokens"] == 6 && counts["compat_refresh_tokens"] == 5 && counts["compat_login_tokens"] == 2)
            #expect(counts["oauth2_access_tokens"] == 2 && counts["oauth2_refresh_tokens"] == 2 && counts["jobs"] == 3)
            #expect(report.tables.allSatisfy { $0.copied > 0 }, "every table holds a row: \(report.tables.filter { $0.copied == 0 }.map(\.name))")

            // Read back through the PostgreSQL repositories: the same models as SQLite's.
            #expect(try await postgres.users.list() == sqlite.users.list())
            for user in ["user-alice", "user-bob"] {
                #expect(try await postgres.users.currentPassword(userId: user) == sqlite.users.currentPassword(userId: user))
                #expect(try await postgres.users.emails(userId: user) == sqlite.users.emails(userId: user))
                #expect(try await postgres.compatSessions.sessions(userId: user) == sqlite.compatSessions.sessions(userId: user))
                #expect(try await postgres.oauth2Sessions.sessions(userId: user) == sqlite.oauth2Sessions.sessions(userId: user))
                #expect(try await postgres.browserSessions.activeSessions(userId: user) == sqlite.browserSessions.activeSessions(userId: user))
            }
            #expect(try await postgres.users.currentPassword(userId: "user-alice")?.id == "pw-a")
            for id in ["at-1", "at-5", "at-bob"] {
                let hash = "hash-\(id)"
                #expect(try await postgres.compatSessions.lookupAccessToken(hash: hash) == sqlite.compatSessions.lookupAccessToken(hash: hash))
            }
            #expect(try await postgres.compatSessions.lookupAccessToken(hash: "hash-at-5")?.token.revokedAt == nil)
            for step in 1...5 {
                #expect(try await postgres.compatSessions.findRefreshToken(id: "rt-\(step)") == sqlite.compatSessions.findRefreshToken(id: "rt-\(step)"))
            }
            #expect(try await postgres.compatSessions.findRefreshToken(id: "rt-1")?.nextRefreshTokenId == "rt-2")
            for id in ["oat-1", "oat-2"] {
                #expect(try await postgres.oauth2Sessions.lookupAccessToken(hash: "hash-\(id)") == sqlite.oauth2Sessions.lookupAccessToken(hash: "hash-\(id)"))
            }
            #expect(try await postgres.oauth2Sessions.lookupAccessToken(hash: "hash-oat-2")?.user?.username == "alice")
            #expect(try await postgres.oauth2Sessions.lookupRefreshToken(hash: "hash-ort-2") == sqlite.oauth2Sessions.lookupRefreshToken(hash: "hash-ort-2"))
            #expect(try await postgres.oauth2Sessions.findRefreshToken(id: "ort-1")?.nextRefreshTokenId == "ort-2")
            #expect(try await postgres.clients.list() == sqlite.clients.list())
            #expect(try await postgres.browserSessions.find(id: "browser-1")?.0 == sqlite.browserSessions.find(id: "browser-1")?.0)
            #expect(try await postgres.authorizationGrants.find(id: "grant-1") == sqlite.authorizationGrants.find(id: "grant-1"))
            #expect(try await postgres.deviceGrants.find(id: "device-1") == sqlite.deviceGrants.find(id: "device-1"))
            #expect(try await postgres.deviceGrants.findPending(userCode: "WXYZ-WXYZ")?.id == "device-2")
            #expect(try await postgres.compatSSOLogins.find(id: "sso-1") == sqlite.compatSSOLogins.find(id: "sso-1"))
            #expect(try await postgres.jobs.pending() == sqlite.jobs.pending())
            // The leased job keeps its lease (until 63 s), then is taken over; the completed one never runs again.
            #expect(try await postgres.jobs.claimNext(now: Fixture.at(62), leaseUntil: Fixture.at(160)) == nil)
            #expect(try await postgres.jobs.claimNext(now: Fixture.at(64), leaseUntil: Fixture.at(160))?.id == "job-leased")
            #expect(try await postgres.jobs.claimNext(now: Fixture.at(100), leaseUntil: Fixture.at(160))?.id == "job-due")
            #expect(try await postgres.jobs.claimNext(now: Fixture.at(200), leaseUntil: Fixture.at(260))?.id == "job-leased")
            // A login token copied unconsumed is consumed once, on PostgreSQL.
            #expect(try await postgres.compatSessions.consumeLoginToken(hash: "hash-login-1", at: Fixture.at(10))?.1.username == "alice")
        }
    }

    @Test func aSecondCopyFindsNothingNewAndChangesNothing() async throws {
        try await Self.withStores { sqlite, postgres in
            try await Self.populate(sqlite)
            let first = try await Self.copy(sqlite, postgres, batchSize: 500)
            #expect(first.copiedAnything)
            let revision = try await postgres.changeCounter()

            let second = try await Self.copy(sqlite, postgres, batchSize: 3)
            #expect(!second.copiedAnything)
            #expect(second.tables.map(\.alreadyPresent) == first.tables.map(\.copied))
            #expect(second.tables.allSatisfy { $0.copied == 0 })
            #expect(try await postgres.changeCounter() == revision)

            // Rows added to the source since are copied by a third run; the rest stays.
            _ = try await sqlite.users.create(Fixture.user("carol", at: 30))
            let third = try await Self.copy(sqlite, postgres)
            let users = try #require(third.tables.first { $0.name == "users" })
            #expect((users.sourceRows, users.copied, users.alreadyPresent) == (3, 1, 2))
            #expect(third.tables.filter { $0.name != "users" }.allSatisfy { $0.copied == 0 })
            #expect(try await postgres.users.find(username: "carol") != nil)
        }
    }

    @Test func aTargetChangedAfterTheCopyIsRefusedAndLeftAsItWas() async throws {
        try await Self.withStores { sqlite, postgres in
            try await Self.populate(sqlite)
            _ = try await Self.copy(sqlite, postgres)
            // The PostgreSQL deployment ends a session; the SQLite file gains a user meanwhile.
            try await postgres.compatSessions.finish(sessionId: "session-1", at: Fixture.at(40))
            _ = try await sqlite.users.create(Fixture.user("carol", at: 30))

            await #expect {
                _ = try await Self.copy(sqlite, postgres)
            } throws: { error in
                guard let error = error as? StoreCopyError else { return false }
                return error.isConflict && error.message.contains("compat_sessions") && error.message.contains("session-1")
                    && error.message.contains("finished_at")
            }
            // One transaction: the user copied before the conflict was found is gone with it.
            #expect(try await postgres.users.find(username: "carol") == nil)
        }
    }

    @Test func aTargetHoldingOtherRowsIsRefused() async throws {
        try await Self.withStores { sqlite, postgres in
            try await Self.populate(sqlite)
            _ = try await postgres.users.create(Fixture.user("zed"))
            await #expect {
                _ = try await Self.copy(sqlite, postgres)
            } throws: { error in
                (error as? StoreCopyError).map { $0.isConflict && $0.message.contains("users: the target has 1 row") } ?? false
            }
            // A different user under a copied name clashes on the unique username.
            _ = try await postgres.users.create(User(id: "user-other", username: "alice", createdAt: Fixture.t0))
            await #expect {
                _ = try await Self.copy(sqlite, postgres)
            } throws: { error in
                (error as? StoreCopyError).map { $0.isConflict && $0.message.contains("users") && $0.message.contains("username") } ?? false
            }
            #expect(try await postgres.users.list().map(\.username).sorted() == ["alice", "zed"])
            #expect(try await postgres.compatSessions.lookupAccessToken(hash: "hash-at-5") == nil)
        }
    }
}
