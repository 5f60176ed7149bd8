import Foundation
import GatehouseStorage
import GatehouseTestSupport
import Testing

/// A hung store call fails its test instead of the whole run.
@Suite(.storeTimeLimit)
struct CompatSessionRepositoryTests {
    /// A user with one session holding an access and a refresh token.
    private func seed(_ store: any IdentityStore, device: String = "DEVICE1") async throws -> (User, CompatSession, CompatAccessToken, CompatRefreshToken) {
        var alice = try await store.users.find(username: "alice")
        if alice == nil { alice = try await store.users.create(Fixture.user("alice")) }
        let user = try #require(alice)
        let session = Fixture.session("session-\(device)", user: user, device: device, at: 1)
        let access = Fixture.accessToken("at-\(device)", session: session, at: 1)
        let refresh = Fixture.refreshToken("rt-\(device)", session: session, accessToken: access, at: 1)
        try await store.compatSessions.create(session: session, accessToken: access, refreshToken: refresh)
        return (user, session, access, refresh)
    }

    @Test(arguments: StoreBackend.allCases) func createThenLookUpTokensByHash(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let (alice, session, access, refresh) = try await seed(store)

            let lookup = try #require(try await store.compatSessions.lookupAccessToken(hash: access.tokenHash))
            #expect(lookup == CompatAccessTokenLookup(token: access, session: session, user: alice))
            let refreshLookup = try #require(try await store.compatSessions.lookupRefreshToken(hash: refresh.tokenHash))
            #expect(refreshLookup.0 == refresh && refreshLookup.1 == session && refreshLookup.2 == alice)

            #expect(try await store.compatSessions.lookupAccessToken(hash: "hash-unknown") == nil)
            #expect(try await store.compatSessions.lookupRefreshToken(hash: access.tokenHash) == nil)
            #expect(try await store.compatSessions.find(sessionId: session.id) == session)

            // Lookups return the user's current state, e.g. after a lock.
            try await store.users.setLocked(userId: alice.id, at: Fixture.at(2))
            #expect(try await store.compatSessions.lookupAccessToken(hash: access.tokenHash)?.user.isActive == false)
        }
    }

    @Test(arguments: StoreBackend.allCases) func sessionWithoutRefreshTokenAndForeignKeyChecks(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await store.users.create(Fixture.user("alice"))
            let session = Fixture.session("session-1", user: alice, device: "DEVICE1")
            try await store.compatSessions.create(session: session, accessToken: Fixture.accessToken("at-1", session: session), refreshToken: nil)
            #expect(try await store.compatSessions.lookupAccessToken(hash: "hash-at-1")?.token.expiresAt == Fixture.at(300))

            let orphan = CompatSession(id: "session-2", userId: "user-nobody", deviceId: "D", createdAt: Fixture.t0)
            await expectStorageError(.notFound(""), containing: "user-nobody") {
                try await store.compatSessions.create(session: orphan, accessToken: Fixture.accessToken("at-2", session: orphan), refreshToken: nil)
            }
            let other = Fixture.session("session-3", user: alice, device: "DEVICE3")
            await expectStorageError(.conflict(""), containing: "belongs to session session-1") {
                try await store.compatSessions.create(session: other, accessToken: Fixture.accessToken("at-3", session: session), refreshToken: nil)
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func sessionsListsFinishedAndActiveOldestFirst(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let (alice, first, _, _) = try await seed(store)
            let (_, second, _, _) = try await seed(store, device: "DEVICE2")
            let bob = try await store.users.create(Fixture.user("bob"))
            let bobs = Fixture.session("session-bob", user: bob, device: "DEVICE1", at: 0)
            try await store.compatSessions.create(session: bobs, accessToken: Fixture.accessToken("at-bob", session: bobs), refreshToken: nil)
            try await store.compatSessions.finish(sessionId: first.id, at: Fixture.at(7))

            let listed = try await store.compatSessions.sessions(userId: alice.id)
            #expect(listed.map(\.id) == [first.id, second.id], "only alice's, oldest first")
            #expect(listed.map(\.finishedAt) == [Fixture.at(7), nil])
            #expect(try await store.compatSessions.sessions(userId: "user-nobody").isEmpty)
        }
    }

    @Test(arguments: StoreBackend.allCases) func oneUnfinishedSessionPerDevice(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let (alice, session, _, _) = try await seed(store)
            _ = try await seed(store, device: "DEVICE2")

            #expect(try await store.compatSessions.activeSession(userId: alice.id, deviceId: "DEVICE1") == session)
            #expect(try await store.compatSessions.activeSession(userId: alice.id, deviceId: "DEVICE9") == nil)
            #expect(try await store.compatSessions.activeSessions(userId: alice.id).map(\.deviceId) == ["DEVICE1", "DEVICE2"])

            let duplicate = Fixture.session("session-dup", user: alice, device: "DEVICE1", at: 5)
            await expectStorageError(.conflict(""), containing: "already has an unfinished session") {
                try await store.compatSessions.create(
                    session: duplicate, accessToken: Fixture.accessToken("at-dup", session: duplicate), refreshToken: nil)
            }

            // After finishing, the device id can be used again.
            try await store.compatSessions.finish(sessionId: session.id, at: Fixture.at(6))
            #expect(try await store.compatSessions.activeSession(userId: alice.id, deviceId: "DEVICE1") == nil)
            try await store.compatSessions.create(
                session: duplicate, accessToken: Fixture.accessToken("at-dup", session: duplicate), refreshToken: nil)
            #expect(try await store.compatSessions.activeSession(userId: alice.id, deviceId: "DEVICE1")?.id == "session-dup")
        }
    }

    @Test(arguments: StoreBackend.allCases) func finishRevokesAllTokensOfTheSession(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let (_, session, access, refresh) = try await seed(store)
            let (_, other, otherAccess, _) = try await seed(store, device: "DEVICE2")

            try await store.compatSessions.finish(sessionId: session.id, at: Fixture.at(10))
            let lookup = try #require(try await store.compatSessions.lookupAccessToken(hash: access.tokenHash))
            #expect(lookup.session.finishedAt == Fixture.at(10))
            #expect(lookup.token.revokedAt == Fixture.at(10))
            #expect(try await store.compatSessions.lookupRefreshToken(hash: refresh.tokenHash)?.0.revokedAt == Fixture.at(10))
            #expect(try await store.compatSessions.lookupAccessToken(hash: otherAccess.tokenHash)?.token.revokedAt == nil)
            #expect(try await store.compatSessions.find(sessionId: other.id)?.finishedAt == nil)

            // Finishing again keeps the first time.
            try await store.compatSessions.finish(sessionId: session.id, at: Fixture.at(20))
            #expect(try await store.compatSessions.find(sessionId: session.id)?.finishedAt == Fixture.at(10))

            await expectStorageError(.notFound(""), containing: "session-nobody") {
                try await store.compatSessions.finish(sessionId: "session-nobody", at: Fixture.at(10))
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func finishAllFinishesOnlyUnfinishedSessionsOfTheUser(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let (alice, first, firstAccess, _) = try await seed(store)
            let (_, second, _, secondRefresh) = try await seed(store, device: "DEVICE2")
            let (_, third, _, _) = try await seed(store, device: "DEVICE3")
            try await store.compatSessions.finish(sessionId: third.id, at: Fixture.at(5))
            let bob = try await store.users.create(Fixture.user("bob"))
            let bobSession = Fixture.session("session-bob", user: bob, device: "DEVICE1")
            try await store.compatSessions.create(
                session: bobSession, accessToken: Fixture.accessToken("at-bob", session: bobSession), refreshToken: nil)

            let finished = try await store.compatSessions.finishAll(userId: alice.id, at: Fixture.at(10))
            #expect(finished.map(\.id) == [first.id, second.id])
            #expect(finished.allSatisfy { $0.finishedAt == Fixture.at(10) })
            #expect(try await store.compatSessions.activeSessions(userId: alice.id).isEmpty)
            #expect(try await store.compatSessions.find(sessionId: third.id)?.finishedAt == Fixture.at(5))
            #expect(try await store.compatSessions.lookupAccessToken(hash: firstAccess.tokenHash)?.token.revokedAt == Fixture.at(10))
            #expect(try await store.compatSessions.lookupRefreshToken(hash: secondRefresh.tokenHash)?.0.revokedAt == Fixture.at(10))
            #expect(try await store.compatSessions.activeSessions(userId: bob.id).map(\.id) == [bobSession.id])
            #expect(try await store.compatSessions.lookupAccessToken(hash: "hash-at-bob")?.token.revokedAt == nil)

            #expect(try await store.compatSessions.finishAll(userId: alice.id, at: Fixture.at(11)).isEmpty)
        }
    }

    @Test(arguments: StoreBackend.allCases) func rotateOnceSucceedsTwiceConflicts(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let (_, session, access, refresh) = try await seed(store)
            let access2 = Fixture.accessToken("at-2", session: session, at: 60)
            let refresh2 = Fixture.refreshToken("rt-2", session: session, accessToken: access2, at: 60)
            try await store.compatSessions.rotate(consumed: refresh.id, newAccessToken: access2, newRefreshToken: refresh2, at: Fixture.at(60))

            #expect(try await store.compatSessions.lookupRefreshToken(hash: refresh.tokenHash)?.0.consumedAt == Fixture.at(60))
            #expect(try await store.compatSessions.lookupRefreshToken(hash: refresh.tokenHash)?.0.nextRefreshTokenId == refresh2.id)
            #expect(try await store.compatSessions.lookupAccessToken(hash: access.tokenHash)?.token.revokedAt == Fixture.at(60))
            #expect(try await store.compatSessions.lookupAccessToken(hash: access2.tokenHash)?.token == access2)
            #expect(try await store.compatSessions.lookupRefreshToken(hash: refresh2.tokenHash)?.0 == refresh2)

            let access3 = Fixture.accessToken("at-3", session: session, at: 61)
            let refresh3 = Fixture.refreshToken("rt-3", session: session, accessToken: access3, at: 61)
            await expectStorageError(.conflict(""), containing: "already used") {
                try await store.compatSessions.rotate(consumed: refresh.id, newAccessToken: access3, newRefreshToken: refresh3, at: Fixture.at(61))
            }
            // The failed rotation stored nothing.
            #expect(try await store.compatSessions.lookupAccessToken(hash: access3.tokenHash) == nil)
            #expect(try await store.compatSessions.lookupAccessToken(hash: access2.tokenHash)?.token.revokedAt == nil)

            // The new refresh token works once.
            try await store.compatSessions.rotate(consumed: refresh2.id, newAccessToken: access3, newRefreshToken: refresh3, at: Fixture.at(62))
            #expect(try await store.compatSessions.lookupAccessToken(hash: access2.tokenHash)?.token.revokedAt == Fixture.at(62))

            await expectStorageError(.notFound(""), containing: "rt-nobody") {
                try await store.compatSessions.rotate(consumed: "rt-nobody", newAccessToken: access3, newRefreshToken: refresh3, at: Fixture.at(63))
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func concurrentRotationsOfOneTokenLetExactlyOneWin(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, fixture in
            let (_, session, _, refresh) = try await seed(store)
            let other = try await fixture.open()
            let results = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<8 {
                    let target = index.isMultiple(of: 2) ? store : other
                    group.addTask {
                        let access = Fixture.accessToken("at-r\(index)", session: session, at: 60)
                        let refresh2 = Fixture.refreshToken("rt-r\(index)", session: session, accessToken: access, at: 60)
                        do {
                            try await target.compatSessions.rotate(
                                consumed: refresh.id, newAccessToken: access, newRefreshToken: refresh2, at: Fixture.at(60))
                            return true
                        } catch {
                            return false
                        }
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(results.filter { $0 }.count == 1)
        }
    }

    @Test(arguments: StoreBackend.allCases) func rotationIsRefusedForRevokedTokensAndForeignSessions(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let (_, session, _, refresh) = try await seed(store)
            let (_, other, _, _) = try await seed(store, device: "DEVICE2")

            let foreignAccess = Fixture.accessToken("at-f", session: other, at: 60)
            await expectStorageError(.conflict(""), containing: "belongs to session") {
                try await store.compatSessions.rotate(
                    consumed: refresh.id, newAccessToken: foreignAccess,
                    newRefreshToken: Fixture.refreshToken("rt-f", session: other, accessToken: foreignAccess), at: Fixture.at(60))
            }
            #expect(try await store.compatSessions.lookupRefreshToken(hash: refresh.tokenHash)?.0.consumedAt == nil)

            try await store.compatSessions.finish(sessionId: session.id, at: Fixture.at(70))
            let access = Fixture.accessToken("at-2", session: session, at: 80)
            await expectStorageError(.conflict(""), containing: "revoked") {
                try await store.compatSessions.rotate(
                    consumed: refresh.id, newAccessToken: access,
                    newRefreshToken: Fixture.refreshToken("rt-2", session: session, accessToken: access), at: Fixture.at(80))
            }
        }
    }

    /// The lost-response retry (issue 7, item 14): the used token is revoked (no second retry), its
    /// unused successor and that token's access token die, the new pair becomes the successor.
    @Test(arguments: StoreBackend.allCases) func reissueAfterALostResponseWorksOnce(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let (_, session, _, refresh) = try await seed(store)
            let access2 = Fixture.accessToken("at-2", session: session, at: 60)
            let refresh2 = Fixture.refreshToken("rt-2", session: session, accessToken: access2, at: 60)
            try await store.compatSessions.rotate(consumed: refresh.id, newAccessToken: access2, newRefreshToken: refresh2, at: Fixture.at(60))
            let access3 = Fixture.accessToken("at-3", session: session, at: 61)
            let refresh3 = Fixture.refreshToken("rt-3", session: session, accessToken: access3, at: 61)
            try await store.compatSessions.reissue(
                replayed: refresh.id, successor: refresh2.id, newAccessToken: access3, newRefreshToken: refresh3, at: Fixture.at(61))

            let replayed = try #require(try await store.compatSessions.findRefreshToken(id: refresh.id))
            #expect(replayed.consumedAt == Fixture.at(60) && replayed.revokedAt == Fixture.at(61) && replayed.nextRefreshTokenId == refresh3.id)
            #expect(try await store.compatSessions.findRefreshToken(id: refresh2.id)?.revokedAt == Fixture.at(61))
            #expect(try await store.compatSessions.lookupAccessToken(hash: access2.tokenHash)?.token.revokedAt == Fixture.at(61))
            #expect(try await store.compatSessions.findRefreshToken(id: refresh3.id) == refresh3)
            #expect(try await store.compatSessions.findRefreshToken(id: "rt-nobody") == nil)

            // Not twice, not for a token that is not the predecessor, and nothing is stored on refusal.
            let access4 = Fixture.accessToken("at-4", session: session, at: 62)
            let refresh4 = Fixture.refreshToken("rt-4", session: session, accessToken: access4, at: 62)
            await expectStorageError(.conflict(""), containing: "is not the used predecessor") {
                try await store.compatSessions.reissue(
                    replayed: refresh.id, successor: refresh3.id, newAccessToken: access4, newRefreshToken: refresh4, at: Fixture.at(62))
            }
            await expectStorageError(.conflict(""), containing: "is not the used predecessor") {
                try await store.compatSessions.reissue(
                    replayed: refresh2.id, successor: refresh3.id, newAccessToken: access4, newRefreshToken: refresh4, at: Fixture.at(62))
            }
            #expect(try await store.compatSessions.findRefreshToken(id: refresh4.id) == nil)
            #expect(try await store.compatSessions.findRefreshToken(id: refresh3.id)?.revokedAt == nil)

            // A successor that was used in the meantime cannot be replaced.
            try await store.compatSessions.rotate(consumed: refresh3.id, newAccessToken: access4, newRefreshToken: refresh4, at: Fixture.at(63))
            let (_, otherSession, _, otherRefresh) = try await seed(store, device: "DEVICE2")
            let a = Fixture.accessToken("at-o2", session: otherSession, at: 64)
            let r = Fixture.refreshToken("rt-o2", session: otherSession, accessToken: a, at: 64)
            try await store.compatSessions.rotate(consumed: otherRefresh.id, newAccessToken: a, newRefreshToken: r, at: Fixture.at(64))
            let a2 = Fixture.accessToken("at-o3", session: otherSession, at: 65)
            let r2 = Fixture.refreshToken("rt-o3", session: otherSession, accessToken: a2, at: 65)
            let a3 = Fixture.accessToken("at-o4", session: otherSession, at: 66)
            let r3 = Fixture.refreshToken("rt-o4", session: otherSession, accessToken: a3, at: 66)
            try await store.compatSessions.rotate(consumed: r.id, newAccessToken: a2, newRefreshToken: r2, at: Fixture.at(65))
            await expectStorageError(.conflict(""), containing: "was used or revoked") {
                try await store.compatSessions.reissue(
                    replayed: otherRefresh.id, successor: r.id, newAccessToken: a3, newRefreshToken: r3, at: Fixture.at(66))
            }
            #expect(try await store.compatSessions.findRefreshToken(id: otherRefresh.id)?.revokedAt == nil, "rolled back")
        }
    }

    @Test(arguments: StoreBackend.allCases) func touchOnlyMovesForward(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let (_, session, _, _) = try await seed(store)
            try await store.compatSessions.touch(sessionId: session.id, at: Fixture.at(50))
            try await store.compatSessions.touch(sessionId: session.id, at: Fixture.at(40))
            #expect(try await store.compatSessions.find(sessionId: session.id)?.lastActiveAt == Fixture.at(50))
            try await store.compatSessions.touch(sessionId: "session-nobody", at: Fixture.at(50))
        }
    }
}

