import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseStorage
import GatehouseTestSupport
import GatehouseTesting
import NIOHTTP1
import NIOPosix
import Testing

@testable import GatehouseServer

extension IntrospectionFixture {
    /// An OAuth 2.0 session (alice's unless `withUser` is false) with an access and a refresh token.
    func issueOAuth2(
        scope: String = "openid urn:matrix:client:api:* urn:matrix:client:device:ABCDEFGHIJ", withUser: Bool = true, device: String? = "ABCDEFGHIJ"
    ) async throws -> (access: String, refresh: String, session: OAuth2Session, accessRow: OAuth2AccessToken, refreshRow: OAuth2RefreshToken) {
        let now = clock.now()
        let random = SystemRandom()
        let session = OAuth2Session(
            id: ULID.make(at: now, random: random), clientId: "01CLIENT", userId: withUser ? user.id : nil, scope: scope,
            deviceId: withUser ? device : nil, createdAt: now)
        let access = TokenFormat.generate(.accessToken, random: random)
        let refresh = TokenFormat.generate(.refreshToken, random: random)
        let accessRow = OAuth2AccessToken(
            id: ULID.make(at: now, random: random), sessionId: session.id, tokenHash: TokenHasher.sha256Hex(access), createdAt: now,
            expiresAt: now.addingTimeInterval(300))
        let refreshRow = OAuth2RefreshToken(
            id: ULID.make(at: now, random: random), sessionId: session.id, accessTokenId: accessRow.id, tokenHash: TokenHasher.sha256Hex(refresh),
            createdAt: now)
        try await store.oauth2Sessions.create(session: session, accessToken: accessRow, refreshToken: withUser ? refreshRow : nil, grantId: nil)
        return (access, refresh, session, accessRow, refreshRow)
    }
}

/// Introspection and the edge check of `mat_` / `mar_` tokens, shaped as mas-surface.md's table says.
@Suite(.serialized)
struct OAuth2IntrospectionTests {
    /// Whether the answer is exactly `{"active":false}`.
    private static func isInactive(_ fixture: IntrospectionFixture, _ request: LocalRequest) async throws -> Bool {
        let (status, json) = try await fixture.introspect(request)
        return status == 200 && json.count == 1 && json["active"] as? Bool == false
    }

    @Test(arguments: StoreBackend.allCases) func accessTokenHasMASShapeAndItsFirstUseIsRecorded(_ backend: StoreBackend) async throws {
        let fixture = try await IntrospectionFixture(backend)
        let issued = try await fixture.issueOAuth2()
        let now = Int(fixture.clock.now().timeIntervalSince1970)
        let expected = """
            {"active":true,"scope":"openid urn:matrix:client:api:* urn:matrix:client:device:ABCDEFGHIJ urn:matrix:org.matrix.msc2967.client:api:* \
            urn:matrix:org.matrix.msc2967.client:device:ABCDEFGHIJ","client_id":"01CLIENT","username":"alice","sub":"\(fixture.user.id)",\
            "token_type":"access_token","exp":\(now + 300),"expires_in":300,"iat":\(now),"nbf":\(now),"jti":"\(issued.accessRow.id)"}
            """
        for header in [true, false] {
            let response = await fixture.endpoint.respond(to: fixture.request(token: issued.access, deviceHeader: header))
            #expect(response.status == .ok)
            #expect(String(buffer: response.body) == expected, "the device scope is in the scope whatever the header; no device_id field")
        }
        #expect(try await fixture.store.oauth2Sessions.findAccessToken(id: issued.accessRow.id)?.firstUsedAt == fixture.clock.now())
        fixture.clock.advance(by: 120)
        #expect(try await fixture.introspect(fixture.request(token: issued.access)).json["expires_in"] as? Int == 180, "from the cache")
        fixture.clock.advance(by: 180)
        #expect(try await fixture.introspect(fixture.request(token: issued.access)).json["active"] as? Bool == false, "expired")
    }

