import Foundation
import GatehouseIdentity
import GatehouseStorage
import Testing

/// The user-scoped operations of the account service (the account page's and the admin API's).
@Suite(.serialized)
struct AccountServiceUserSessionsTests {
    @Test func aUserOnlyEverReachesTheirOwnSessions() async throws {
        let fixture = try await AccountFixture()
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
            _ = try await fixture.accounts.endSession(id: bobSession.id, userId: alice.id)
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

    @Test func endingSessionsDeletesTheirDevicesBeforeReturning() async throws {
        let fixture = try await AccountFixture()
        let (alice, _) = try await fixture.accounts.registerUser(username: "alice", password: "pw-alice", admin: false, displayName: nil, emails: [])
        for device in ["DEVICEONE", "DEVICETWO", "DEVICETHREE"] {
            _ = try await fixture.accounts.issueCompatibilityToken(username: "alice", deviceId: device, synapseAdmin: false)
        }
        let one = try await fixture.accounts.activeSession(deviceId: "DEVICEONE", userId: alice.id)
        let before = fixture.revocations.count
        #expect(try await fixture.accounts.endSession(id: one.id, userId: alice.id) == .done)
        #expect(fixture.revocations.count > before, "caches are told at once")
        #expect(fixture.synapse.user("alice")?.devices.keys.sorted() == ["DEVICETHREE", "DEVICETWO"])
        do {
            _ = try await fixture.accounts.endSession(id: one.id, userId: alice.id)
            Issue.record("an ended session was ended again")
        } catch {
            #expect(error.isSessionNotFound)
        }
        let (ended, outcome) = try await fixture.accounts.endOtherSessions(userId: alice.id, keepingBrowserSession: nil)
        #expect(ended.map(\.deviceId) == ["DEVICETWO", "DEVICETHREE"] && outcome == .done)
        #expect(fixture.synapse.user("alice")?.devices.isEmpty == true)
        try await fixture.close()
    }

    @Test func profileRenamePasswordAndCrossSigningGoThroughSynapse() async throws {
        let fixture = try await AccountFixture()
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
