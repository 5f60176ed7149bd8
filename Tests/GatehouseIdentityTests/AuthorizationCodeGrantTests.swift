import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseIdentity
import GatehouseStorage
import GatehouseTestSupport
import Testing

/// `grant_type=authorization_code`, every success and error path.
@Suite(.serialized)
struct AuthorizationCodeGrantTests {
    private func setUp(_ backend: StoreBackend, signing: Bool = true) async throws -> OAuth2Fixture {
        let fixture = try await OAuth2Fixture(backend, signing: signing)
        try await fixture.user("alice")
        try await fixture.registerClient("client-1")
        return fixture
    }

    @Test(arguments: StoreBackend.allCases) func exchangeCreatesTheDeviceFirstThenTheSessionAndAnIDToken(_ backend: StoreBackend) async throws {
        let fixture = try await setUp(backend)
        let code = try await fixture.fulfilledGrant("grant-1")
        fixture.clock.advance(by: 30)
        let response = try await fixture.exchange(code: code, redirectURI: "io.element.app:/callback")

        #expect(TokenFormat.check(response.accessToken) == .success(.accessToken))
        #expect(try TokenFormat.check(#require(response.refreshToken)) == .success(.refreshToken))
        #expect(response.expiresIn == 300)
        #expect(response.scope == "openid urn:matrix:client:api:* urn:matrix:client:device:PHONE12345")
        #expect(fixture.synapse.user("alice")?.devices["PHONE12345"]?.displayName == "Element")

        let lookup = try #require(try await fixture.store.oauth2Sessions.lookupAccessToken(hash: TokenHasher.sha256Hex(response.accessToken)))
        #expect(lookup.session.deviceId == "PHONE12345" && lookup.session.clientId == "client-1" && lookup.session.userId == "user-alice")
        #expect(lookup.session.browserSessionId == "browser-alice")
        #expect(lookup.token.expiresAt == fixture.clock.now().addingTimeInterval(300))
        #expect(try await fixture.store.authorizationGrants.find(id: "grant-1")?.sessionId == lookup.session.id)

        let claims = try OAuth2Fixture.claims(try #require(response.idToken))
        let now = Int(fixture.clock.now().timeIntervalSince1970)
        #expect(claims["iss"] as? String == OAuth2Fixture.issuer)
        #expect(claims["sub"] as? String == "user-alice")
        #expect(claims["aud"] as? String == "client-1")
        #expect(claims["nonce"] as? String == "nonce-1")
        #expect(claims["iat"] as? Int == now && claims["exp"] as? Int == now + 3600)
        #expect(claims["auth_time"] as? Int == now - 90, "the browser session's last authentication")
        #expect(claims["at_hash"] as? String == IDTokenSigner.leftHalfHash(response.accessToken, algorithm: .es256))
        #expect(claims["c_hash"] as? String == IDTokenSigner.leftHalfHash(code, algorithm: .es256))
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func aReplayedCodeEndsTheSessionOfTheFirstExchange(_ backend: StoreBackend) async throws {
        let fixture = try await setUp(backend)
        let code = try await fixture.fulfilledGrant("grant-1")
        let first = try await fixture.exchange(code: code)
        #expect(fixture.synapse.user("alice")?.devices["PHONE12345"] != nil)
        let revocations = fixture.revocations.count

        await expectOAuth2Error(.invalidGrant) { try await fixture.exchange(code: code) }
        #expect(try await !fixture.isLive(accessToken: first.accessToken), "stricter than MAS: at once, not only after 20 s")
        #expect(fixture.synapse.user("alice")?.devices["PHONE12345"] == nil, "the device is deleted before the answer")
        #expect(fixture.revocations.count > revocations)
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func anExpiredCodeIsRefusedAndStaysUsed(_ backend: StoreBackend) async throws {
        let fixture = try await setUp(backend)
        let code = try await fixture.fulfilledGrant("grant-1")
        fixture.clock.advance(by: 601)
        await expectOAuth2Error(.invalidGrant) { try await fixture.exchange(code: code) }
        #expect(fixture.synapse.user("alice")?.devices.isEmpty == true)
        await expectOAuth2Error(.invalidGrant) { try await fixture.exchange(code: code) }

        let fresh = try await fixture.fulfilledGrant("grant-2")
        fixture.clock.advance(by: 600)
        #expect(try await fixture.exchange(code: fresh).refreshToken != nil, "exactly ten minutes is still in time")
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func pkceFailuresBurnTheCode(_ backend: StoreBackend) async throws {
        let fixture = try await setUp(backend)
        let missing = try await fixture.fulfilledGrant("grant-1")
        await expectOAuth2Error(.invalidRequest) { try await fixture.exchange(code: missing, verifier: nil) }
        await expectOAuth2Error(.invalidGrant) { try await fixture.exchange(code: missing) }

        let malformed = try await fixture.fulfilledGrant("grant-2")
        await expectOAuth2Error(.invalidRequest) { try await fixture.exchange(code: malformed, verifier: "short") }
        let badCharacter = try await fixture.fulfilledGrant("grant-3")
        await expectOAuth2Error(.invalidRequest) { try await fixture.exchange(code: badCharacter, verifier: String(repeating: "a", count: 42) + "!") }
        await expectOAuth2Error(.invalidGrant) { try await fixture.exchange(code: malformed) }

        let wrong = try await fixture.fulfilledGrant("grant-4")
        await expectOAuth2Error(.invalidGrant) { try await fixture.exchange(code: wrong, verifier: String(repeating: "a", count: 43)) }
        await expectOAuth2Error(.invalidGrant) { try await fixture.exchange(code: wrong) }
        #expect(fixture.synapse.user("alice")?.devices.isEmpty == true)
        #expect(try await fixture.store.oauth2Sessions.sessions(userId: "user-alice").isEmpty)
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func redirectURIMustMatchExactlyWhenSent(_ backend: StoreBackend) async throws {
        let fixture = try await setUp(backend)
        let code = try await fixture.fulfilledGrant("grant-1")
        await expectOAuth2Error(.invalidGrant) { try await fixture.exchange(code: code, redirectURI: "io.element.app:/callback/") }
        await expectOAuth2Error(.invalidGrant) { try await fixture.exchange(code: code, redirectURI: "io.element.app:/callback") }
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func anotherClientCannotUseTheCodeAndDoesNotBurnIt(_ backend: StoreBackend) async throws {
        let fixture = try await setUp(backend)
        try await fixture.registerClient("client-2")
        let code = try await fixture.fulfilledGrant("grant-1")
        await expectOAuth2Error(.invalidGrant) { try await fixture.exchange(code: code, credentials: OAuth2Fixture.credentials("client-2")) }
        #expect(try await fixture.exchange(code: code).accessToken.hasPrefix("mat_"))
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func theBrowserSessionAndTheUserMustStillBeActive(_ backend: StoreBackend) async throws {
        let fixture = try await setUp(backend)
        let code = try await fixture.fulfilledGrant("grant-1")
        _ = try await fixture.store.browserSessions.finish(id: "browser-alice", at: fixture.clock.now())
        await expectOAuth2Error(.invalidGrant) { try await fixture.exchange(code: code) }

        try await fixture.user("bob")
        let bobs = try await fixture.fulfilledGrant("grant-2", user: "bob")
        try await fixture.store.users.setLocked(userId: "user-bob", at: fixture.clock.now())
        await expectOAuth2Error(.invalidGrant) { try await fixture.exchange(code: bobs) }
        #expect(fixture.synapse.user("bob")?.devices.isEmpty == true)
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func synapseFailureReleasesTheCodeForARetry(_ backend: StoreBackend) async throws {
        let fixture = try await setUp(backend)
        let code = try await fixture.fulfilledGrant("grant-1")
        fixture.synapse.down = true
        await expectOAuth2Error(.temporarilyUnavailable) { try await fixture.exchange(code: code) }
        #expect(try await fixture.store.oauth2Sessions.sessions(userId: "user-alice").isEmpty, "nothing is stored")
        #expect(try await fixture.store.jobs.pending().map(\.kind) == ["remove_orphan_device"], "a device Synapse may have made is cleaned up")
        fixture.synapse.down = false

        fixture.synapse.failNext(400, errcode: "M_INVALID_PARAM", error: "bad device")
        await expectOAuth2Error(.serverError) { try await fixture.exchange(code: code) }
        let response = try await fixture.exchange(code: code)
        #expect(try await fixture.isLive(accessToken: response.accessToken))
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func openidWithoutASigningKeyFailsAndReleasesTheCode(_ backend: StoreBackend) async throws {
        let fixture = try await setUp(backend, signing: false)
        let code = try await fixture.fulfilledGrant("grant-1")
        await expectOAuth2Error(.serverError) { try await fixture.exchange(code: code) }
        #expect(try await fixture.store.authorizationGrants.find(id: "grant-1")?.exchangedAt == nil, "released")
        #expect(fixture.synapse.requests.isEmpty, "nothing reached Synapse")

        let plain = try await fixture.fulfilledGrant("grant-2", scope: "urn:matrix:client:api:* urn:matrix:client:device:TABLET1234")
        let response = try await fixture.exchange(code: plain)
        #expect(response.idToken == nil && response.scope == "urn:matrix:client:api:* urn:matrix:client:device:TABLET1234")
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func aSessionOnTheSameDeviceIsReplaced(_ backend: StoreBackend) async throws {
        let fixture = try await setUp(backend)
        let first = try await fixture.exchange(code: try await fixture.fulfilledGrant("grant-1"))
        let second = try await fixture.exchange(code: try await fixture.fulfilledGrant("grant-2"))
        #expect(try await !fixture.isLive(accessToken: first.accessToken))
        #expect(try await fixture.isLive(accessToken: second.accessToken))
        #expect(fixture.synapse.user("alice")?.devices.keys.sorted() == ["PHONE12345"])
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func synapseAdminScopeNeedsAnAdministrator(_ backend: StoreBackend) async throws {
        let fixture = try await setUp(backend)
        try await fixture.user("root", admin: true)
        let scope = "urn:matrix:client:api:* urn:synapse:admin:* urn:matrix:client:device:ADMINDEV01"
        let alices = try await fixture.fulfilledGrant("grant-1", scope: scope)
        await expectOAuth2Error(.invalidScope) { try await fixture.exchange(code: alices) }
        #expect(try await fixture.exchange(code: try await fixture.fulfilledGrant("grant-2", user: "root", scope: scope)).scope == scope)
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func grantTypeChecks(_ backend: StoreBackend) async throws {
        let fixture = try await setUp(backend)
        try await fixture.registerClient("code-only", grants: [GrantType.refreshToken])
        let code = try await fixture.fulfilledGrant("grant-1", client: "code-only")
        await expectOAuth2Error(.unauthorizedClient) { try await fixture.exchange(code: code, credentials: OAuth2Fixture.credentials("code-only")) }
        await expectOAuth2Error(.unsupportedGrantType) {
            try await fixture.service.token(credentials: OAuth2Fixture.credentials(), form: OAuth2Fixture.form([("grant_type", "password")]))
        }
        await expectOAuth2Error(.invalidRequest) {
            try await fixture.service.token(credentials: OAuth2Fixture.credentials(), form: OAuth2Fixture.form([("code", "x")]))
        }
        await expectOAuth2Error(.invalidRequest) {
            try await fixture.service.token(credentials: OAuth2Fixture.credentials(), form: OAuth2Fixture.form([("grant_type", "authorization_code")]))
        }
        await expectOAuth2Error(.invalidGrant) { try await fixture.exchange(code: "no-such-code") }
        await expectOAuth2Error(.invalidClient) { try await fixture.exchange(code: code, credentials: OAuth2Fixture.credentials("nobody")) }
        try await fixture.close()
    }
}
