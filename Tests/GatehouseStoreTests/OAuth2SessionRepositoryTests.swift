import Foundation
import GatehouseStorage
import GatehouseTestSupport
import Testing

/// A hung store call fails its test instead of the whole run.
@Suite(.storeTimeLimit)
struct OAuth2SessionRepositoryTests {
    /// alice with one session (device `device`) holding an access and a refresh token.
    private func seed(_ store: any IdentityStore, device: String = "DEVICE1") async throws
        -> (User, OAuth2Session, OAuth2AccessToken, OAuth2RefreshToken)
    {
        var alice = try await store.users.find(username: "alice")
        if alice == nil { alice = try await store.users.create(Fixture.user("alice")) }
        let user = try #require(alice)
        let session = Fixture.oauth2Session("session-\(device)", user: user, device: device, at: 1)
        let access = Fixture.oauth2AccessToken("at-\(device)", session: session, at: 1)
        let refresh = Fixture.oauth2RefreshToken("rt-\(device)", session: session, accessToken: access, at: 1)
        try await store.oauth2Sessions.create(session: session, accessToken: access, refreshToken: refresh, grantId: nil)
        return (user, session, access, refresh)
    }

    private func pair(_ suffix: String, session: OAuth2Session, at seconds: Double) -> (OAuth2AccessToken, OAuth2RefreshToken) {
        let access = Fixture.oauth2AccessToken("at-\(suffix)", session: session, at: seconds)
        return (access, Fixture.oauth2RefreshToken("rt-\(suffix)", session: session, accessToken: access, at: seconds))
    }

