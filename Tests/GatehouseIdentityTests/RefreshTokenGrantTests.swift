import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseIdentity
import GatehouseStorage
import GatehouseTestSupport
import Testing

/// `grant_type=refresh_token`: rotation, the one lost-response retry, and replays that end the session.
@Suite(.serialized)
struct RefreshTokenGrantTests {
    /// A fixture with alice's session from an authorization code.
    private func setUp(_ backend: StoreBackend) async throws -> (OAuth2Fixture, OAuth2TokenService.TokenResponse) {
        let fixture = try await OAuth2Fixture(backend)
        try await fixture.user("alice")
        try await fixture.registerClient("client-1")
        let response = try await fixture.exchange(code: try await fixture.fulfilledGrant("grant-1"))
        return (fixture, response)
    }

    @Test(arguments: StoreBackend.allCases) func rotationIssuesANewPairAndKillsTheOldAccessToken(_ backend: StoreBackend) async throws {
        let (fixture, first) = try await setUp(backend)
        fixture.clock.advance(by: 100)
        let second = try await fixture.refresh(try #require(first.refreshToken))
        #expect(second.accessToken != first.accessToken && second.refreshToken != first.refreshToken)
        #expect(second.expiresIn == 300 && second.idToken == nil)
        #expect(second.scope == "openid urn:matrix:client:api:* urn:matrix:client:device:PHONE12345")
        #expect(try await !fixture.isLive(accessToken: first.accessToken))
        #expect(try await fixture.isLive(accessToken: second.accessToken))
        let third = try await fixture.refresh(try #require(second.refreshToken))
        #expect(try await fixture.isLive(accessToken: third.accessToken), "a chain of refreshes works")
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func aLostAnswerMayBeRetriedOnceThenAReplayEndsTheSession(_ backend: StoreBackend) async throws {
        let (fixture, first) = try await setUp(backend)
        let refreshToken = try #require(first.refreshToken)
        let lost = try await fixture.refresh(refreshToken)
        // The client never saw `lost`: its access token was never introspected.
        let retried = try await fixture.refresh(refreshToken)
        #expect(retried.accessToken != lost.accessToken)
        #expect(try await !fixture.isLive(accessToken: lost.accessToken), "the unused successor dies")
        #expect(try await fixture.isLive(accessToken: retried.accessToken))
        let lostRefresh = try #require(lost.refreshToken)
        await expectOAuth2Error(.invalidGrant) { try await fixture.refresh(lostRefresh) }

        // The refresh token retried once cannot be retried again: that ends the session.
        let (fixture2, first2) = try await setUp(backend)
        let token2 = try #require(first2.refreshToken)
        _ = try await fixture2.refresh(token2)
        let retried2 = try await fixture2.refresh(token2)
        await expectOAuth2Error(.invalidGrant) { try await fixture2.refresh(token2) }
        #expect(try await !fixture2.isLive(accessToken: retried2.accessToken))
        #expect(fixture2.synapse.user("alice")?.devices.isEmpty == true)
        try await fixture.close()
        try await fixture2.close()
    }

    @Test(arguments: StoreBackend.allCases) func aReplayAfterTheSuccessorWasUsedEndsTheSession(_ backend: StoreBackend) async throws {
        let (fixture, first) = try await setUp(backend)
        let refreshToken = try #require(first.refreshToken)
        let second = try await fixture.refresh(refreshToken)
        try await fixture.markUsed(second.accessToken)
        let revocations = fixture.revocations.count
        await expectOAuth2Error(.invalidGrant) { try await fixture.refresh(refreshToken) }
        #expect(try await !fixture.isLive(accessToken: second.accessToken), "the whole session ends")
        #expect(fixture.synapse.user("alice")?.devices["PHONE12345"] == nil, "and its device")
        #expect(fixture.revocations.count > revocations)
        let secondRefresh = try #require(second.refreshToken)
        await expectOAuth2Error(.invalidGrant) { try await fixture.refresh(secondRefresh) }
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func aReplayAfterTheSuccessorWasRefreshedEndsTheSession(_ backend: StoreBackend) async throws {
        let (fixture, first) = try await setUp(backend)
        let refreshToken = try #require(first.refreshToken)
        let second = try await fixture.refresh(refreshToken)
        let third = try await fixture.refresh(try #require(second.refreshToken))
        await expectOAuth2Error(.invalidGrant) { try await fixture.refresh(refreshToken) }
        #expect(try await !fixture.isLive(accessToken: third.accessToken))
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func otherClientsGarbageAndEndedSessionsAreRefused(_ backend: StoreBackend) async throws {
        let (fixture, first) = try await setUp(backend)
        let refreshToken = try #require(first.refreshToken)
        try await fixture.registerClient("client-2")
        await expectOAuth2Error(.invalidGrant) { try await fixture.refresh(refreshToken, credentials: OAuth2Fixture.credentials("client-2")) }
        #expect(try await fixture.isLive(accessToken: first.accessToken), "another client's attempt does not end the session")
        await expectOAuth2Error(.invalidGrant) { try await fixture.refresh("mar_garbage") }
        await expectOAuth2Error(.invalidGrant) { try await fixture.refresh(first.accessToken) }
        await expectOAuth2Error(.invalidGrant) { try await fixture.refresh(TokenFormat.generate(.refreshToken, random: SystemRandom())) }

        try await fixture.store.users.setLocked(userId: "user-alice", at: fixture.clock.now())
        await expectOAuth2Error(.invalidGrant) { try await fixture.refresh(refreshToken) }
        try await fixture.store.users.setLocked(userId: "user-alice", at: nil)
        let session = try #require(try await fixture.store.oauth2Sessions.activeSessions(userId: "user-alice").first)
        _ = try await fixture.store.oauth2Sessions.finish(sessionId: session.id, at: fixture.clock.now())
        await expectOAuth2Error(.invalidGrant) { try await fixture.refresh(refreshToken) }
        try await fixture.close()
    }
}
