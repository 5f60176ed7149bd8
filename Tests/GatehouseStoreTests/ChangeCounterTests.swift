import GatehouseStorage
import GatehouseTestSupport
import Testing

/// A hung store call fails its test instead of the whole run.
@Suite(.storeTimeLimit)
struct ChangeCounterTests {
    @Test(arguments: StoreBackend.allCases) func everyMutationIncrementsTheCounterAndAnotherProcessSeesIt(_ backend: StoreBackend) async throws {
        try await withStore(backend) { server, fixture in
            // The CLI process (or another instance): a second store on the same database.
            let cli = try await fixture.open()

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

            // The OAuth 2.0 provider: every state change a cache or a grant decision depends on.
            try await cli.browserSessions.create(Fixture.browserSession("browser-1", user: alice))
            try await expectIncrement("create browser session")
            try await cli.browserSessions.reauthenticate(id: "browser-1", at: Fixture.at(40))
            try await expectIncrement("reauthenticate")
            try await server.authorizationGrants.create(Fixture.grant("grant-1"))
            try await expectIncrement("create grant")
            try await server.authorizationGrants.fulfil(id: "grant-1", userId: alice.id, browserSessionId: "browser-1", codeHash: "code-1", at: Fixture.at(41))
            try await expectIncrement("fulfil grant")
            _ = try await server.authorizationGrants.redeem(codeHash: "code-1", at: Fixture.at(42))
            try await expectIncrement("redeem")
            try await server.authorizationGrants.release(id: "grant-1", redeemedAt: Fixture.at(42))
            try await expectIncrement("release")
            _ = try await server.authorizationGrants.redeem(codeHash: "code-1", at: Fixture.at(43))
            let oauth = Fixture.oauth2Session("oauth-1", user: alice, device: "OAUTHDEV")
            let oauthAccess = Fixture.oauth2AccessToken("oat-1", session: oauth)
            let oauthRefresh = Fixture.oauth2RefreshToken("ort-1", session: oauth, accessToken: oauthAccess)
            try await server.oauth2Sessions.create(session: oauth, accessToken: oauthAccess, refreshToken: oauthRefresh, grantId: "grant-1")
            last = try await server.changeCounter()
            _ = try await server.authorizationGrants.redeem(codeHash: "code-1", at: Fixture.at(44))
            try await expectIncrement("replay marks the grant")
            let oauthAccess2 = Fixture.oauth2AccessToken("oat-2", session: oauth, at: 45)
            let oauthRefresh2 = Fixture.oauth2RefreshToken("ort-2", session: oauth, accessToken: oauthAccess2, at: 45)
            try await server.oauth2Sessions.rotate(consumed: "ort-1", newAccessToken: oauthAccess2, newRefreshToken: oauthRefresh2, at: Fixture.at(45))
            try await expectIncrement("oauth2 rotate")
            let oauthAccess3 = Fixture.oauth2AccessToken("oat-3", session: oauth, at: 46)
            let oauthRefresh3 = Fixture.oauth2RefreshToken("ort-3", session: oauth, accessToken: oauthAccess3, at: 46)
            try await server.oauth2Sessions.reissue(
                replayed: "ort-1", successor: "ort-2", newAccessToken: oauthAccess3, newRefreshToken: oauthRefresh3, at: Fixture.at(46))
            try await expectIncrement("oauth2 reissue")
            #expect(try await cli.oauth2Sessions.finish(sessionId: oauth.id, at: Fixture.at(47)))
            try await expectIncrement("oauth2 finish")
            _ = try await cli.oauth2Sessions.finishAll(userId: alice.id, at: Fixture.at(48))
            try await expectIncrement("oauth2 finishAll")
            #expect(try await cli.browserSessions.finish(id: "browser-1", at: Fixture.at(49)))
            try await expectIncrement("browser session finish")
            try await cli.browserSessions.finishAll(userId: alice.id, at: Fixture.at(49))
            try await expectIncrement("browser session finishAll")
            try await server.deviceGrants.create(Fixture.deviceGrant("device-1", userCode: "ABCD-EFGH", at: 50))
            try await expectIncrement("create device grant")
            try await server.deviceGrants.decide(id: "device-1", approved: true, userId: alice.id, browserSessionId: "browser-1", at: Fixture.at(51))
            try await expectIncrement("decide device grant")
            try await server.deviceGrants.exchange(id: "device-1", at: Fixture.at(52))
            try await expectIncrement("exchange device grant")
            try await server.deviceGrants.release(id: "device-1", exchangedAt: Fixture.at(52))
            try await expectIncrement("release device grant")
            try await server.compatSSOLogins.create(CompatSSOLogin(id: "sso-1", redirectURL: "https://app.example/", createdAt: Fixture.at(53)))
            try await expectIncrement("create SSO login")
            try await server.compatSSOLogins.fulfil(
                id: "sso-1", userId: alice.id,
                loginToken: CompatLoginToken(id: "lt-1", userId: alice.id, tokenHash: "hash-lt-1", createdAt: Fixture.at(54), expiresAt: Fixture.at(84)),
                at: Fixture.at(54))
            try await expectIncrement("fulfil SSO login")

            // Reads, failed writes, idle polling and activity timestamps leave it alone.
            _ = try await server.users.list()
            _ = try await server.compatSessions.lookupAccessToken(hash: "hash-at-2")
            _ = try await server.jobs.claimNext(now: Fixture.at(100), leaseUntil: Fixture.at(160))
            await #expect(throws: StorageError.self) { _ = try await cli.users.create(Fixture.user("alice")) }
            try await server.compatSessions.touch(sessionId: session.id, at: Fixture.at(30))
            try await server.oauth2Sessions.touch(sessionId: oauth.id, at: Fixture.at(60))
            try await server.oauth2Sessions.markUsed(accessTokenId: "oat-3", at: Fixture.at(60))
            _ = try await server.deviceGrants.poll(deviceCodeHash: "hash-device-1", at: Fixture.at(60))
            _ = try await server.oauth2Sessions.lookupAccessToken(hash: "hash-oat-3")
            #expect(try await server.changeCounter() == last)
            #expect(try await cli.changeCounter() == last)
        }
    }

    /// The synchronous probe of one store (instance) sees a revocation committed through another:
    /// on SQLite by reading the file, on PostgreSQL through the notification the commit sends.
    @Test(arguments: StoreBackend.allCases) func anotherInstancesRevocationReachesTheProbe(_ backend: StoreBackend) async throws {
        try await withStore(backend) { server, fixture in
            let other = try await fixture.open()
            let alice = try await other.users.create(Fixture.user("alice"))
            let created = try await other.changeCounter()
            let probe = try server.makeRevisionProbe()
            #expect(await Self.waitFor(created, on: probe), "the probe never saw the first revision")

            try await other.users.setLocked(userId: alice.id, at: Fixture.at(1))
            let locked = try await other.changeCounter()
            #expect(locked > created)
            #expect(await Self.waitFor(locked, on: probe), "the probe never saw revision \(locked)")
        }
    }

    /// Polls the probe until it reads `revision`, for at most ten seconds (no assertion on how fast).
    private static func waitFor(_ revision: Int, on probe: any RevisionProbe) async -> Bool {
        for _ in 0..<2000 {
            if probe.currentRevision() == revision { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return probe.currentRevision() == revision
    }
}
