import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseHomeserver
import GatehouseIdentity
import GatehouseStorage
import GatehouseTestSupport
import GatehouseTesting
import NIOPosix
import Testing

/// The account service against a real store (SQLite or PostgreSQL) and the scripted Synapse.
final class AccountFixture {
    /// The test's database.
    let storage: StoreFixture
    let store: any IdentityStore
    let synapse: FakeSynapse
    let client: SynapseClient
    let runner: JobRunner
    let hasher: PasswordHasher
    let accounts: AccountService
    let revocations = RevocationCounter()

    final class RevocationCounter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func increment() { lock.withLock { value += 1 } }
        var count: Int { lock.withLock { value } }
    }

    init(_ backend: StoreBackend) async throws {
        storage = try await StoreFixture.make(backend)
        store = try await storage.open()
        synapse = try await FakeSynapse(group: MultiThreadedEventLoopGroup.singleton, secret: "s3cret", serverName: "example.test")
        client = SynapseClient(configuration: .init(endpoint: synapse.endpoint, secret: "s3cret"))
        runner = JobRunner(repository: store.jobs, client: client, clock: SystemClock())
        hasher = try PasswordHasher(configuration: .default, threadPoolSize: 1)
        let counter = revocations
        accounts = AccountService(
            store: store, synapse: client, runner: runner, hasher: hasher, serverName: "example.test",
            onRevocation: { counter.increment() })
    }

    func close() async throws {
        try await client.shutdown()
        try await hasher.shutdown()
        try await synapse.stop()
        await storage.close()
    }
}

