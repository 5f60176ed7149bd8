import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseIdentity
import GatehouseStorage
import GatehouseTestSupport
import Testing

/// Single use under concurrency: many requests presenting the same code, refresh token or device code
/// at once (a client's retry storm, or an attacker racing the client) against a real store (SQLite
/// and PostgreSQL). Whatever the interleaving, at most one presentation wins, every other gets
/// `invalid_grant`, and no second live token family is left behind.
@Suite(.serialized)
struct ConcurrentRedemptionTests {
    private static let racers = 8

    private enum Outcome: Sendable {
        case issued(OAuth2TokenService.TokenResponse)
        case refused(OAuth2TokenError.Code)
    }

    /// The same token request, `racers` times at once.
    private func race(_ fixture: OAuth2Fixture, _ parameters: [(String, String)]) async -> [Outcome] {
        let service = fixture.service
        let form = OAuth2Fixture.form(parameters)
        return await withTaskGroup(of: Outcome.self) { group in
            for _ in 0..<Self.racers {
                group.addTask {
                    do throws(OAuth2TokenError) {
                        return .issued(try await service.token(credentials: OAuth2Fixture.credentials(), form: form))
                    } catch {
                        return .refused(error.code)
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
    }

    private func issued(_ outcomes: [Outcome]) -> [OAuth2TokenService.TokenResponse] {
        outcomes.compactMap { if case .issued(let response) = $0 { response } else { nil } }
    }

    private func refusals(_ outcomes: [Outcome]) -> [OAuth2TokenError.Code] {
        outcomes.compactMap { if case .refused(let code) = $0 { code } else { nil } }
    }

    /// Refresh tokens among `responses` that could still be exchanged.
    private func liveRefreshTokens(_ fixture: OAuth2Fixture, _ responses: [OAuth2TokenService.TokenResponse]) async throws -> Int {
        var live = 0
        for response in responses {
            guard let token = response.refreshToken,
                let found = try await fixture.store.oauth2Sessions.lookupRefreshToken(hash: TokenHasher.sha256Hex(token))
            else { continue }
            if found.token.consumedAt == nil, found.token.revokedAt == nil, found.session.finishedAt == nil { live += 1 }
        }
        return live
    }

    @Test(arguments: StoreBackend.allCases) func oneCodePresentedEightTimesAtOnceLeavesNoLiveSession(_ backend: StoreBackend) async throws {
        let fixture = try await OAuth2Fixture(backend)
        try await fixture.user("alice")
        try await fixture.registerClient("client-1")
        let code = try await fixture.fulfilledGrant("grant-1")

        let outcomes = await race(fixture, [
            ("grant_type", "authorization_code"), ("code", code), ("code_verifier", OAuth2Fixture.verifier),
        ])
        let winners = issued(outcomes)
        #expect(winners.count <= 1, "a code is single use")
        #expect(refusals(outcomes).allSatisfy { $0 == .invalidGrant }, "\(refusals(outcomes))")
        // Every other presentation was a replay, which ends whatever the first exchange created.
        for winner in winners {
            #expect(try await !fixture.isLive(accessToken: winner.accessToken))
        }
        #expect(try await liveRefreshTokens(fixture, winners) == 0)
        #expect(try await fixture.store.oauth2Sessions.activeSessions(userId: "user-alice").isEmpty)
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func oneRefreshTokenPresentedEightTimesAtOnceIsAnsweredAsIfInTurn(_ backend: StoreBackend) async throws {
        let fixture = try await OAuth2Fixture(backend)
        try await fixture.user("alice")
        try await fixture.registerClient("client-1")
        let first = try await fixture.exchange(code: try await fixture.fulfilledGrant("grant-1"))
        let refreshToken = try #require(first.refreshToken)

        let outcomes = await race(fixture, [("grant_type", "refresh_token"), ("refresh_token", refreshToken)])
        let winners = issued(outcomes)
        // Answered as if one after the other: a rotation, at most the one lost-response retry, and
        // then a replay, which ends the session. Nothing issued stays usable.
        #expect(!winners.isEmpty && winners.count <= 2, "\(winners.count) pairs issued")
        #expect(refusals(outcomes).count >= Self.racers - 2)
        #expect(refusals(outcomes).allSatisfy { $0 == .invalidGrant }, "\(refusals(outcomes))")
        #expect(try await fixture.store.oauth2Sessions.activeSessions(userId: "user-alice").isEmpty)
        #expect(try await liveRefreshTokens(fixture, winners) == 0)
        for winner in winners {
            #expect(try await !fixture.isLive(accessToken: winner.accessToken))
        }
        #expect(fixture.synapse.user("alice")?.devices.isEmpty == true, "the device is deleted")
        try await fixture.close()
    }

    @Test(arguments: StoreBackend.allCases) func oneApprovedDeviceCodePolledEightTimesAtOnceIssuesOnce(_ backend: StoreBackend) async throws {
        let fixture = try await OAuth2Fixture(backend)
        try await fixture.user("alice")
        try await fixture.registerClient("client-1")
        let authorization = try await fixture.deviceAuthorization.authorize(
            credentials: OAuth2Fixture.credentials(),
            form: OAuth2Fixture.form([("scope", "openid urn:matrix:client:api:* urn:matrix:client:device:TVDEVICE01")]))
        let userCode = try #require(UserCode.normalized(authorization.userCode))
        let grant = try #require(try await fixture.store.deviceGrants.findPending(userCode: userCode))
        try await fixture.store.deviceGrants.decide(
            id: grant.id, approved: true, userId: "user-alice", browserSessionId: "browser-alice", at: fixture.clock.now())

        let outcomes = await race(fixture, [("grant_type", GrantType.deviceCode), ("device_code", authorization.deviceCode)])
        let winners = issued(outcomes)
        #expect(winners.count == 1, "an approved device code is exchanged exactly once")
        // Concurrent polls are also polls too soon: slow_down is an acceptable answer beside invalid_grant.
        #expect(refusals(outcomes).allSatisfy { $0 == .invalidGrant || $0 == .slowDown }, "\(refusals(outcomes))")
        #expect(try await fixture.store.oauth2Sessions.activeSessions(userId: "user-alice").count == 1)
        try await fixture.close()
    }
}
