import Foundation
import GatehouseStorage
import GatehouseTestSupport
import Testing

/// A hung store call fails its test instead of the whole run.
@Suite(.storeTimeLimit)
struct GrantRepositoriesTests {
    /// alice with a browser session `browser-1`.
    private func seedUser(_ store: any IdentityStore) async throws -> User {
        let alice = try await store.users.create(Fixture.user("alice"))
        try await store.browserSessions.create(Fixture.browserSession("browser-1", user: alice))
        return alice
    }

    private func session(for grantId: String, user: User, id: String = "oauth-1") -> (OAuth2Session, OAuth2AccessToken) {
        let session = Fixture.oauth2Session(id, user: user, device: "DEV\(id)", at: 5)
        return (session, Fixture.oauth2AccessToken("at-\(id)", session: session, at: 5))
    }

    // MARK: - Browser sessions

    @Test(arguments: StoreBackend.allCases) func browserSessionLifecycle(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await seedUser(store)
            let found = try #require(try await store.browserSessions.find(id: "browser-1"))
            #expect(found.0 == Fixture.browserSession("browser-1", user: alice))
            #expect(found.1 == alice)
            #expect(try await store.browserSessions.find(id: "nope") == nil)

            try await store.browserSessions.reauthenticate(id: "browser-1", at: Fixture.at(30))
            #expect(try await store.browserSessions.find(id: "browser-1")?.0.authenticatedAt == Fixture.at(30))

            #expect(try await store.browserSessions.finish(id: "browser-1", at: Fixture.at(40)))
            #expect(try await store.browserSessions.finish(id: "browser-1", at: Fixture.at(50)) == false, "already finished")
            #expect(try await store.browserSessions.find(id: "browser-1")?.0.finishedAt == Fixture.at(40))
            await expectStorageError(.notFound(""), containing: "browser-1") {
                try await store.browserSessions.reauthenticate(id: "browser-1", at: Fixture.at(60))
            }
            await expectStorageError(.notFound("")) {
                try await store.browserSessions.create(Fixture.browserSession("browser-x", user: Fixture.user("ghost")))
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func browserSessionFinishAllTouchesOnlyThatUsersUnfinishedSessions(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await seedUser(store)
            try await store.browserSessions.create(Fixture.browserSession("browser-2", user: alice, at: 1))
            _ = try await store.browserSessions.finish(id: "browser-2", at: Fixture.at(2))
            let bob = try await store.users.create(Fixture.user("bob"))
            try await store.browserSessions.create(Fixture.browserSession("browser-bob", user: bob))

            try await store.browserSessions.finishAll(userId: alice.id, at: Fixture.at(10))
            #expect(try await store.browserSessions.find(id: "browser-1")?.0.finishedAt == Fixture.at(10))
            #expect(try await store.browserSessions.find(id: "browser-2")?.0.finishedAt == Fixture.at(2), "kept its own finish time")
            #expect(try await store.browserSessions.find(id: "browser-bob")?.0.finishedAt == nil)
        }
    }

    // MARK: - Authorization grants

    @Test(arguments: StoreBackend.allCases) func grantIsFulfilledOnceAndItsCodeRedeemedOnce(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await seedUser(store)
            try await store.authorizationGrants.create(Fixture.grant("grant-1"))
            #expect(try await store.authorizationGrants.redeem(codeHash: "code-1", at: Fixture.at(1)) == .unknown, "no code before consent")

            try await store.authorizationGrants.fulfil(id: "grant-1", userId: alice.id, browserSessionId: "browser-1", codeHash: "code-1", at: Fixture.at(2))
            await expectStorageError(.conflict(""), containing: "not pending") {
                try await store.authorizationGrants.fulfil(id: "grant-1", userId: alice.id, browserSessionId: "browser-1", codeHash: "code-2", at: Fixture.at(3))
            }
            await expectStorageError(.conflict("")) { try await store.authorizationGrants.cancel(id: "grant-1", at: Fixture.at(3)) }

            guard case .redeemed(let redeemed) = try await store.authorizationGrants.redeem(codeHash: "code-1", at: Fixture.at(4)) else {
                Issue.record("first redemption must succeed")
                return
            }
            #expect(redeemed.exchangedAt == Fixture.at(4))
            #expect(redeemed.userId == alice.id && redeemed.browserSessionId == "browser-1" && redeemed.fulfilledAt == Fixture.at(2))

            let (session, access) = session(for: "grant-1", user: alice)
            try await store.oauth2Sessions.create(session: session, accessToken: access, refreshToken: nil, grantId: "grant-1")
            #expect(try await store.authorizationGrants.find(id: "grant-1")?.sessionId == session.id)

            guard case .replayed(let replayed) = try await store.authorizationGrants.redeem(codeHash: "code-1", at: Fixture.at(5)) else {
                Issue.record("second redemption must be a replay")
                return
            }
            #expect(replayed.sessionId == session.id, "the replay names the session to end")
            #expect(replayed.exchangedAt == Fixture.at(4))
            #expect(try await store.authorizationGrants.redeem(codeHash: "code-unknown", at: Fixture.at(5)) == .unknown)
        }
    }

