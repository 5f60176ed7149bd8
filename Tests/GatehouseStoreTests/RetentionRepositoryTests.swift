import Foundation
import GatehouseStorage
import GatehouseTestSupport
import Testing

/// A hung store call fails its test instead of the whole run.
@Suite(.storeTimeLimit)
struct RetentionRepositoryTests {
    private let hour: Double = 3600
    private let day: Double = 86_400

    /// alice's OAuth 2.0 session on `device`, refreshed `rotations` times one minute apart from `start`.
    /// Returns the session and every refresh token in order (the last one live).
    private func refreshedSession(
        _ store: any IdentityStore, device: String = "DEVICE1", rotations: Int, start: Double = 0
    ) async throws -> (OAuth2Session, [OAuth2RefreshToken], [OAuth2AccessToken]) {
        let alice: User
        if let existing = try await store.users.find(username: "alice") {
            alice = existing
        } else {
            alice = try await store.users.create(Fixture.user("alice"))
        }
        let session = Fixture.oauth2Session("session-\(device)", user: alice, device: device, at: start)
        var access = [Fixture.oauth2AccessToken("at-\(device)-0", session: session, at: start)]
        var refresh = [Fixture.oauth2RefreshToken("rt-\(device)-0", session: session, accessToken: access[0], at: start)]
        try await store.oauth2Sessions.create(session: session, accessToken: access[0], refreshToken: refresh[0], grantId: nil)
        for index in stride(from: 1, through: rotations, by: 1) {
            let at = start + Double(index) * 60
            let newAccess = Fixture.oauth2AccessToken("at-\(device)-\(index)", session: session, at: at)
            let newRefresh = Fixture.oauth2RefreshToken("rt-\(device)-\(index)", session: session, accessToken: newAccess, at: at)
            try await store.oauth2Sessions.rotate(
                consumed: refresh[index - 1].id, newAccessToken: newAccess, newRefreshToken: newRefresh, at: Fixture.at(at))
            access.append(newAccess)
            refresh.append(newRefresh)
        }
        return (session, refresh, access)
    }

    private func clean(_ store: any IdentityStore, at seconds: Double, batchSize: Int = 500) async throws -> CleanupReport {
        try await store.retention.deleteExpired(policy: .standard, now: Fixture.at(seconds), batchSize: batchSize)
    }