    @Test(arguments: StoreBackend.allCases) func createThenLookUpTokensByHash(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let (alice, session, access, refresh) = try await seed(store)
            #expect(
                try await store.oauth2Sessions.lookupAccessToken(hash: access.tokenHash)
                    == OAuth2TokenLookup(token: access, session: session, user: alice))
            #expect(
                try await store.oauth2Sessions.lookupRefreshToken(hash: refresh.tokenHash)
                    == OAuth2TokenLookup(token: refresh, session: session, user: alice))
            #expect(try await store.oauth2Sessions.lookupAccessToken(hash: refresh.tokenHash) == nil)
            #expect(try await store.oauth2Sessions.lookupRefreshToken(hash: "hash-unknown") == nil)
            #expect(try await store.oauth2Sessions.find(sessionId: session.id) == session)
            #expect(try await store.oauth2Sessions.findAccessToken(id: access.id) == access)
            #expect(try await store.oauth2Sessions.findRefreshToken(id: refresh.id) == refresh)

            try await store.users.setLocked(userId: alice.id, at: Fixture.at(2))
            #expect(try await store.oauth2Sessions.lookupAccessToken(hash: access.tokenHash)?.user?.isActive == false)
        }
    }

    @Test(arguments: StoreBackend.allCases) func theActiveSessionOfADevice(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let (alice, first, _, _) = try await seed(store, device: "DEVICE1")
            let (_, second, _, _) = try await seed(store, device: "DEVICE2")
            #expect(try await store.oauth2Sessions.activeSession(userId: alice.id, deviceId: "DEVICE1") == first)
            #expect(try await store.oauth2Sessions.activeSession(userId: alice.id, deviceId: "DEVICE2") == second)
            #expect(try await store.oauth2Sessions.activeSession(userId: alice.id, deviceId: "DEVICE3") == nil)
            #expect(try await store.oauth2Sessions.activeSession(userId: "user-other", deviceId: "DEVICE1") == nil)
            _ = try await store.oauth2Sessions.finish(sessionId: first.id, at: Fixture.at(2))
            #expect(try await store.oauth2Sessions.activeSession(userId: alice.id, deviceId: "DEVICE1") == nil, "finished sessions are not active")
        }
    }

    @Test(arguments: StoreBackend.allCases) func clientCredentialsSessionHasNoUser(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let session = Fixture.oauth2Session("session-cc", user: nil, device: nil)
            let access = Fixture.oauth2AccessToken("at-cc", session: session)
            try await store.oauth2Sessions.create(session: session, accessToken: access, refreshToken: nil, grantId: nil)
            let lookup = try #require(try await store.oauth2Sessions.lookupAccessToken(hash: access.tokenHash))
            #expect(lookup.user == nil && lookup.session == session)

            let orphan = OAuth2Session(id: "session-o", clientId: "c", userId: "user-ghost", scope: "", deviceId: nil, createdAt: Fixture.t0)
            await expectStorageError(.notFound("")) {
                try await store.oauth2Sessions.create(
                    session: orphan, accessToken: Fixture.oauth2AccessToken("at-o", session: orphan), refreshToken: nil, grantId: nil)
            }
            let alice = try await store.users.create(Fixture.user("alice"))
            let other = Fixture.oauth2Session("session-x", user: alice, device: "D")
            await expectStorageError(.conflict(""), containing: "belongs to session") {
                try await store.oauth2Sessions.create(session: other, accessToken: access, refreshToken: nil, grantId: nil)
            }
            await expectStorageError(.conflict(""), containing: "not exchanged") {
                try await store.oauth2Sessions.create(
                    session: other, accessToken: Fixture.oauth2AccessToken("at-x", session: other), refreshToken: nil, grantId: "grant-none")
            }
            #expect(try await store.oauth2Sessions.find(sessionId: "session-x") == nil)
        }
    }

    @Test(arguments: StoreBackend.allCases) func oneUnfinishedSessionPerDevice(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let (alice, first, _, _) = try await seed(store)
            let again = Fixture.oauth2Session("session-again", user: alice, device: "DEVICE1", at: 2)
            await expectStorageError(.conflict("")) {
                try await store.oauth2Sessions.create(
                    session: again, accessToken: Fixture.oauth2AccessToken("at-again", session: again), refreshToken: nil, grantId: nil)
            }
            #expect(try await store.oauth2Sessions.finish(sessionId: first.id, at: Fixture.at(3)))
            try await store.oauth2Sessions.create(
                session: again, accessToken: Fixture.oauth2AccessToken("at-again", session: again), refreshToken: nil, grantId: nil)
            #expect(try await store.oauth2Sessions.activeSessions(userId: alice.id).map(\.id) == [again.id])
            #expect(try await store.oauth2Sessions.sessions(userId: alice.id).map(\.id) == [first.id, again.id])
        }
    }

    @Test(arguments: StoreBackend.allCases) func finishRevokesEveryTokenOnce(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let (_, session, access, refresh) = try await seed(store)
            #expect(try await store.oauth2Sessions.finish(sessionId: session.id, at: Fixture.at(10)))
            #expect(try await store.oauth2Sessions.finish(sessionId: session.id, at: Fixture.at(20)) == false)
            #expect(try await store.oauth2Sessions.finish(sessionId: "session-unknown", at: Fixture.at(20)) == false)
            #expect(try await store.oauth2Sessions.find(sessionId: session.id)?.finishedAt == Fixture.at(10))
            #expect(try await store.oauth2Sessions.findAccessToken(id: access.id)?.revokedAt == Fixture.at(10))
            #expect(try await store.oauth2Sessions.findRefreshToken(id: refresh.id)?.revokedAt == Fixture.at(10))
            let (newAccess, newRefresh) = pair("2", session: session, at: 30)
            await expectStorageError(.conflict(""), containing: "revoked") {
                try await store.oauth2Sessions.rotate(consumed: refresh.id, newAccessToken: newAccess, newRefreshToken: newRefresh, at: Fixture.at(30))
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func finishAllEndsOnlyThatUsersUnfinishedSessions(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let (alice, first, _, _) = try await seed(store)
            let (_, second, access2, _) = try await seed(store, device: "DEVICE2")
            _ = try await store.oauth2Sessions.finish(sessionId: first.id, at: Fixture.at(5))
            let bob = try await store.users.create(Fixture.user("bob"))
            let bobs = Fixture.oauth2Session("session-bob", user: bob, device: "DEVICE1")
            try await store.oauth2Sessions.create(session: bobs, accessToken: Fixture.oauth2AccessToken("at-bob", session: bobs), refreshToken: nil, grantId: nil)

            let finished = try await store.oauth2Sessions.finishAll(userId: alice.id, at: Fixture.at(10))
            #expect(finished.map(\.id) == [second.id])
            #expect(finished.first?.finishedAt == Fixture.at(10))
            #expect(try await store.oauth2Sessions.findAccessToken(id: access2.id)?.revokedAt == Fixture.at(10))
            #expect(try await store.oauth2Sessions.find(sessionId: first.id)?.finishedAt == Fixture.at(5))
            #expect(try await store.oauth2Sessions.find(sessionId: bobs.id)?.finishedAt == nil)
        }
    }

    @Test(arguments: StoreBackend.allCases) func rotateConsumesOnceAndRevokesThePreviousAccessToken(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let (_, session, access, refresh) = try await seed(store)
            let (access2, refresh2) = pair("2", session: session, at: 10)
            try await store.oauth2Sessions.rotate(consumed: refresh.id, newAccessToken: access2, newRefreshToken: refresh2, at: Fixture.at(10))
            let consumed = try #require(try await store.oauth2Sessions.findRefreshToken(id: refresh.id))
            #expect(consumed.consumedAt == Fixture.at(10) && consumed.nextRefreshTokenId == refresh2.id && consumed.revokedAt == nil)
            #expect(try await store.oauth2Sessions.findAccessToken(id: access.id)?.revokedAt == Fixture.at(10))
            #expect(try await store.oauth2Sessions.lookupRefreshToken(hash: refresh2.tokenHash)?.token == refresh2)

            let (access3, refresh3) = pair("3", session: session, at: 11)
            await expectStorageError(.conflict(""), containing: "already used") {
                try await store.oauth2Sessions.rotate(consumed: refresh.id, newAccessToken: access3, newRefreshToken: refresh3, at: Fixture.at(11))
            }
            #expect(try await store.oauth2Sessions.findAccessToken(id: access3.id) == nil, "rolled back")
            await expectStorageError(.notFound("")) {
                try await store.oauth2Sessions.rotate(consumed: "rt-unknown", newAccessToken: access3, newRefreshToken: refresh3, at: Fixture.at(11))
            }
            let (_, other, _, _) = try await seed(store, device: "DEVICE2")
            let (foreignAccess, foreignRefresh) = pair("f", session: other, at: 12)
            await expectStorageError(.conflict(""), containing: "belongs to session") {
                try await store.oauth2Sessions.rotate(
                    consumed: refresh2.id, newAccessToken: foreignAccess, newRefreshToken: foreignRefresh, at: Fixture.at(12))
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func reissueAnswersOneLostResponseOnly(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let (_, session, _, refresh) = try await seed(store)
            let (access2, refresh2) = pair("2", session: session, at: 10)
            try await store.oauth2Sessions.rotate(consumed: refresh.id, newAccessToken: access2, newRefreshToken: refresh2, at: Fixture.at(10))

            let (access3, refresh3) = pair("3", session: session, at: 11)
            try await store.oauth2Sessions.reissue(
                replayed: refresh.id, successor: refresh2.id, newAccessToken: access3, newRefreshToken: refresh3, at: Fixture.at(11))
            let replayed = try #require(try await store.oauth2Sessions.findRefreshToken(id: refresh.id))
            #expect(replayed.revokedAt == Fixture.at(11) && replayed.nextRefreshTokenId == refresh3.id)
            #expect(try await store.oauth2Sessions.findRefreshToken(id: refresh2.id)?.revokedAt == Fixture.at(11))
            #expect(try await store.oauth2Sessions.findAccessToken(id: access2.id)?.revokedAt == Fixture.at(11))
            #expect(try await store.oauth2Sessions.findRefreshToken(id: refresh3.id)?.revokedAt == nil)

            // A second retry of the same token loses.
            let (access4, refresh4) = pair("4", session: session, at: 12)
            await expectStorageError(.conflict(""), containing: "not the used predecessor") {
                try await store.oauth2Sessions.reissue(
                    replayed: refresh.id, successor: refresh3.id, newAccessToken: access4, newRefreshToken: refresh4, at: Fixture.at(12))
            }
            // A successor already used cannot be replaced: refresh3 was rotated, then refresh4 was used too.
            try await store.oauth2Sessions.rotate(consumed: refresh3.id, newAccessToken: access4, newRefreshToken: refresh4, at: Fixture.at(13))
            let (access5, refresh5) = pair("5", session: session, at: 14)
            try await store.oauth2Sessions.rotate(consumed: refresh4.id, newAccessToken: access5, newRefreshToken: refresh5, at: Fixture.at(14))
            let (access6, refresh6) = pair("6", session: session, at: 15)
            await expectStorageError(.conflict(""), containing: "was used or revoked") {
                try await store.oauth2Sessions.reissue(
                    replayed: refresh3.id, successor: refresh4.id, newAccessToken: access6, newRefreshToken: refresh6, at: Fixture.at(15))
            }
            #expect(try await store.oauth2Sessions.findRefreshToken(id: refresh3.id)?.revokedAt == nil, "rolled back")
            _ = try await store.oauth2Sessions.finish(sessionId: session.id, at: Fixture.at(16))
            await expectStorageError(.conflict(""), containing: "finished") {
                try await store.oauth2Sessions.reissue(
                    replayed: refresh4.id, successor: refresh5.id, newAccessToken: access6, newRefreshToken: refresh6, at: Fixture.at(17))
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func markUsedKeepsTheFirstUseAndTouchOnlyMovesForward(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let (_, session, access, _) = try await seed(store)
            try await store.oauth2Sessions.markUsed(accessTokenId: access.id, at: Fixture.at(5))
            try await store.oauth2Sessions.markUsed(accessTokenId: access.id, at: Fixture.at(6))
            #expect(try await store.oauth2Sessions.findAccessToken(id: access.id)?.firstUsedAt == Fixture.at(5))

            try await store.oauth2Sessions.touch(sessionId: session.id, at: Fixture.at(20))
            try await store.oauth2Sessions.touch(sessionId: session.id, at: Fixture.at(10))
            #expect(try await store.oauth2Sessions.find(sessionId: session.id)?.lastActiveAt == Fixture.at(20))
        }
    }
}