    @Test(arguments: StoreBackend.allCases) func cancelledGrantCannotBeFulfilled(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await seedUser(store)
            try await store.authorizationGrants.create(Fixture.grant("grant-1"))
            try await store.authorizationGrants.cancel(id: "grant-1", at: Fixture.at(1))
            #expect(try await store.authorizationGrants.find(id: "grant-1")?.cancelledAt == Fixture.at(1))
            await expectStorageError(.conflict("")) {
                try await store.authorizationGrants.fulfil(id: "grant-1", userId: alice.id, browserSessionId: "browser-1", codeHash: "c", at: Fixture.at(2))
            }
            await expectStorageError(.conflict("")) { try await store.authorizationGrants.cancel(id: "grant-missing", at: Fixture.at(2)) }
            await expectStorageError(.conflict(""), containing: "already exists") { try await store.authorizationGrants.create(Fixture.grant("grant-1")) }
        }
    }

    @Test(arguments: StoreBackend.allCases) func releaseUndoesOnlyThatRedemptionBeforeAnySession(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await seedUser(store)
            try await store.authorizationGrants.create(Fixture.grant("grant-1"))
            try await store.authorizationGrants.fulfil(id: "grant-1", userId: alice.id, browserSessionId: "browser-1", codeHash: "code-1", at: Fixture.at(1))
            _ = try await store.authorizationGrants.redeem(codeHash: "code-1", at: Fixture.at(2))

            try await store.authorizationGrants.release(id: "grant-1", redeemedAt: Fixture.at(9))
            #expect(try await store.authorizationGrants.find(id: "grant-1")?.exchangedAt == Fixture.at(2), "another time releases nothing")
            try await store.authorizationGrants.release(id: "grant-1", redeemedAt: Fixture.at(2))
            #expect(try await store.authorizationGrants.find(id: "grant-1")?.exchangedAt == nil)

            // The retry redeems again; once a session is attached, release changes nothing.
            guard case .redeemed = try await store.authorizationGrants.redeem(codeHash: "code-1", at: Fixture.at(3)) else {
                Issue.record("released code must be redeemable")
                return
            }
            let (session, access) = session(for: "grant-1", user: alice)
            try await store.oauth2Sessions.create(session: session, accessToken: access, refreshToken: nil, grantId: "grant-1")
            try await store.authorizationGrants.release(id: "grant-1", redeemedAt: Fixture.at(3))
            #expect(try await store.authorizationGrants.find(id: "grant-1")?.exchangedAt == Fixture.at(3))
        }
    }

    @Test(arguments: StoreBackend.allCases) func replayDuringTheFirstExchangeKeepsItsSessionFromAttaching(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await seedUser(store)
            try await store.authorizationGrants.create(Fixture.grant("grant-1"))
            try await store.authorizationGrants.fulfil(id: "grant-1", userId: alice.id, browserSessionId: "browser-1", codeHash: "code-1", at: Fixture.at(1))
            _ = try await store.authorizationGrants.redeem(codeHash: "code-1", at: Fixture.at(2))
            guard case .replayed(let replayed) = try await store.authorizationGrants.redeem(codeHash: "code-1", at: Fixture.at(3)) else {
                Issue.record("expected a replay")
                return
            }
            #expect(replayed.sessionId == nil && replayed.cancelledAt == Fixture.at(3))

            // The first exchange, still talking to Synapse, can neither attach its session nor release the code.
            let (session, access) = session(for: "grant-1", user: alice)
            await expectStorageError(.conflict(""), containing: "replayed") {
                try await store.oauth2Sessions.create(session: session, accessToken: access, refreshToken: nil, grantId: "grant-1")
            }
            #expect(try await store.oauth2Sessions.find(sessionId: session.id) == nil, "rolled back")
            try await store.authorizationGrants.release(id: "grant-1", redeemedAt: Fixture.at(2))
            guard case .replayed = try await store.authorizationGrants.redeem(codeHash: "code-1", at: Fixture.at(4)) else {
                Issue.record("a replayed code stays burnt")
                return
            }
        }
    }

    // MARK: - Device code grants

    @Test(arguments: StoreBackend.allCases) func deviceGrantDecideExchangeAndConflicts(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await seedUser(store)
            try await store.deviceGrants.create(Fixture.deviceGrant("device-1", userCode: "BCDF-GHJK"))
            #expect(try await store.deviceGrants.findPending(userCode: "BCDF-GHJK")?.id == "device-1")
            #expect(try await store.deviceGrants.findPending(userCode: "bcdf-ghjk") == nil, "exact match; the caller normalises")
            await expectStorageError(.conflict("")) { try await store.deviceGrants.exchange(id: "device-1", at: Fixture.at(1)) }

            try await store.deviceGrants.decide(id: "device-1", approved: true, userId: alice.id, browserSessionId: "browser-1", at: Fixture.at(10))
            #expect(try await store.deviceGrants.findPending(userCode: "BCDF-GHJK") == nil)
            await expectStorageError(.conflict(""), containing: "not pending") {
                try await store.deviceGrants.decide(id: "device-1", approved: false, userId: alice.id, browserSessionId: "browser-1", at: Fixture.at(11))
            }
            let approved = try #require(try await store.deviceGrants.find(id: "device-1"))
            #expect(approved.status == .approved && approved.userId == alice.id && approved.decidedAt == Fixture.at(10))

            try await store.deviceGrants.exchange(id: "device-1", at: Fixture.at(20))
            await expectStorageError(.conflict(""), containing: "not approved") {
                try await store.deviceGrants.exchange(id: "device-1", at: Fixture.at(21))
            }
            // Released (Synapse failed): exchangeable again; the second release with the old time is a no-op.
            try await store.deviceGrants.release(id: "device-1", exchangedAt: Fixture.at(20))
            #expect(try await store.deviceGrants.find(id: "device-1")?.status == .approved)
            try await store.deviceGrants.exchange(id: "device-1", at: Fixture.at(22))
            try await store.deviceGrants.release(id: "device-1", exchangedAt: Fixture.at(20))
            #expect(try await store.deviceGrants.find(id: "device-1")?.status == .exchanged)

            let (session, access) = session(for: "device-1", user: alice)
            try await store.oauth2Sessions.create(session: session, accessToken: access, refreshToken: nil, grantId: "device-1")
            let exchanged = try #require(try await store.deviceGrants.find(id: "device-1"))
            #expect(exchanged.sessionId == session.id && exchanged.exchangedAt == Fixture.at(22))
            try await store.deviceGrants.release(id: "device-1", exchangedAt: Fixture.at(22))
            #expect(try await store.deviceGrants.find(id: "device-1")?.status == .exchanged, "a session is attached: no release")
            // A second session cannot attach to the same grant.
            let (other, otherAccess) = self.session(for: "device-1", user: alice, id: "oauth-2")
            await expectStorageError(.conflict("")) {
                try await store.oauth2Sessions.create(session: other, accessToken: otherAccess, refreshToken: nil, grantId: "device-1")
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func rejectedAndExpiredDeviceGrantsCannotBeApproved(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await seedUser(store)
            try await store.deviceGrants.create(Fixture.deviceGrant("device-1", userCode: "AAAA-AAAA"))
            try await store.deviceGrants.decide(id: "device-1", approved: false, userId: alice.id, browserSessionId: "browser-1", at: Fixture.at(1))
            #expect(try await store.deviceGrants.find(id: "device-1")?.status == .rejected)
            await expectStorageError(.conflict("")) { try await store.deviceGrants.exchange(id: "device-1", at: Fixture.at(2)) }

            try await store.deviceGrants.create(Fixture.deviceGrant("device-2", userCode: "BBBB-BBBB", lifetime: 60))
            await expectStorageError(.conflict("")) {
                try await store.deviceGrants.decide(id: "device-2", approved: true, userId: alice.id, browserSessionId: "browser-1", at: Fixture.at(60))
            }
            #expect(try await store.deviceGrants.find(id: "device-2")?.status == .pending)
        }
    }

    @Test(arguments: StoreBackend.allCases) func pendingUserCodesAreUniqueUntilTheyExpire(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await seedUser(store)
            try await store.deviceGrants.create(Fixture.deviceGrant("device-1", userCode: "CODE-0001", lifetime: 100))
            await expectStorageError(.conflict("")) {
                try await store.deviceGrants.create(Fixture.deviceGrant("device-2", userCode: "CODE-0001", at: 50))
            }
            // Expired: the code may be given out again (the dead grant is dropped).
            try await store.deviceGrants.create(Fixture.deviceGrant("device-3", userCode: "CODE-0001", at: 100))
            #expect(try await store.deviceGrants.find(id: "device-1") == nil)
            #expect(try await store.deviceGrants.findPending(userCode: "CODE-0001")?.id == "device-3")

            // A decided grant does not hold its code.
            try await store.deviceGrants.decide(id: "device-3", approved: true, userId: alice.id, browserSessionId: "browser-1", at: Fixture.at(101))
            try await store.deviceGrants.create(Fixture.deviceGrant("device-4", userCode: "CODE-0001", at: 102))
            #expect(try await store.deviceGrants.find(id: "device-3")?.status == .approved)
            await expectStorageError(.conflict("")) {
                var duplicate = Fixture.deviceGrant("device-5", userCode: "CODE-0002")
                duplicate.deviceCodeHash = "hash-device-4"
                try await store.deviceGrants.create(duplicate)
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func pollReturnsTheGrantAsItWasAndRecordsThePoll(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            try await store.deviceGrants.create(Fixture.deviceGrant("device-1", userCode: "CODE-0001"))
            let first = try #require(try await store.deviceGrants.poll(deviceCodeHash: "hash-device-1", at: Fixture.at(5)))
            #expect(first.lastPolledAt == nil)
            let second = try #require(try await store.deviceGrants.poll(deviceCodeHash: "hash-device-1", at: Fixture.at(7)))
            #expect(second.lastPolledAt == Fixture.at(5))
            #expect(try await store.deviceGrants.find(id: "device-1")?.lastPolledAt == Fixture.at(7))
            #expect(try await store.deviceGrants.poll(deviceCodeHash: "hash-unknown", at: Fixture.at(8)) == nil)
        }
    }

    // MARK: - Legacy SSO

    @Test(arguments: StoreBackend.allCases) func compatSSOLoginIsFulfilledOnceWithItsLoginToken(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await seedUser(store)
            let login = CompatSSOLogin(id: "sso-1", redirectURL: "https://app.example/after", createdAt: Fixture.at(0))
            try await store.compatSSOLogins.create(login)
            #expect(try await store.compatSSOLogins.find(id: "sso-1") == login)

            let token = CompatLoginToken(id: "lt-1", userId: alice.id, tokenHash: "hash-lt-1", createdAt: Fixture.at(1), expiresAt: Fixture.at(31))
            try await store.compatSSOLogins.fulfil(id: "sso-1", userId: alice.id, loginToken: token, at: Fixture.at(1))
            let fulfilled = try #require(try await store.compatSSOLogins.find(id: "sso-1"))
            #expect(fulfilled.fulfilledAt == Fixture.at(1) && fulfilled.userId == alice.id && fulfilled.loginTokenId == "lt-1")
            #expect(try await store.compatSessions.consumeLoginToken(hash: "hash-lt-1", at: Fixture.at(2))?.1 == alice, "the token is usable")

            let second = CompatLoginToken(id: "lt-2", userId: alice.id, tokenHash: "hash-lt-2", createdAt: Fixture.at(3), expiresAt: Fixture.at(33))
            await expectStorageError(.conflict(""), containing: "already") {
                try await store.compatSSOLogins.fulfil(id: "sso-1", userId: alice.id, loginToken: second, at: Fixture.at(3))
            }
            #expect(try await store.compatSessions.consumeLoginToken(hash: "hash-lt-2", at: Fixture.at(4)) == nil, "rolled back")
            await expectStorageError(.notFound("")) {
                try await store.compatSSOLogins.fulfil(id: "sso-x", userId: alice.id, loginToken: second, at: Fixture.at(3))
            }
        }
    }
}
