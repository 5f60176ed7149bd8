import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseIdentity
import GatehouseStorage
import GatehouseTestSupport
import Testing

/// `client_credentials`, revocation (RFC 7009) and userinfo.
@Suite(.serialized)
struct ClientCredentialsAndRevocationTests {
    private func clientCredentials(_ fixture: OAuth2Fixture, scope: String?, client: String = "service", method: ClientAuthMethod = .clientSecretBasic)
        async throws(OAuth2TokenError) -> OAuth2TokenService.TokenResponse
    {
        var parameters = [("grant_type", "client_credentials")]
        if let scope { parameters.append(("scope", scope)) }
        return try await fixture.service.token(credentials: OAuth2Fixture.credentials(client, method: method), form: OAuth2Fixture.form(parameters))
    }

    @Test(arguments: StoreBackend.allCases) func clientCredentialsIssuesAnAccessTokenOnly(_ backend: StoreBackend) async throws {
        let fixture = try await OAuth2Fixture(backend)
        try await fixture.registerClient("service", method: .clientSecretBasic, grants: [GrantType.clientCredentials])
        let empty = try await clientCredentials(fixture, scope: nil)
        #expect(empty.refreshToken == nil && empty.scope == nil && empty.idToken == nil && empty.expiresIn == 300)
        let lookup = try #require(try await fixture.store.oauth2Sessions.lookupAccessToken(hash: TokenHasher.sha256Hex(empty.accessToken)))
        #expect(lookup.user == nil && lookup.session.userId == nil && lookup.session.deviceId == nil && lookup.session.clientId == "service")
        #expect(try await clientCredentials(fixture, scope: "urn:mas:graphql:* urn:mas:graphql:*").scope == "urn:mas:graphql:*")

        await expectOAuth2Error(.invalidScope) { try await clientCredentials(fixture, scope: "urn:matrix:client:api:*") }
        await expectOAuth2Error(.invalidScope) { try await clientCredentials(fixture, scope: "urn:matrix:client:device:ABCDEFGHIJ") }
        await expectOAuth2Error(.invalidScope) { try await clientCredentials(fixture, scope: "urn:synapse:admin:*") }
        await expectOAuth2Error(.invalidClient) { try await clientCredentials(fixture, scope: nil, method: .none) }

        try await fixture.registerClient("public", grants: [GrantType.clientCredentials])
        await expectOAuth2Error(.unauthorizedClient) { try await clientCredentials(fixture, scope: nil, client: "public", method: .none) }
        try await fixture.close()
    }

    /// alice's session from an authorization code of `client-1`.
    private func session(_ backend: StoreBackend) async throws -> (OAuth2Fixture, OAuth2TokenService.TokenResponse) {
        let fixture = try await OAuth2Fixture(backend)
        try await fixture.user("alice")
        try await fixture.registerClient("client-1")
        try await fixture.registerClient("client-2")
        return (fixture, try await fixture.exchange(code: try await fixture.fulfilledGrant("grant-1")))
    }

    private func revoke(_ fixture: OAuth2Fixture, _ token: String, hint: String? = nil, client: String = "client-1") async throws(OAuth2TokenError) {
        var parameters = [("token", token)]
        if let hint { parameters.append(("token_type_hint", hint)) }
        try await fixture.service.revoke(credentials: OAuth2Fixture.credentials(client), form: OAuth2Fixture.form(parameters))
    }

    @Test(arguments: StoreBackend.allCases) func revokingAnAccessTokenEndsTheSessionAndDeletesTheDevice(_ backend: StoreBackend) async throws {
        let (fixture, response) = try await session(backend)
        let revocations = fixture.revocations.count
        try await revoke(fixture, response.accessToken, hint: "access_token")
        #expect(try await !fixture.isLive(accessToken: response.accessToken))
        #expect(fixture.synapse.user("alice")?.devices.isEmpty == true)
        #expect(fixture.revocations.count > revocations)
        let refreshToken = try #require(response.refreshToken)
        await expectOAuth2Error(.invalidGrant) { try await fixture.refresh(refreshToken) }
        try await revoke(fixture, response.accessToken)  // already dead: nothing to do, no error
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func revokingARefreshTokenEndsTheSessionToo(_ backend: StoreBackend) async throws {
        let (fixture, response) = try await session(backend)
        let refreshToken = try #require(response.refreshToken)
        try await revoke(fixture, refreshToken, hint: "access_token")  // hint mismatch: nothing happens
        #expect(try await fixture.isLive(accessToken: response.accessToken))
        try await revoke(fixture, refreshToken)
        #expect(try await !fixture.isLive(accessToken: response.accessToken))
        #expect(fixture.synapse.user("alice")?.devices.isEmpty == true)
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func revocationErrors(_ backend: StoreBackend) async throws {
        let (fixture, response) = try await session(backend)
        await expectOAuth2Error(.unauthorizedClient) { try await revoke(fixture, response.accessToken, client: "client-2") }
        #expect(try await fixture.isLive(accessToken: response.accessToken))
        await expectOAuth2Error(.unsupportedTokenType) { try await revoke(fixture, response.accessToken, hint: "id_token") }
        await expectOAuth2Error(.invalidClient) { try await revoke(fixture, response.accessToken, client: "nobody") }
        await expectOAuth2Error(.invalidRequest) {
            try await fixture.service.revoke(credentials: OAuth2Fixture.credentials(), form: OAuth2Fixture.form([]))
        }
        try await revoke(fixture, "garbage")
        try await revoke(fixture, TokenFormat.generate(.accessToken, random: SystemRandom()))
        try await revoke(fixture, TokenFormat.generate(.compatAccessToken, random: SystemRandom()))
        #expect(try await fixture.isLive(accessToken: response.accessToken))
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func userInfoNeedsALiveTokenWithOpenID(_ backend: StoreBackend) async throws {
        let (fixture, response) = try await session(backend)
        #expect(try await fixture.service.userInfo(accessToken: response.accessToken) == .json(.init(subject: "user-alice", username: "alice")))
        let lookup = try #require(try await fixture.store.oauth2Sessions.lookupAccessToken(hash: TokenHasher.sha256Hex(response.accessToken)))
        #expect(lookup.token.firstUsedAt != nil, "the client holds the token")
        #expect(try await fixture.service.userInfo(accessToken: "mat_garbage") == nil)
        #expect(try await fixture.service.userInfo(accessToken: try #require(response.refreshToken)) == nil)

        let plain = try await fixture.exchange(code: try await fixture.fulfilledGrant("grant-2", scope: "urn:matrix:client:api:* urn:matrix:client:device:TABLET1234"))
        #expect(try await fixture.service.userInfo(accessToken: plain.accessToken) == nil, "no openid scope")
        fixture.clock.advance(by: 300)
        #expect(try await fixture.service.userInfo(accessToken: response.accessToken) == nil, "expired")
        try await fixture.close()
    }
}
