import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseIdentity
import GatehouseStorage
import GatehouseTestSupport
import Testing

/// RFC 8628: the device authorization request and the device code grant.
@Suite(.serialized)
struct DeviceCodeGrantTests {
    private func setUp(_ backend: StoreBackend, grants: [String] = [GrantType.deviceCode, GrantType.refreshToken]) async throws -> OAuth2Fixture {
        let fixture = try await OAuth2Fixture(backend)
        try await fixture.user("alice")
        try await fixture.registerClient("client-1", grants: grants)
        return fixture
    }

    private func authorize(
        _ fixture: OAuth2Fixture, scope: String? = "openid urn:matrix:client:api:*", client: String = "client-1"
    ) async throws(OAuth2TokenError) -> DeviceAuthorizationService.Authorization {
        var parameters: [(String, String)] = []
        if let scope { parameters.append(("scope", scope)) }
        return try await fixture.deviceAuthorization.authorize(credentials: OAuth2Fixture.credentials(client), form: OAuth2Fixture.form(parameters))
    }

    private func grant(_ fixture: OAuth2Fixture, _ authorization: DeviceAuthorizationService.Authorization) async throws -> DeviceCodeGrant {
        let userCode = try #require(UserCode.normalized(authorization.userCode))
        return try #require(try await fixture.store.deviceGrants.findPending(userCode: userCode))
    }