@Suite(.serialized)
struct AccountServiceTests {
    @Test(arguments: StoreBackend.allCases) func registerProvisionsAndStoresAPassword(_ backend: StoreBackend) async throws {
        let fixture = try await AccountFixture(backend)
        let (user, outcome) = try await fixture.accounts.registerUser(
            username: "@alice:example.test", password: "pw", admin: true, displayName: "Alice", emails: ["a@example.test"])
        #expect(user.username == "alice" && user.isAdmin)
        #expect(outcome == .done)
        #expect(fixture.synapse.user("alice")?.displayName == "Alice")
        #expect(fixture.synapse.user("alice")?.emails == ["a@example.test"])
        let password = try #require(try await fixture.store.users.currentPassword(userId: user.id))
        #expect(try await fixture.hasher.verify("pw", version: password.version, hash: password.hash) == .valid)
        await #expect(throws: AccountError.self) {
            try await fixture.accounts.registerUser(username: "alice", password: nil, admin: false, displayName: nil, emails: [])
        }
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func synapseOutageQueuesProvisioningButNotTokens(_ backend: StoreBackend) async throws {
        let fixture = try await AccountFixture(backend)
        fixture.synapse.down = true
        let (_, outcome) = try await fixture.accounts.registerUser(username: "bob", password: nil, admin: false, displayName: nil, emails: [])
        guard case .queued = outcome else {
            Issue.record("expected a queued outcome, got \(outcome)")
            return
        }
        do {
            _ = try await fixture.accounts.issueCompatibilityToken(username: "bob", deviceId: "DEV", synapseAdmin: false)
            Issue.record("a token was issued while Synapse could not create the device")
        } catch {
            #expect(error.isSynapseUnreachable)
        }
        #expect(try await fixture.store.compatSessions.activeSessions(userId: try #require(try await fixture.store.users.find(username: "bob")).id).isEmpty)
        fixture.synapse.down = false
        let (succeeded, _) = await fixture.runner.runPending(now: Date().addingTimeInterval(3600))
        #expect(succeeded >= 1)
        #expect(fixture.synapse.user("bob") != nil)
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func lockEndsSessionsAndDevices(_ backend: StoreBackend) async throws {
        let fixture = try await AccountFixture(backend)
        _ = try await fixture.accounts.registerUser(username: "carol", password: nil, admin: false, displayName: nil, emails: [])
        _ = try await fixture.accounts.issueCompatibilityToken(username: "carol", deviceId: "ONE", synapseAdmin: false)
        _ = try await fixture.accounts.issueCompatibilityToken(username: "carol", deviceId: "TWO", synapseAdmin: false)
        #expect(fixture.synapse.user("carol")?.devices.keys.sorted() == ["ONE", "TWO"])
        let before = fixture.revocations.count
        let (ended, outcome) = try await fixture.accounts.lockUser(username: "carol")
        #expect(ended.compactMap(\.deviceId).sorted() == ["ONE", "TWO"])
        #expect(outcome == .done)
        #expect(fixture.synapse.user("carol")?.locked == true)
        #expect(fixture.synapse.user("carol")?.devices.isEmpty == true)
        #expect(fixture.revocations.count > before, "in-process caches are told at once")
        await #expect(throws: AccountError.self) {
            try await fixture.accounts.issueCompatibilityToken(username: "carol", deviceId: nil, synapseAdmin: false)
        }
        _ = try await fixture.accounts.unlockUser(username: "carol")
        #expect(fixture.synapse.user("carol")?.locked == false)
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func deactivateAndReactivate(_ backend: StoreBackend) async throws {
        let fixture = try await AccountFixture(backend)
        _ = try await fixture.accounts.registerUser(username: "dan", password: nil, admin: false, displayName: nil, emails: [])
        _ = try await fixture.accounts.issueCompatibilityToken(username: "dan", deviceId: "D1", synapseAdmin: false)
        _ = try await fixture.accounts.deactivateUser(username: "dan", erase: true)
        #expect(fixture.synapse.user("dan")?.deactivated == true)
        #expect(fixture.synapse.user("dan")?.erased == true)
        let dan = try #require(try await fixture.store.users.find(username: "dan"))
        #expect(dan.deactivatedAt != nil)
        #expect(try await fixture.store.compatSessions.activeSessions(userId: dan.id).isEmpty)
        _ = try await fixture.accounts.reactivateUser(username: "dan")
        #expect(fixture.synapse.user("dan")?.deactivated == false)
        #expect(try await fixture.store.users.find(username: "dan")?.deactivatedAt == nil)
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func issuedTokensAreWellFormedAndOnlyHashed(_ backend: StoreBackend) async throws {
        let fixture = try await AccountFixture(backend)
        _ = try await fixture.accounts.registerUser(username: "eve", password: nil, admin: false, displayName: nil, emails: [])
        let (token, device) = try await fixture.accounts.issueCompatibilityToken(username: "eve", deviceId: nil, synapseAdmin: true)
        #expect(try TokenFormat.check(token).get() == .compatAccessToken)
        #expect(device.count == 10)
        let found = try #require(try await fixture.store.compatSessions.lookupAccessToken(hash: TokenHasher.sha256Hex(token)))
        #expect(found.session.isSynapseAdmin)
        #expect(found.token.tokenHash != token)
        let stored = try await fixture.storage.storedText()
        #expect(!stored.contains(token), "the token itself is never written to the database")
        #expect(stored.contains(found.token.tokenHash), "the database holds the hash, so the check looks at real data")
        try await fixture.close()
    }
}

// MARK: - Identifiers (issue 7, item 6)

extension AccountServiceTests {
    /// `gatehouse manage` names users the way login does: capitals fold, `@name:server` works, and a
    /// name no account can have is refused with the reason instead of being looked up (SQLite would
    /// read `frank\u{0}x` as `frank`).
    @Test(arguments: StoreBackend.allCases) func manageNamesUsersCanonically(_ backend: StoreBackend) async throws {
        let fixture = try await AccountFixture(backend)
        _ = try await fixture.accounts.registerUser(username: "frank", password: nil, admin: false, displayName: nil, emails: [])
        _ = try await fixture.accounts.lockUser(username: "FRANK")
        #expect(try await fixture.store.users.find(username: "frank")?.lockedAt != nil)
        _ = try await fixture.accounts.unlockUser(username: "@Frank:example.test")
        #expect(try await fixture.store.users.find(username: "frank")?.lockedAt == nil)
        for name in ["frank\u{0}x", "frank\u{0}", "frank\n", "@frank:other.test", "fr ank"] {
            do {
                _ = try await fixture.accounts.lockUser(username: name)
                Issue.record("\(name.debugDescription) was accepted")
            } catch {
                #expect(error.description.contains("is not a valid username"), "\(error)")
                #expect(!error.description.contains("\u{0}") && !error.description.contains("\n"), "control characters are escaped")
            }
        }
        #expect(try await fixture.store.users.find(username: "frank")?.lockedAt == nil)
        // Registration stays strict: a new name is stored exactly as given, so capitals are refused.
        await #expect(throws: AccountError.self) {
            try await fixture.accounts.registerUser(username: "Grace", password: nil, admin: false, displayName: nil, emails: [])
        }
        try await fixture.close()
    }

    /// A user imported from Synapse keeps its capitals (`Imported.Bob`); `gatehouse manage` finds it
    /// by any spelling a login accepts, the id-addressed operations of the admin API find it by id, and
    /// no new user may take a name that differs from it only in case (Synapse refuses those too).
    @Test(arguments: StoreBackend.allCases) func aMixedCaseImportedUserIsFoundByNameAndById(_ backend: StoreBackend) async throws {
        let fixture = try await AccountFixture(backend)
        let user = try await fixture.store.users.create(
            User(id: ULID.make(at: Date(), random: SystemRandom()), username: "Imported.Bob", createdAt: Date()), password: nil)
        fixture.synapse.addUser(FakeSynapse.User(localpart: "Imported.Bob"))
        for name in ["Imported.Bob", "imported.bob", "IMPORTED.BOB", "@imported.bob:example.test"] {
            _ = try await fixture.accounts.lockUser(username: name)
            #expect(try await fixture.store.users.find(id: user.id)?.lockedAt != nil, "\(name)")
            #expect(fixture.synapse.user("Imported.Bob")?.locked == true, "Synapse is told the stored localpart")
            _ = try await fixture.accounts.unlockUser(username: name)
            #expect(try await fixture.store.users.find(id: user.id)?.lockedAt == nil, "\(name)")
        }
        #expect(try await fixture.accounts.listSessions(username: "imported.bob").isEmpty)
        _ = try await fixture.accounts.lockUser(id: user.id)
        #expect(fixture.synapse.user("Imported.Bob")?.locked == true)
        _ = try await fixture.accounts.unlockUser(id: user.id)
        #expect(try await fixture.accounts.setAdmin(id: user.id, true).isAdmin)
        try await fixture.accounts.setPassword(id: user.id, password: "correct horse")
        #expect(try await fixture.store.users.currentPassword(userId: user.id) != nil)
        _ = try await fixture.accounts.deactivateUser(id: user.id, erase: false)
        #expect(fixture.synapse.user("Imported.Bob")?.deactivated == true)
        _ = try await fixture.accounts.reactivateUser(id: user.id)
        #expect(fixture.synapse.user("Imported.Bob")?.deactivated == false)
        do {
            _ = try await fixture.accounts.registerUser(username: "imported.bob", password: nil, admin: false, displayName: nil, emails: [])
            Issue.record("a name differing only in case was registered")
        } catch {
            #expect(error.isUserExists && error.description.contains("Imported.Bob"), "\(error)")
        }
        await #expect(throws: AccountError.self) { try await fixture.accounts.lockUser(id: "01J9ZQ3B7N6Y2W8K4R5T0V1XZZ") }
        try await fixture.close()
    }

    /// A running server's worker may claim a job `gatehouse manage` just queued before the command's
    /// own attempt does; the command then waits for that attempt and reports it done, instead of
    /// "queued" while Synapse is being told (a login right after `register-user` found no user).
    @Test(arguments: StoreBackend.allCases) func aJobAnotherProcessIsRunningIsWaitedFor(_ backend: StoreBackend) async throws {
        let fixture = try await AccountFixture(backend)
        let elsewhere = ClaimedElsewhere(store: fixture.store.jobs, client: fixture.client)
        let runner = JobRunner(repository: elsewhere, client: fixture.client, clock: SystemClock())
        let accounts = AccountService(store: fixture.store, synapse: fixture.client, runner: runner, hasher: fixture.hasher, serverName: "example.test")
        let (_, outcome) = try await accounts.registerUser(username: "hugo", password: nil, admin: false, displayName: nil, emails: [])
        #expect(outcome == .done)
        #expect(fixture.synapse.user("hugo") != nil, "provisioned by the other process before the command answered")
        #expect(elsewhere.claimed == 1)
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func issueCompatibilityTokenRefusesBadDeviceIdsBeforeSynapse(_ backend: StoreBackend) async throws {
        let fixture = try await AccountFixture(backend)
        _ = try await fixture.accounts.registerUser(username: "gina", password: nil, admin: false, displayName: nil, emails: [])
        fixture.synapse.clearRequests()
        for device in ["", "D\u{0}X", "D\u{1}", "has space", "D\u{C9}V", String(repeating: "A", count: 256)] {
            do {
                _ = try await fixture.accounts.issueCompatibilityToken(username: "gina", deviceId: device, synapseAdmin: false)
                Issue.record("\(device.debugDescription) was accepted")
            } catch {
                #expect(error.description.contains("is not a valid device ID"), "\(error)")
            }
        }
        #expect(!fixture.synapse.requests.contains { $0.path == "/_synapse/mas/upsert_device" })
        #expect(fixture.synapse.user("gina")?.devices.isEmpty == true)
        try await fixture.close()
    }
}

// MARK: - Sessions (issue 8: list-sessions, end-session)

extension AccountServiceTests {
    @Test(arguments: StoreBackend.allCases) func listSessionsShowsEverySessionWithItsState(_ backend: StoreBackend) async throws {
        let fixture = try await AccountFixture(backend)
        _ = try await fixture.accounts.registerUser(username: "hana", password: nil, admin: false, displayName: nil, emails: [])
        _ = try await fixture.accounts.issueCompatibilityToken(username: "hana", deviceId: "ONE", synapseAdmin: false)
        _ = try await fixture.accounts.issueCompatibilityToken(username: "hana", deviceId: "TWO", synapseAdmin: false)
        // Names are made canonical as for every manage command.
        let listed = try await fixture.accounts.listSessions(username: "@HANA:example.test")
        #expect(listed.map(\.deviceId) == ["ONE", "TWO"])
        #expect(listed.allSatisfy { $0.kind == .compat && $0.clientId == nil && $0.isActive })
        let hana = try #require(try await fixture.store.users.find(username: "hana"))
        #expect(listed.map(\.id) == (try await fixture.store.compatSessions.activeSessions(userId: hana.id)).map(\.id))
        // A replaced device leaves a finished session behind; both are listed.
        _ = try await fixture.accounts.issueCompatibilityToken(username: "hana", deviceId: "ONE", synapseAdmin: false)
        let after = try await fixture.accounts.listSessions(username: "hana")
        #expect(after.map(\.deviceId) == ["ONE", "TWO", "ONE"])
        #expect(after.map(\.isActive) == [false, true, true])
        #expect(try await fixture.accounts.listSessions(username: "hana").count == 3)
        for name in ["nobody", "hana\u{0}", "@hana:other.test"] {
            await #expect(throws: AccountError.self) { try await fixture.accounts.listSessions(username: name) }
        }
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func endSessionEndsOneSessionItsTokensAndItsDevice(_ backend: StoreBackend) async throws {
        let fixture = try await AccountFixture(backend)
        _ = try await fixture.accounts.registerUser(username: "ivan", password: nil, admin: false, displayName: nil, emails: [])
        let (ended, _) = try await fixture.accounts.issueCompatibilityToken(username: "ivan", deviceId: "ONE", synapseAdmin: false)
        let (kept, _) = try await fixture.accounts.issueCompatibilityToken(username: "ivan", deviceId: "TWO", synapseAdmin: false)
        let target = try #require(try await fixture.accounts.listSessions(username: "ivan").first { $0.deviceId == "ONE" })
        let revisionBefore = try await fixture.store.changeCounter()
        let revocationsBefore = fixture.revocations.count

        let (session, outcome) = try await fixture.accounts.endSession(id: target.id)
        #expect(session.id == target.id && session.deviceId == "ONE" && !session.isActive)
        #expect(outcome == .done)
        #expect(fixture.synapse.user("ivan")?.devices.keys.sorted() == ["TWO"], "only the ended session's device goes")
        #expect(fixture.revocations.count > revocationsBefore, "this process's caches are told at once")
        #expect(try await fixture.store.changeCounter() > revisionBefore, "a running server's caches see the store revision move")
        let endedToken = try #require(try await fixture.store.compatSessions.lookupAccessToken(hash: TokenHasher.sha256Hex(ended)))
        #expect(endedToken.token.revokedAt != nil && endedToken.session.finishedAt != nil)
        let keptToken = try #require(try await fixture.store.compatSessions.lookupAccessToken(hash: TokenHasher.sha256Hex(kept)))
        #expect(keptToken.token.revokedAt == nil && keptToken.session.finishedAt == nil)
        #expect(try await fixture.accounts.listSessions(username: "ivan").map(\.isActive) == [false, true])

        // Ending it again, or an id that is no session, changes nothing and says why.
        do {
            _ = try await fixture.accounts.endSession(id: target.id)
            Issue.record("an ended session was ended again")
        } catch {
            #expect(error.isSessionFinished)
            #expect(error.description.contains("already ended"), "\(error)")
        }
        // The live session's id with a NUL and more after it is no session either (SQLite reads bound
        // text only up to a NUL).
        let live = keptToken.session.id
        for id in ["01ARZ3NDEKTSV4RRFFQ69G5FAV", "", "x\u{0}\n", live + "\u{0}x"] {
            do {
                _ = try await fixture.accounts.endSession(id: id)
                Issue.record("\(id.debugDescription) was accepted")
            } catch {
                #expect(error.isSessionNotFound)
                #expect(error.description.contains("no session") && !error.description.contains("\n"), "\(error)")
            }
        }
        #expect(fixture.synapse.user("ivan")?.devices.keys.sorted() == ["TWO"])
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func endSessionQueuesTheDeviceRemovalWhenSynapseIsDown(_ backend: StoreBackend) async throws {
        let fixture = try await AccountFixture(backend)
        _ = try await fixture.accounts.registerUser(username: "jade", password: nil, admin: false, displayName: nil, emails: [])
        let (token, _) = try await fixture.accounts.issueCompatibilityToken(username: "jade", deviceId: "ONE", synapseAdmin: false)
        _ = try await fixture.accounts.issueCompatibilityToken(username: "jade", deviceId: "TWO", synapseAdmin: false)
        let target = try #require(try await fixture.accounts.listSessions(username: "jade").first)
        fixture.synapse.down = true
        let (_, outcome) = try await fixture.accounts.endSession(id: target.id)
        guard case .queued = outcome else {
            Issue.record("expected a queued outcome, got \(outcome)")
            return
        }
        #expect(outcome.summary.contains("queued"))
        // The token is dead in the store whatever Synapse does.
        #expect(try await fixture.store.compatSessions.lookupAccessToken(hash: TokenHasher.sha256Hex(token))?.token.revokedAt != nil)
        #expect(fixture.synapse.user("jade")?.devices.keys.sorted() == ["ONE", "TWO"])
        fixture.synapse.down = false
        _ = await fixture.runner.runPending(now: Date().addingTimeInterval(3600))
        #expect(fixture.synapse.user("jade")?.devices.keys.sorted() == ["TWO"])
        try await fixture.close()
    }
}

/// Job storage as this process sees it while another process's runner is faster: every claim is won
/// by "the other process", which provisions the user in Synapse a moment later and completes the job.
private final class ClaimedElsewhere: JobRepository, @unchecked Sendable {
    let store: any JobRepository
    let client: SynapseClient
    private let lock = NSLock()
    private var claims = 0
    var claimed: Int { lock.withLock { claims } }

    init(store: any JobRepository, client: SynapseClient) {
        self.store = store
        self.client = client
    }

    func enqueue(_ job: Job) async throws { try await store.enqueue(job) }
    func complete(jobId: String, at: Date) async throws { try await store.complete(jobId: jobId, at: at) }
    func fail(jobId: String, error: String, retryAt: Date) async throws { try await store.fail(jobId: jobId, error: error, retryAt: retryAt) }
    func pending() async throws -> [Job] { try await store.pending() }

    func claimNext(now: Date, leaseUntil: Date) async throws -> Job? {
        guard let job = try await store.claimNext(now: now, leaseUntil: leaseUntil) else { return nil }
        lock.withLock { claims += 1 }
        let (store, client) = (store, client)
        Task {
            try await Task.sleep(for: .milliseconds(300))
            try await HomeserverJob(kind: job.kind, payload: job.payload).perform(on: client)
            try await store.complete(jobId: job.id, at: Date())
        }
        return nil
    }
}
