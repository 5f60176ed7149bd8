import Foundation
import GatehouseCore
import GatehouseIdentity
import GatehouseStorage
import GatehouseTestSupport
import Testing

/// The user-scoped operations of the account service (the account page's and the admin API's).
@Suite(.serialized)
struct AccountServiceUserSessionsTests {
    @Test(arguments: StoreBackend.allCases) func aUserOnlyEverReachesTheirOwnSessions(_ backend: StoreBackend) async throws {
        let fixture = try await AccountFixture(backend)
        let (alice, _) = try await fixture.accounts.registerUser(username: "alice", password: "pw-alice", admin: false, displayName: nil, emails: [])
        let (bob, _) = try await fixture.accounts.registerUser(username: "bob", password: "pw-bob", admin: false, displayName: nil, emails: [])
        _ = try await fixture.accounts.issueCompatibilityToken(username: "bob", deviceId: "BOBDEVICE", synapseAdmin: false)
        let bobs = try await fixture.accounts.activeSessions(userId: bob.id)
        let bobSession = try #require(bobs.sessions.first)
        #expect(bobs.sessions.map(\.deviceId) == ["BOBDEVICE"])

        do {
            _ = try await fixture.accounts.activeSession(id: bobSession.id, userId: alice.id)
            Issue.record("another user's session was found")
        } catch {
            #expect(error.isSessionNotFound)
        }
        do {
            _ = try await fixture.accounts.endSession(id: bobSession.id, requestedBy: .user(id: alice.id))
            Issue.record("another user's session was ended")
        } catch {
            #expect(error.isSessionNotFound)
        }
        do {
            try await fixture.accounts.renameSession(id: bobSession.id, userId: alice.id, to: "mine")
            Issue.record("another user's session was renamed")
        } catch {
            #expect(error.isSessionNotFound)
        }
        do {
            _ = try await fixture.accounts.activeSession(deviceId: "BOBDEVICE", userId: alice.id)
            Issue.record("another user's device was found")
        } catch {
            #expect(error.isDeviceNotFound)
        }
        #expect(try await fixture.accounts.activeSessions(userId: alice.id).sessions.isEmpty)
        #expect(fixture.synapse.user("bob")?.devices.keys.sorted() == ["BOBDEVICE"])
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func endingSessionsDeletesTheirDevicesBeforeReturning(_ backend: StoreBackend) async throws {
        let fixture = try await AccountFixture(backend)
        let (alice, _) = try await fixture.accounts.registerUser(username: "alice", password: "pw-alice", admin: false, displayName: nil, emails: [])
        for device in ["DEVICEONE", "DEVICETWO", "DEVICETHREE"] {
            _ = try await fixture.accounts.issueCompatibilityToken(username: "alice", deviceId: device, synapseAdmin: false)
        }
        let one = try await fixture.accounts.activeSession(deviceId: "DEVICEONE", userId: alice.id)
        let before = fixture.revocations.count
        let (ended1, outcome1) = try await fixture.accounts.endSession(id: one.id, requestedBy: .user(id: alice.id))
        #expect(outcome1 == .done)
        guard case .compat(let finished) = ended1 else {
            Issue.record("not the compat session: \(ended1)")
            return
        }
        #expect(finished.id == one.id && finished.finishedAt != nil)
        #expect(fixture.revocations.count > before, "caches are told at once")
        #expect(fixture.synapse.user("alice")?.devices.keys.sorted() == ["DEVICETHREE", "DEVICETWO"])
        do {
            _ = try await fixture.accounts.endSession(id: one.id, requestedBy: .user(id: alice.id))
            Issue.record("an ended session was ended again")
        } catch {
            #expect(error.isSessionFinished, "the user's own session: already ended, not unknown")
        }
        let (ended, outcome) = try await fixture.accounts.endOtherSessions(userId: alice.id, keepingBrowserSession: nil)
        #expect(ended.map(\.deviceId) == ["DEVICETWO", "DEVICETHREE"] && outcome == .done)
        #expect(fixture.synapse.user("alice")?.devices.isEmpty == true)
        try await fixture.close()
    }

    /// One way to end a session for the account page and the admin API, with one set of outcomes:
    /// ended; not found (unknown, another kind than asked, or, for a user, someone else's, finished
    /// or not); already finished (an administrator's any, a user's only their own).
    @Test(arguments: StoreBackend.allCases) func endingOneSessionHasOneSetOfOutcomesForUsersAndAdministrators(_ backend: StoreBackend) async throws {
        let fixture = try await AccountFixture(backend)
        let (alice, _) = try await fixture.accounts.registerUser(username: "alice", password: nil, admin: false, displayName: nil, emails: [])
        let (bob, _) = try await fixture.accounts.registerUser(username: "bob", password: nil, admin: false, displayName: nil, emails: [])
        _ = try await fixture.accounts.issueCompatibilityToken(username: "bob", deviceId: "BOBACTIVE", synapseAdmin: false)
        _ = try await fixture.accounts.issueCompatibilityToken(username: "bob", deviceId: "BOBENDED", synapseAdmin: false)
        let bobActive = try await fixture.accounts.activeSession(deviceId: "BOBACTIVE", userId: bob.id)
        let bobEnded = try await fixture.accounts.activeSession(deviceId: "BOBENDED", userId: bob.id)
        _ = try await fixture.accounts.endSession(id: bobEnded.id, requestedBy: .user(id: bob.id))
        let now = Date()
        let aliceBrowser = BrowserSession(id: ULID.make(at: now, random: SystemRandom()), userId: alice.id, createdAt: now, authenticatedAt: now)
        try await fixture.store.browserSessions.create(aliceBrowser)

        func outcome(
            _ id: String, _ requester: AccountService.Requester, kinds: Set<AccountService.EndableKind> = Set(AccountService.EndableKind.allCases)
        ) async -> String {
            do {
                let (ended, _) = try await fixture.accounts.endSession(id: id, kinds: kinds, requestedBy: requester)
                switch ended {
                case .compat(let session): return session.finishedAt == nil ? "still active" : "ended compat"
                case .oauth2(let session): return session.finishedAt == nil ? "still active" : "ended oauth2"
                case .browser(let session): return session.finishedAt == nil ? "still active" : "ended browser"
                }
            } catch {
                if error.isSessionNotFound { return "not found" }
                if error.isSessionFinished { return "already finished" }
                return "\(error)"
            }
        }
        // Someone else's session, active or finished, is unknown to a user; nothing changes.
        #expect(await outcome(bobActive.id, .user(id: alice.id)) == "not found")
        #expect(await outcome(bobEnded.id, .user(id: alice.id)) == "not found")
        #expect(await outcome("01J9ZQ3B7N6Y2W8K4R5T0V1XZZ", .user(id: alice.id)) == "not found")
        #expect(fixture.synapse.user("bob")?.devices.keys.sorted() == ["BOBACTIVE"])
        // An administrator sees both; a kind not asked for is not found.
        #expect(await outcome(bobEnded.id, .administrator) == "already finished")
        #expect(await outcome(bobActive.id, .administrator, kinds: [.oauth2, .browser]) == "not found")
        #expect(await outcome(bobActive.id, .administrator, kinds: [.compat]) == "ended compat")
        #expect(fixture.synapse.user("bob")?.devices.isEmpty == true)
        #expect(await outcome(bobActive.id, .user(id: bob.id)) == "already finished", "the owner learns it ended")
        // A browser session: ended by its user, then again by an administrator.
        #expect(await outcome(aliceBrowser.id, .user(id: alice.id), kinds: [.compat, .oauth2]) == "not found")
        #expect(await outcome(aliceBrowser.id, .user(id: alice.id)) == "ended browser")
        #expect(await outcome(aliceBrowser.id, .administrator, kinds: [.browser]) == "already finished")
        #expect(try await fixture.accounts.activeSessions(userId: alice.id).browserSessions.isEmpty)
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func profileRenamePasswordAndCrossSigningGoThroughSynapse(_ backend: StoreBackend) async throws {
        let fixture = try await AccountFixture(backend)
        let (alice, _) = try await fixture.accounts.registerUser(username: "alice", password: "pw-alice", admin: false, displayName: nil, emails: [])
        _ = try await fixture.accounts.issueCompatibilityToken(username: "alice", deviceId: "NAMEDDEVICE", synapseAdmin: false)
        let session = try await fixture.accounts.activeSession(deviceId: "NAMEDDEVICE", userId: alice.id)
        try await fixture.accounts.renameSession(id: session.id, userId: alice.id, to: " Kitchen tablet ")
        #expect(fixture.synapse.user("alice")?.devices["NAMEDDEVICE"]?.displayName == "Kitchen tablet")
        #expect(try await fixture.accounts.activeSession(deviceId: "NAMEDDEVICE", userId: alice.id).displayName == "Kitchen tablet")
        do {
            try await fixture.accounts.renameSession(id: session.id, userId: alice.id, to: "bad\u{7}name")
            Issue.record("a control character was accepted")
        } catch {
            #expect(error.isInvalidDisplayName)
        }

        try await fixture.accounts.setDisplayName(userId: alice.id, to: "Alice")
        #expect(try await fixture.accounts.profile(userId: alice.id)?.displayName == "Alice")
        try await fixture.accounts.setDisplayName(userId: alice.id, to: nil)
        #expect(fixture.synapse.user("alice")?.displayName == nil)

        fixture.synapse.down = true
        do {
            try await fixture.accounts.allowCrossSigningReset(userId: alice.id)
            Issue.record("Synapse was down")
        } catch {
            #expect(error.isSynapseUnreachable)
        }
        fixture.synapse.down = false
        try await fixture.accounts.allowCrossSigningReset(userId: alice.id)
        #expect(fixture.synapse.user("alice")?.crossSigningResetAllowed == true)

        #expect(try await fixture.accounts.changePassword(userId: alice.id, to: "a new password", endingOtherSessions: true, keepingBrowserSession: nil) == .done)
        let password = try #require(try await fixture.store.users.currentPassword(userId: alice.id))
        #expect(try await fixture.hasher.verify("a new password", version: password.version, hash: password.hash) == .valid)
        #expect(fixture.synapse.user("alice")?.devices.isEmpty == true, "other sessions ended with the change")
        do {
            _ = try await fixture.accounts.changePassword(userId: alice.id, to: "short", endingOtherSessions: false, keepingBrowserSession: nil)
            Issue.record("a short password was accepted")
        } catch {
            #expect(error.isInvalidPassword)
        }
        try await fixture.close()
    }
}