    @Test(arguments: StoreBackend.allCases) func authorizationStoresAPendingGrantWithAGeneratedDevice(_ backend: StoreBackend) async throws {
        let fixture = try await setUp(backend)
        let authorization = try await authorize(fixture)
        #expect(authorization.deviceCode.count == 32 && authorization.expiresIn == 1200 && authorization.interval == 5)
        #expect(authorization.userCode.count == 9 && authorization.userCode.dropFirst(4).first == "-")
        let grant = try await grant(fixture, authorization)
        #expect(grant.deviceCodeHash == TokenHasher.sha256Hex(authorization.deviceCode))
        #expect(grant.expiresAt == fixture.clock.now().addingTimeInterval(1200))
        let tokens = grant.scope.split(separator: " ")
        #expect(tokens.prefix(2) == ["openid", "urn:matrix:client:api:*"])
        #expect(tokens.count == 3 && tokens[2].hasPrefix(MatrixScope.devicePrefix) && tokens[2].count == MatrixScope.devicePrefix.count + 10)
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func pendingSlowDownApprovedThenUsed(_ backend: StoreBackend) async throws {
        let fixture = try await setUp(backend)
        let authorization = try await authorize(fixture, scope: "openid urn:matrix:client:api:* urn:matrix:client:device:TVDEVICE01")
        await expectOAuth2Error(.authorizationPending) { try await fixture.poll(authorization.deviceCode) }
        fixture.clock.advance(by: 4)
        await expectOAuth2Error(.slowDown) { try await fixture.poll(authorization.deviceCode) }
        fixture.clock.advance(by: 4)
        await expectOAuth2Error(.slowDown) { try await fixture.poll(authorization.deviceCode) }
        fixture.clock.advance(by: 5)
        await expectOAuth2Error(.authorizationPending) { try await fixture.poll(authorization.deviceCode) }

        let grant = try await grant(fixture, authorization)
        try await fixture.store.deviceGrants.decide(
            id: grant.id, approved: true, userId: "user-alice", browserSessionId: "browser-alice", at: fixture.clock.now())
        fixture.clock.advance(by: 5)
        let response = try await fixture.poll(authorization.deviceCode)
        #expect(response.refreshToken != nil && response.idToken != nil)
        #expect(response.scope == "openid urn:matrix:client:api:* urn:matrix:client:device:TVDEVICE01")
        #expect(fixture.synapse.user("alice")?.devices["TVDEVICE01"] != nil)
        let claims = try OAuth2Fixture.claims(try #require(response.idToken))
        #expect(claims["sub"] as? String == "user-alice" && claims["nonce"] == nil)
        #expect(try await fixture.store.deviceGrants.find(id: grant.id)?.sessionId != nil)
        fixture.clock.advance(by: 5)
        await expectOAuth2Error(.invalidGrant) { try await fixture.poll(authorization.deviceCode) }
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func rejectedExpiredUnknownAndOtherClients(_ backend: StoreBackend) async throws {
        let fixture = try await setUp(backend)
        try await fixture.registerClient("client-2", grants: [GrantType.deviceCode])
        let rejected = try await authorize(fixture)
        try await fixture.store.deviceGrants.decide(
            id: try await grant(fixture, rejected).id, approved: false, userId: "user-alice", browserSessionId: "browser-alice",
            at: fixture.clock.now())
        await expectOAuth2Error(.accessDenied) { try await fixture.poll(rejected.deviceCode) }

        let other = try await authorize(fixture)
        await expectOAuth2Error(.invalidGrant) { try await fixture.poll(other.deviceCode, credentials: OAuth2Fixture.credentials("client-2")) }
        await expectOAuth2Error(.invalidGrant) { try await fixture.poll("no-such-device-code") }

        let expiring = try await authorize(fixture)
        fixture.clock.advance(by: 1200)
        await expectOAuth2Error(.expiredToken) { try await fixture.poll(expiring.deviceCode) }
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func noRefreshTokenWithoutTheRefreshGrantAndNoIDTokenWithoutOpenID(_ backend: StoreBackend) async throws {
        let fixture = try await setUp(backend, grants: [GrantType.deviceCode])
        let authorization = try await authorize(fixture, scope: "urn:matrix:client:api:*")
        try await fixture.store.deviceGrants.decide(
            id: try await grant(fixture, authorization).id, approved: true, userId: "user-alice", browserSessionId: "browser-alice",
            at: fixture.clock.now())
        let response = try await fixture.poll(authorization.deviceCode)
        #expect(response.refreshToken == nil && response.idToken == nil)
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func synapseFailureReleasesTheGrantForTheNextPoll(_ backend: StoreBackend) async throws {
        let fixture = try await setUp(backend)
        let authorization = try await authorize(fixture)
        try await fixture.store.deviceGrants.decide(
            id: try await grant(fixture, authorization).id, approved: true, userId: "user-alice", browserSessionId: "browser-alice",
            at: fixture.clock.now())
        fixture.synapse.failNext(503)
        await expectOAuth2Error(.temporarilyUnavailable) { try await fixture.poll(authorization.deviceCode) }
        fixture.clock.advance(by: 5)
        let response = try await fixture.poll(authorization.deviceCode)
        #expect(try await fixture.isLive(accessToken: response.accessToken))
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func aUserLockedAfterApprovingGetsNothing(_ backend: StoreBackend) async throws {
        let fixture = try await setUp(backend)
        let authorization = try await authorize(fixture)
        try await fixture.store.deviceGrants.decide(
            id: try await grant(fixture, authorization).id, approved: true, userId: "user-alice", browserSessionId: "browser-alice",
            at: fixture.clock.now())
        try await fixture.store.users.setLocked(userId: "user-alice", at: fixture.clock.now())
        await expectOAuth2Error(.invalidGrant) { try await fixture.poll(authorization.deviceCode) }
        #expect(fixture.synapse.user("alice")?.devices.isEmpty == true)
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func authorizationRefusals(_ backend: StoreBackend) async throws {
        let fixture = try await setUp(backend)
        try await fixture.registerClient("no-device", grants: [GrantType.authorizationCode])
        await expectOAuth2Error(.unauthorizedClient) { try await authorize(fixture, client: "no-device") }
        await expectOAuth2Error(.invalidClient) { try await authorize(fixture, client: "nobody") }
        await expectOAuth2Error(.invalidScope) { try await authorize(fixture, scope: "urn:matrix:client:api:* urn:matrix:org.matrix.msc2967.client:api:*") }
        await expectOAuth2Error(.invalidScope) { try await authorize(fixture, scope: "urn:matrix:client:device:ABCDEFGHIJ") }
        await expectOAuth2Error(.invalidScope) {
            try await authorize(fixture, scope: "urn:matrix:client:api:* urn:matrix:client:device:AAAAAAAAAA urn:matrix:client:device:BBBBBBBBBB")
        }
        await expectOAuth2Error(.invalidScope) { try await authorize(fixture, scope: "urn:synapse:admin:*") }
        await expectOAuth2Error(.invalidScope) { try await authorize(fixture, scope: "bad\"token") }
        // The same policy as /authorize (AuthorizationScope): MAS's device id pattern, unknown scopes refused.
        await expectOAuth2Error(.invalidScope) { try await authorize(fixture, scope: "urn:matrix:client:api:* urn:matrix:client:device:SHORT") }
        await expectOAuth2Error(.invalidScope) { try await authorize(fixture, scope: "openid profile") }
        #expect(try await grant(fixture, try await authorize(fixture, scope: "openid email")).scope == "openid email")
        try await fixture.close()
    }
}
