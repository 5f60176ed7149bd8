import GatehouseStorage
import GatehouseTestSupport
import Testing

/// A hung store call fails its test instead of the whole run.
@Suite(.storeTimeLimit)
struct UserRepositoryTests {
    @Test(arguments: StoreBackend.allCases) func createFindAndList(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let bob = try await store.users.create(Fixture.user("bob", at: 1))
            let alice = try await store.users.create(User(id: "user-alice", username: "alice", createdAt: Fixture.t0, isAdmin: true))
            #expect(bob == Fixture.user("bob", at: 1))
            #expect(try await store.users.find(username: "alice") == alice)
            #expect(try await store.users.find(id: "user-bob") == bob)
            #expect(try await store.users.find(username: "ALICE") == nil)
            #expect(try await store.users.find(id: "user-nobody") == nil)
            #expect(try await store.users.list().map(\.username) == ["alice", "bob"])
            #expect(alice.isAdmin && alice.isActive)
        }
    }

    /// A lookup by text holding U+0000 (a request's `x%00`) finds nothing on both stores; PostgreSQL
    /// text cannot hold that character, and binding it used to fail the whole query there.
    @Test(arguments: StoreBackend.allCases) func lookupsByTextHoldingNULFindNothing(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await store.users.create(Fixture.user("alice"))
            #expect(try await store.users.find(username: "alice\u{0}") == nil)
            #expect(try await store.users.find(usernameIgnoringCase: "\u{0}alice") == nil)
            #expect(try await store.users.find(id: alice.id + "\u{0}") == nil)
            #expect(try await store.compatSessions.lookupAccessToken(hash: "hash\u{0}") == nil)
            #expect(try await store.users.find(username: "alice") == alice, "the store still answers afterwards")
        }
    }

    /// MAS's lookup for logins: the exact name wins, else the name that differs only in case.
    @Test(arguments: StoreBackend.allCases) func caseInsensitiveLookupPrefersTheExactName(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            // Legacy Synapse accounts can have capitals; new ones never do.
            let capital = try await store.users.create(User(id: "user-Alice", username: "Alice", createdAt: Fixture.t0))
            let bob = try await store.users.create(Fixture.user("bob"))
            #expect(try await store.users.find(usernameIgnoringCase: "alice") == capital)
            #expect(try await store.users.find(usernameIgnoringCase: "ALICE") == capital)
            #expect(try await store.users.find(usernameIgnoringCase: "BoB") == bob)
            #expect(try await store.users.find(usernameIgnoringCase: "carol") == nil)
            #expect(try await store.users.find(usernameIgnoringCase: "bob\u{0}") == nil)

            let lower = try await store.users.create(User(id: "user-alice", username: "alice", createdAt: Fixture.t0))
            #expect(try await store.users.find(usernameIgnoringCase: "alice") == lower, "the exact case is preferred")
            #expect(try await store.users.find(usernameIgnoringCase: "Alice") == capital)
            #expect(try await store.users.find(usernameIgnoringCase: "ALICE") == capital, "else the first by username (binary order)")
        }
    }

    @Test(arguments: StoreBackend.allCases) func takenUsernameOrIdIsAConflict(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            _ = try await store.users.create(Fixture.user("alice"))
            await expectStorageError(.conflict(""), containing: "username alice is already taken") {
                _ = try await store.users.create(User(id: "user-other", username: "alice", createdAt: Fixture.t0))
            }
            await expectStorageError(.conflict(""), containing: "users.id") {
                _ = try await store.users.create(User(id: "user-alice", username: "alice2", createdAt: Fixture.t0))
            }
            #expect(try await store.users.list().count == 1)
        }
    }

    @Test(arguments: StoreBackend.allCases) func lockDeactivateAndAdmin(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await store.users.create(Fixture.user("alice"))

            try await store.users.setLocked(userId: alice.id, at: Fixture.at(5))
            var stored = try #require(try await store.users.find(id: alice.id))
            #expect(stored.lockedAt == Fixture.at(5) && !stored.isActive)
            try await store.users.setLocked(userId: alice.id, at: nil)
            stored = try #require(try await store.users.find(id: alice.id))
            #expect(stored.lockedAt == nil && stored.isActive)

            try await store.users.setDeactivated(userId: alice.id, at: Fixture.at(6))
            stored = try #require(try await store.users.find(id: alice.id))
            #expect(stored.deactivatedAt == Fixture.at(6) && !stored.isActive)
            try await store.users.setDeactivated(userId: alice.id, at: nil)
            #expect(try await store.users.find(id: alice.id)?.deactivatedAt == nil)

            try await store.users.setAdmin(userId: alice.id, true)
            #expect(try await store.users.find(id: alice.id)?.isAdmin == true)
            try await store.users.setAdmin(userId: alice.id, false)
            #expect(try await store.users.find(id: alice.id)?.isAdmin == false)

            await expectStorageError(.notFound(""), containing: "user-nobody") {
                try await store.users.setLocked(userId: "user-nobody", at: Fixture.t0)
            }
            await expectStorageError(.notFound("")) { try await store.users.setDeactivated(userId: "user-nobody", at: nil) }
            await expectStorageError(.notFound("")) { try await store.users.setAdmin(userId: "user-nobody", true) }
        }
    }

    @Test(arguments: StoreBackend.allCases) func newestPasswordWins(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await store.users.create(Fixture.user("alice"))
            #expect(try await store.users.currentPassword(userId: alice.id) == nil)

            let first = PasswordRecord(id: "pw-1", userId: alice.id, version: 1, hash: "$2b$12$old", createdAt: Fixture.at(10))
            try await store.users.addPassword(first)
            #expect(try await store.users.currentPassword(userId: alice.id) == first)

            let second = PasswordRecord(id: "pw-2", userId: alice.id, version: 2, hash: "$argon2id$new", createdAt: Fixture.at(20))
            try await store.users.addPassword(second)
            #expect(try await store.users.currentPassword(userId: alice.id) == second)

            // Same millisecond: the one stored last wins (ids are not assumed to sort).
            let third = PasswordRecord(id: "pw-0", userId: alice.id, version: 2, hash: "$argon2id$newer", createdAt: Fixture.at(20))
            try await store.users.addPassword(third)
            #expect(try await store.users.currentPassword(userId: alice.id) == third)

            // An older timestamp stored later does not take over.
            try await store.users.addPassword(PasswordRecord(id: "pw-9", userId: alice.id, version: 1, hash: "$2b$x", createdAt: Fixture.at(1)))
            #expect(try await store.users.currentPassword(userId: alice.id) == third)

            await expectStorageError(.notFound(""), containing: "user-nobody") {
                try await store.users.addPassword(PasswordRecord(id: "pw-x", userId: "user-nobody", version: 1, hash: "h", createdAt: Fixture.t0))
            }
        }
    }
}
