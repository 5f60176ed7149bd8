import Foundation
import GatehouseStorage
import GatehouseTestSupport
import Testing

/// The bulk writes of `gatehouse import-synapse`: one transaction, all or nothing, on both backends.
/// A hung store call fails its test instead of the whole run.
@Suite(.storeTimeLimit)
struct AccountImportRepositoryTests {
    /// Alice with a password, an email, a device whose refresh token was rotated once (the used one
    /// names its successor, written in the same batch), and a second session on another device.
    private func batch(users: Int = 1) -> AccountImportBatch {
        var batch = AccountImportBatch()
        let alice = User(id: "user-alice", username: "alice", createdAt: Fixture.t0, isAdmin: true)
        batch.users = [alice] + (1..<users).map { Fixture.user("user\($0)") }
        batch.passwords = [PasswordRecord(id: "pw-alice", userId: alice.id, version: 1, hash: "$2b$12$imported", createdAt: Fixture.t0)]
        batch.emails = [UserEmail(id: "email-alice", userId: alice.id, email: "alice@example.org", createdAt: Fixture.at(1))]
        let phone = Fixture.session("session-phone", user: alice, device: "PHONE")
        let laptop = Fixture.session("session-laptop", user: alice, device: "LAPTOP")
        batch.sessions = [phone, laptop]
        let old = Fixture.accessToken("at-old", session: phone)
        let current = Fixture.accessToken("at-current", session: phone, at: 10)
        let laptopToken = CompatAccessToken(id: "at-laptop", sessionId: laptop.id, tokenHash: "hash-at-laptop", createdAt: Fixture.t0)
        batch.accessTokens = [old, current, laptopToken]
        let next = Fixture.refreshToken("rt-current", session: phone, accessToken: current, at: 10)
        var used = Fixture.refreshToken("rt-old", session: phone, accessToken: old)
        used.consumedAt = Fixture.at(10)
        used.nextRefreshTokenId = next.id
        batch.refreshTokens = [next, used]
        return batch
    }

    @Test(arguments: StoreBackend.allCases) func aBatchIsWrittenWholeAndShowsInTheBaseline(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, fixture in
            let importer = fixture.accountImport(store)
            #expect(try await importer.baseline() == ImportBaseline())
            let revision = try await store.changeCounter()
            let progress = ProgressLog()
            try await importer.write(batch(users: 1_201)) { progress.record($0) }
            #expect(try await store.changeCounter() > revision, "a running server notices the import")
            #expect(progress.last == batch(users: 1_201).rowCount)

            let baseline = try await importer.baseline()
            #expect(baseline.users.count == 1_201)
            #expect(baseline.users["alice"] == ImportBaseline.ExistingUser(id: "user-alice", isAdmin: true))
            #expect(baseline.emails == [ImportBaseline.emailKey(userId: "user-alice", email: "alice@example.org")])
            #expect(
                baseline.activeSessions == [
                    ImportBaseline.deviceKey(userId: "user-alice", deviceId: "PHONE"): "session-phone",
                    ImportBaseline.deviceKey(userId: "user-alice", deviceId: "LAPTOP"): "session-laptop",
                ])
            #expect(baseline.tokenHashes == ["hash-at-old", "hash-at-current", "hash-at-laptop", "hash-rt-current", "hash-rt-old"])

            #expect(try await store.users.currentPassword(userId: "user-alice")?.hash == "$2b$12$imported")
            #expect(try await store.users.emails(userId: "user-alice").map(\.email) == ["alice@example.org"])
            let lookup = try #require(try await store.compatSessions.lookupAccessToken(hash: "hash-at-current"))
            #expect(lookup.session.deviceId == "PHONE" && lookup.user.username == "alice")
            #expect(try await store.compatSessions.findRefreshToken(id: "rt-old")?.nextRefreshTokenId == "rt-current")
        }
    }

    @Test(arguments: StoreBackend.allCases) func aCollisionWritesNothing(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, fixture in
            // Stored after the importer read its baseline: the batch's alice now collides.
            _ = try await store.users.create(User(id: "user-alice", username: "alice-elsewhere", createdAt: Fixture.t0))
            await expectStorageError(.conflict("")) {
                try await fixture.accountImport(store).write(batch(users: 3)) { _ in }
            }
            #expect(try await store.users.list().map(\.username) == ["alice-elsewhere"])
            #expect(try await store.compatSessions.lookupAccessToken(hash: "hash-at-current") == nil)
        }
    }
}

/// The progress callback's last value (it is called from inside the write).
private final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func record(_ rows: Int) { lock.withLock { value = rows } }
    var last: Int { lock.withLock { value } }
}