    @Test(arguments: StoreBackend.allCases) func refreshTokenAndHints(_ backend: StoreBackend) async throws {
        let fixture = try await IntrospectionFixture(backend)
        let issued = try await fixture.issueOAuth2()
        let refresh = try await fixture.introspect(fixture.request(token: issued.refresh, hint: "refresh_token"))
        #expect(refresh.json["token_type"] as? String == "refresh_token" && refresh.json["jti"] as? String == issued.refreshRow.id)
        #expect(refresh.json["exp"] == nil && refresh.json["expires_in"] == nil && refresh.json["device_id"] == nil)
        #expect(refresh.json["client_id"] as? String == "01CLIENT" && refresh.json["username"] as? String == "alice")
        #expect(try await fixture.introspect(fixture.request(token: issued.refresh, hint: nil)).json["active"] as? Bool == true)
        #expect(try await fixture.introspect(fixture.request(token: issued.refresh, hint: "access_token")).json.count == 1)
        #expect(try await fixture.introspect(fixture.request(token: issued.access, hint: "refresh_token")).json.count == 1)
        #expect(try await fixture.store.oauth2Sessions.findAccessToken(id: issued.accessRow.id)?.firstUsedAt == nil,
            "introspecting the refresh token is not a use of the access token")
    }

    @Test(arguments: StoreBackend.allCases) func deadTokensAreInactiveAtOnce(_ backend: StoreBackend) async throws {
        let fixture = try await IntrospectionFixture(backend)
        let issued = try await fixture.issueOAuth2()
        #expect(try await fixture.introspect(fixture.request(token: issued.access)).json["active"] as? Bool == true)
        _ = try await fixture.store.oauth2Sessions.finish(sessionId: issued.session.id, at: fixture.clock.now())
        #expect(try await Self.isInactive(fixture, fixture.request(token: issued.access)))
        #expect(try await Self.isInactive(fixture, fixture.request(token: issued.refresh, hint: nil)))

        let locked = try await fixture.issueOAuth2(device: "OTHERDEVICE")
        try await fixture.store.users.setLocked(userId: fixture.user.id, at: fixture.clock.now())
        #expect(try await Self.isInactive(fixture, fixture.request(token: locked.access)))
        #expect(try await Self.isInactive(fixture, fixture.request(token: "mat_garbage")))
    }

    @Test(arguments: StoreBackend.allCases) func clientCredentialsTokensHaveNoUser(_ backend: StoreBackend) async throws {
        let fixture = try await IntrospectionFixture(backend)
        let issued = try await fixture.issueOAuth2(scope: "urn:mas:graphql:*", withUser: false)
        let json = try await fixture.introspect(fixture.request(token: issued.access)).json
        #expect(json["active"] as? Bool == true && json["scope"] as? String == "urn:mas:graphql:*")
        #expect(json["username"] == nil && json["sub"] == nil && json["client_id"] as? String == "01CLIENT")
    }

    @Test(arguments: StoreBackend.allCases) func edgeCheckRefusesDeadOAuthTokens(_ backend: StoreBackend) async throws {
        let fixture = try await IntrospectionFixture(backend)
        let check = EdgeTokenCheck(validator: fixture.endpoint.validator, serverName: "example.org")
        let alice = EdgeTokenCheck.Decision.forward(user: "alice")
        let issued = try await fixture.issueOAuth2()
        let bearer: HTTPHeaders = ["Authorization": "Bearer \(issued.access)"]
        guard case .lookup(let hash, let kind, _) = check.decide(method: .GET, headers: bearer, query: nil) else {
            Issue.record("an unknown token must be looked up")
            return
        }
        #expect(kind == .accessToken)
        #expect(await check.resolve(hash: hash, kind: kind, address: nil) == alice)
        #expect(check.decide(method: .GET, headers: bearer, query: nil) == alice)
        #expect(try await fixture.store.oauth2Sessions.findAccessToken(id: issued.accessRow.id)?.firstUsedAt != nil, "the client used it")
        _ = try await fixture.store.oauth2Sessions.finish(sessionId: issued.session.id, at: fixture.clock.now())
        #expect(check.decide(method: .GET, headers: bearer, query: nil) == .lookup(hash: hash, kind: .accessToken, address: nil))
        #expect(await check.resolve(hash: hash, kind: .accessToken, address: nil) == .refuse)
        #expect(check.decide(method: .GET, headers: bearer, query: nil) == .refuse)
        // A refresh token is not an access token: Synapse refuses it itself.
        #expect(check.decide(method: .GET, headers: ["Authorization": "Bearer \(issued.refresh)"], query: nil) == .forward(user: nil))
    }

    /// Revoking through `/oauth2/revoke` refuses the token at once on a proxied route, although it
    /// was cached as active a moment before.
    @Test(arguments: StoreBackend.allCases) func revocationIsSeenAtOnceOnEveryRoute(_ backend: StoreBackend) async throws {
        let origin = try await FakeOrigin(group: MultiThreadedEventLoopGroup.singleton)
        defer { Task { try? await origin.stop() } }
        try await TokenEndpointsFixture.run(backend, upstream: origin.port) { fixture in
            let access = try #require(try await fixture.tokens()["access_token"] as? String)
            let through = try await fixture.get("/_matrix/client/v3/account/whoami", headers: ["Authorization: Bearer \(access)"])
            #expect(through.status == 200, "forwarded while live")
            #expect(try await fixture.post("/oauth2/revoke", "token=\(access)&client_id=public").status == 200)
            let refused = try await fixture.get("/_matrix/client/v3/account/whoami", headers: ["Authorization: Bearer \(access)"])
            #expect(refused.status == 401 && refused.body.contains("M_UNKNOWN_TOKEN"))
            #expect(origin.requests.count == 1, "the revoked token never reached the origin")
        }
    }
}
