import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseIdentity
import GatehouseStorage
import GatehouseTestSupport
import Testing

/// The admin side covers OAuth 2.0 sessions and browser sessions: list-sessions, end-session, lock,
/// deactivate and kill-sessions.
@Suite(.serialized)
struct AccountServiceOAuth2Tests {
    /// An OAuth 2.0 session of `username` on `device` (created in Synapse too), with its access token.
    private func oauth2Session(_ fixture: AccountFixture, _ username: String, device: String?, client: String = "client-1", at offset: TimeInterval)
        async throws -> (OAuth2Session, String)
    {
        let user = try #require(try await fixture.store.users.find(username: username))
        let now = Date().addingTimeInterval(offset)
        let random = SystemRandom()
        let session = OAuth2Session(
            id: ULID.make(at: now, random: random), clientId: client, userId: user.id,
            scope: "urn:matrix:client:api:*" + (device.map { " urn:matrix:client:device:\($0)" } ?? ""), deviceId: device, createdAt: now)
        let token = TokenFormat.generate(.accessToken, random: random)
        try await fixture.store.oauth2Sessions.create(
            session: session,
            accessToken: OAuth2AccessToken(
                id: ULID.make(at: now, random: random), sessionId: session.id, tokenHash: TokenHasher.sha256Hex(token), createdAt: now,
                expiresAt: now.addingTimeInterval(300)),
            refreshToken: nil, grantId: nil)
        if let device { _ = try await fixture.client.upsertDevice(localpart: username, deviceId: device) }
        return (session, token)
    }

    private func isRevoked(_ fixture: AccountFixture, _ token: String) async throws -> Bool {
        try await fixture.store.oauth2Sessions.lookupAccessToken(hash: TokenHasher.sha256Hex(token))?.token.revokedAt != nil
    }

    @Test(arguments: StoreBackend.allCases) func listAndEndOAuth2Sessions(_ backend: StoreBackend) async throws {
        let fixture = try await AccountFixture(backend)
        _ = try await fixture.accounts.registerUser(username: "kim", password: nil, admin: false, displayName: nil, emails: [])
        _ = try await fixture.accounts.issueCompatibilityToken(username: "kim", deviceId: "COMPAT", synapseAdmin: false)
        let (phone, phoneToken) = try await oauth2Session(fixture, "kim", device: "PHONE", at: 10)
        let (web, _) = try await oauth2Session(fixture, "kim", device: nil, client: "client-2", at: 20)

        let listed = try await fixture.accounts.listSessions(username: "kim")
        #expect(listed.map(\.kind) == [.compat, .oauth2, .oauth2])
        #expect(listed.map(\.deviceId) == ["COMPAT", "PHONE", nil])
        #expect(listed.map(\.clientId) == [nil, "client-1", "client-2"])
        #expect(listed.last?.id == web.id)

        let revocations = fixture.revocations.count
        let (ended, outcome) = try await fixture.accounts.endSession(id: phone.id)
        #expect(ended.kind == .oauth2 && ended.id == phone.id && !ended.isActive)
        #expect(outcome == .done)
        #expect(try await isRevoked(fixture, phoneToken))
        #expect(fixture.synapse.user("kim")?.devices.keys.sorted() == ["COMPAT"], "only its device goes")
        #expect(fixture.revocations.count > revocations)
        do {
            _ = try await fixture.accounts.endSession(id: phone.id)
            Issue.record("an ended session was ended again")
        } catch {
            #expect(error.isSessionFinished)
        }
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func killLockAndDeactivateCoverOAuth2AndBrowserSessions(_ backend: StoreBackend) async throws {
        let fixture = try await AccountFixture(backend)
        for name in ["lea", "max", "ned"] {
            _ = try await fixture.accounts.registerUser(username: name, password: nil, admin: false, displayName: nil, emails: [])
            let user = try #require(try await fixture.store.users.find(username: name))
            try await fixture.store.browserSessions.create(BrowserSession(id: "browser-\(name)", userId: user.id, createdAt: Date(), authenticatedAt: Date()))
        }
        _ = try await fixture.accounts.issueCompatibilityToken(username: "lea", deviceId: "COMPAT", synapseAdmin: false)
        let (_, leaToken) = try await oauth2Session(fixture, "lea", device: "PHONE", at: 10)
        let (killed, outcome) = try await fixture.accounts.killSessions(username: "lea")
        #expect(killed.map(\.kind) == [.compat, .oauth2] && outcome == .done)
        #expect(try await isRevoked(fixture, leaToken))
        #expect(fixture.synapse.user("lea")?.devices.isEmpty == true)
        #expect(try await fixture.store.browserSessions.find(id: "browser-lea")?.0.finishedAt != nil)

        let (_, maxToken) = try await oauth2Session(fixture, "max", device: "TABLET", at: 10)
        let (locked, _) = try await fixture.accounts.lockUser(username: "max")
        #expect(locked.map(\.deviceId) == ["TABLET"])
        #expect(try await isRevoked(fixture, maxToken))
        #expect(try await fixture.store.browserSessions.find(id: "browser-max")?.0.finishedAt != nil)
        #expect(fixture.synapse.user("max")?.devices.isEmpty == true)

        let (_, nedToken) = try await oauth2Session(fixture, "ned", device: "LAPTOP", at: 10)
        _ = try await fixture.accounts.deactivateUser(username: "ned", erase: false)
        #expect(try await isRevoked(fixture, nedToken))
        #expect(try await fixture.store.browserSessions.find(id: "browser-ned")?.0.finishedAt != nil)
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func aCompatLoginOnAnOAuth2DeviceReplacesTheOAuth2Session(_ backend: StoreBackend) async throws {
        let fixture = try await AccountFixture(backend)
        _ = try await fixture.accounts.registerUser(username: "ola", password: nil, admin: false, displayName: nil, emails: [])
        let (_, token) = try await oauth2Session(fixture, "ola", device: "SHARED", at: 0)
        _ = try await fixture.accounts.issueCompatibilityToken(username: "ola", deviceId: "SHARED", synapseAdmin: false)
        #expect(try await isRevoked(fixture, token), "a device has one session")
        #expect(try await fixture.accounts.listSessions(username: "ola").filter(\.isActive).map(\.kind) == [.compat])
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func endingAClientCredentialsSessionNeedsNoSynapse(_ backend: StoreBackend) async throws {
        let fixture = try await AccountFixture(backend)
        let now = Date()
        let session = OAuth2Session(id: ULID.make(at: now, random: SystemRandom()), clientId: "service", userId: nil, scope: "", deviceId: nil, createdAt: now)
        try await fixture.store.oauth2Sessions.create(
            session: session,
            accessToken: OAuth2AccessToken(id: "at-cc", sessionId: session.id, tokenHash: String(repeating: "c", count: 64), createdAt: now, expiresAt: now.addingTimeInterval(300)),
            refreshToken: nil, grantId: nil)
        let (ended, outcome) = try await fixture.accounts.endSession(id: session.id)
        #expect(ended.kind == .oauth2 && !ended.isActive && outcome == .notNeeded)
        try await fixture.close()
    }
}