    @Test(arguments: StoreBackend.allCases) func consumedRefreshTokensGoAfterADayAndTheLiveChainKeepsWorking(_ backend: StoreBackend) async throws {
        for batchSize in [1, 2, 500] {
            try await withStore(backend) { store, _ in
                let (session, refresh, access) = try await refreshedSession(store, rotations: 3)
                // Within a day of their use, consumed tokens are kept: a replay must still end the session.
                var report = try await clean(store, at: 20 * hour, batchSize: batchSize)
                #expect(report.rows(in: "oauth2_refresh_tokens") == 0)
                #expect(report.rows(in: "oauth2_access_tokens") == 0, "revoked access tokens are still referred to by kept refresh tokens")
                #expect(try await store.oauth2Sessions.findRefreshToken(id: refresh[0].id)?.nextRefreshTokenId == refresh[1].id)

                report = try await clean(store, at: 2 * day, batchSize: batchSize)
                #expect(report.rows(in: "oauth2_refresh_tokens") == 3, "batch size \(batchSize)")
                #expect(report.rows(in: "oauth2_access_tokens") == 3, "their revoked access tokens go with them")
                for old in refresh.dropLast() {
                    #expect(try await store.oauth2Sessions.lookupRefreshToken(hash: old.tokenHash) == nil)
                }
                #expect(try await store.oauth2Sessions.lookupRefreshToken(hash: refresh[3].tokenHash)?.session == session)
                #expect(try await store.oauth2Sessions.findAccessToken(id: access[3].id) != nil)
                #expect(try await store.oauth2Sessions.find(sessionId: session.id) == session)

                // The live refresh token still rotates, and a second pass finds nothing more.
                let next = Fixture.oauth2AccessToken("at-next", session: session, at: 2 * day)
                try await store.oauth2Sessions.rotate(
                    consumed: refresh[3].id, newAccessToken: next,
                    newRefreshToken: Fixture.oauth2RefreshToken("rt-next", session: session, accessToken: next, at: 2 * day),
                    at: Fixture.at(2 * day))
                #expect(try await clean(store, at: 2 * day + 60, batchSize: batchSize).total == 0)
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func expiredAccessTokensOfALiveRefreshTokenAreKept(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let (_, refresh, access) = try await refreshedSession(store, rotations: 0)
            // Expired for 40 days, but the live refresh token refers to it.
            let report = try await clean(store, at: 40 * day)
            #expect(report.total == 0)
            #expect(try await store.oauth2Sessions.findAccessToken(id: access[0].id) != nil)
            #expect(try await store.oauth2Sessions.findRefreshToken(id: refresh[0].id) != nil)
        }
    }

    @Test(arguments: StoreBackend.allCases) func finishedSessionsGoAfterThirtyDaysWithEveryToken(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let (old, oldRefresh, _) = try await refreshedSession(store, device: "OLD", rotations: 2)
            let (recent, _, _) = try await refreshedSession(store, device: "RECENT", rotations: 1)
            let (live, liveRefresh, _) = try await refreshedSession(store, device: "LIVE", rotations: 0)
            #expect(try await store.oauth2Sessions.finish(sessionId: old.id, at: Fixture.at(hour)))
            #expect(try await store.oauth2Sessions.finish(sessionId: recent.id, at: Fixture.at(25 * day)))

            let report = try await clean(store, at: 31 * day)
            #expect(report.rows(in: "oauth2_sessions") == 1)
            #expect(try await store.oauth2Sessions.find(sessionId: old.id) == nil)
            #expect(try await store.oauth2Sessions.lookupRefreshToken(hash: oldRefresh[2].tokenHash) == nil)
            #expect(try await store.oauth2Sessions.find(sessionId: recent.id) != nil, "finished 6 days ago: kept")
            #expect(try await store.oauth2Sessions.find(sessionId: live.id) == live)
            #expect(try await store.oauth2Sessions.lookupRefreshToken(hash: liveRefresh[0].tokenHash) != nil)
        }
    }

    @Test(arguments: StoreBackend.allCases) func compatSessionsAndTheirTokens(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await store.users.create(Fixture.user("alice"))
            let finished = Fixture.session("compat-old", user: alice, device: "OLD")
            let finishedAccess = Fixture.accessToken("cat-old", session: finished)
            try await store.compatSessions.create(
                session: finished, accessToken: finishedAccess,
                refreshToken: Fixture.refreshToken("crt-old", session: finished, accessToken: finishedAccess))
            try await store.compatSessions.finish(sessionId: finished.id, at: Fixture.at(hour))

            let live = Fixture.session("compat-live", user: alice, device: "LIVE")
            let first = Fixture.accessToken("cat-1", session: live)
            let firstRefresh = Fixture.refreshToken("crt-1", session: live, accessToken: first)
            try await store.compatSessions.create(session: live, accessToken: first, refreshToken: firstRefresh)
            let second = Fixture.accessToken("cat-2", session: live, at: 60)
            let secondRefresh = Fixture.refreshToken("crt-2", session: live, accessToken: second, at: 60)
            try await store.compatSessions.rotate(consumed: firstRefresh.id, newAccessToken: second, newRefreshToken: secondRefresh, at: Fixture.at(60))

            let report = try await clean(store, at: 31 * day)
            #expect(report.rows(in: "compat_sessions") == 1)
            #expect(report.rows(in: "compat_refresh_tokens") == 2, "the finished session's and the consumed one")
            #expect(report.rows(in: "compat_access_tokens") == 2)
            #expect(try await store.compatSessions.lookupAccessToken(hash: finishedAccess.tokenHash) == nil)
            #expect(try await store.compatSessions.lookupRefreshToken(hash: secondRefresh.tokenHash) != nil)
            #expect(try await store.compatSessions.lookupAccessToken(hash: second.tokenHash) != nil, "referred to by the live refresh token")
        }
    }