/// A hung store call fails its test instead of the whole run.
@Suite(.storeTimeLimit)
struct LoginTokenTests {
    @Test(arguments: StoreBackend.allCases) func loginTokensAreSingleUse(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await store.users.create(Fixture.user("alice"))
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            let token = CompatLoginToken(id: "01LOGINTOKEN0000000000000A", userId: alice.id, tokenHash: "hash-1", createdAt: now, expiresAt: now.addingTimeInterval(30))
            try await store.compatSessions.createLoginToken(token)
            let first = try await store.compatSessions.consumeLoginToken(hash: "hash-1", at: now.addingTimeInterval(1))
            #expect(first?.0.id == token.id)
            #expect(first?.0.expiresAt == token.expiresAt)
            #expect(first?.1.username == "alice")
            #expect(try await store.compatSessions.consumeLoginToken(hash: "hash-1", at: now.addingTimeInterval(2)) == nil)
            #expect(try await store.compatSessions.consumeLoginToken(hash: "unknown", at: now) == nil)
            // Released after a login that failed before a session existed: usable again, once.
            try await store.compatSessions.releaseLoginToken(id: token.id, consumedAt: now.addingTimeInterval(5))
            #expect(try await store.compatSessions.consumeLoginToken(hash: "hash-1", at: now.addingTimeInterval(3)) == nil, "another use is kept")
            try await store.compatSessions.releaseLoginToken(id: token.id, consumedAt: now.addingTimeInterval(1))
            #expect(try await store.compatSessions.consumeLoginToken(hash: "hash-1", at: now.addingTimeInterval(3))?.0.id == token.id)
            #expect(try await store.compatSessions.consumeLoginToken(hash: "hash-1", at: now.addingTimeInterval(4)) == nil)
        }
    }
}