    @Test(arguments: StoreBackend.allCases) func grantsLoginsAndBrowserSessions(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await store.users.create(Fixture.user("alice"))
            let browser = Fixture.browserSession("browser-1", user: alice)
            try await store.browserSessions.create(browser)
            try await store.authorizationGrants.create(Fixture.grant("grant-old"))
            try await store.authorizationGrants.create(Fixture.grant("grant-new", at: 6 * day))
            try await store.authorizationGrants.fulfil(
                id: "grant-old", userId: alice.id, browserSessionId: browser.id, codeHash: "code-old", at: Fixture.at(10))
            try await store.deviceGrants.create(Fixture.deviceGrant("device-old", userCode: "BCDFGHJK"))
            try await store.compatSSOLogins.create(
                CompatSSOLogin(id: "sso-old", redirectURL: "https://app.example/", createdAt: Fixture.at(0)))
            // The browser session finished long ago, but a kept OAuth 2.0 session came from it.
            let session = OAuth2Session(
                id: "session-b", clientId: "client-1", userId: alice.id, scope: "", deviceId: "B", browserSessionId: browser.id,
                createdAt: Fixture.at(0))
            try await store.oauth2Sessions.create(
                session: session, accessToken: Fixture.oauth2AccessToken("at-b", session: session), refreshToken: nil, grantId: nil)
            #expect(try await store.browserSessions.finish(id: browser.id, at: Fixture.at(hour)))

            var report = try await clean(store, at: 8 * day)
            #expect(report.rows(in: "oauth2_authorization_grants") == 1)
            #expect(report.rows(in: "oauth2_device_code_grants") == 1)
            #expect(report.rows(in: "compat_sso_logins") == 1)
            #expect(try await store.authorizationGrants.find(id: "grant-old") == nil)
            #expect(try await store.authorizationGrants.find(id: "grant-new") != nil)
            #expect(try await store.compatSSOLogins.find(id: "sso-old") == nil)

            report = try await clean(store, at: 40 * day)
            #expect(report.rows(in: "browser_sessions") == 0, "a live session still names it")
            #expect(try await store.oauth2Sessions.finish(sessionId: session.id, at: Fixture.at(40 * day)))
            report = try await clean(store, at: 71 * day)
            #expect(report.rows(in: "oauth2_sessions") == 1)
            #expect(report.rows(in: "browser_sessions") == 1, "deleted once nothing names it")
        }
    }

    @Test(arguments: StoreBackend.allCases) func onlyCompletedJobsAreDeleted(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            try await store.jobs.enqueue(Fixture.job("job-done", runAt: 0))
            try await store.jobs.enqueue(Fixture.job("job-pending", runAt: 0))
            try await store.jobs.complete(jobId: "job-done", at: Fixture.at(60))
            let report = try await clean(store, at: 31 * day)
            #expect(report.rows(in: "jobs") == 1)
            #expect(try await store.jobs.pending().map(\.id) == ["job-pending"], "a job not done is never deleted")
        }
    }

    @Test(arguments: StoreBackend.allCases) func cleanupDoesNotMoveTheStoreRevision(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let (session, _, _) = try await refreshedSession(store, rotations: 2)
            #expect(try await store.oauth2Sessions.finish(sessionId: session.id, at: Fixture.at(hour)))
            let before = try await store.changeCounter()
            #expect(try await clean(store, at: 40 * day).total > 0)
            #expect(try await store.changeCounter() == before)
        }
    }
}
