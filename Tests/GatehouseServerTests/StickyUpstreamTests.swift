import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseStorage
import GatehouseTestSupport
import GatehouseTesting
import NIOPosix
import Testing

@testable import GatehouseServer

/// `balance: sticky_user` through a running gateway: two origins behind one pool, and the user the
/// edge token check resolved for each request decides which origin gets it.
@Suite(.serialized)
struct StickyUpstreamTests {
    /// A compat session of `user` with one access token; returns the token.
    static func issueToken(_ fixture: IntrospectionFixture, for user: User, device: String) async throws -> String {
        let now = fixture.clock.now()
        let random = SystemRandom()
        let access = TokenFormat.generate(.compatAccessToken, random: random)
        let session = CompatSession(id: ULID.make(at: now, random: random), userId: user.id, deviceId: device, isSynapseAdmin: false, createdAt: now)
        let accessRow = CompatAccessToken(
            id: ULID.make(at: now, random: random), sessionId: session.id, tokenHash: TokenHasher.sha256Hex(access), createdAt: now, expiresAt: nil)
        try await fixture.store.compatSessions.create(session: session, accessToken: accessRow, refreshToken: nil)
        return access
    }

    static func get(_ port: Int, _ path: String, token: String?) async throws -> RawHTTPClient.Response {
        let authorization = token.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        return try await request(port: port, "GET \(path) HTTP/1.1\r\nHost: localhost\r\n\(authorization)\r\n")
    }

    @Test func eachUsersRequestsStayOnTheirMember() async throws {
        let fixture = try await IntrospectionFixture(.sqlite)
        let origins = [
            try await FakeOrigin(group: MultiThreadedEventLoopGroup.singleton), try await FakeOrigin(group: MultiThreadedEventLoopGroup.singleton),
        ]
        defer { for origin in origins { Task { try? await origin.stop() } } }
        let members = origins.map { UpstreamMember(host: "127.0.0.1", port: $0.port) }
        let hashing = RendezvousHashing(members: members)
        func member(of key: StickyKey) -> Int { hashing.member(for: key, where: { _ in true })! }

        // alice (the fixture's user) and a second user whose first choice is the other member; the
        // gateway's server name is `localhost`.
        let aliceMember = member(of: StickyKey("@alice:localhost"))
        let otherName = try #require((0..<64).map { "user\($0)" }.first { member(of: StickyKey("@\($0):localhost")) != aliceMember })
        let other = try await fixture.store.users.create(User(id: ULID.make(at: fixture.clock.now(), random: SystemRandom()), username: otherName, createdAt: fixture.clock.now()))
        let aliceToken = try await Self.issueToken(fixture, for: fixture.user, device: "ALICEDEV")
        let otherToken = try await Self.issueToken(fixture, for: other, device: "OTHERDEV")
        let pool = "sync: {members: [\(members.map { "\"http://\($0)\"" }.joined(separator: ", "))], balance: sticky_user, fail_timeout: 0}"

        try await withTestGateway(
            routes: "*  ^/  proxy sync", upstreams: [:], pools: [pool], identityStore: fixture.store, clock: fixture.clock
        ) { port in
            // Interleaved, each on a new connection from the same client address: only the token differs.
            for round in 0..<4 {
                let alices = try await Self.get(port, "/echo/alice/\(round)", token: aliceToken)
                let others = try await Self.get(port, "/echo/other/\(round)", token: otherToken)
                #expect(alices.status == 200 && others.status == 200)
            }
            #expect(origins[aliceMember].requests.map(\.uri).sorted() == (0..<4).map { "/echo/alice/\($0)" })
            #expect(origins[1 - aliceMember].requests.map(\.uri).sorted() == (0..<4).map { "/echo/other/\($0)" })

            // Without a token the client address decides, the same for every such request.
            let anonymousMember = member(of: StickyKey("127.0.0.1"))
            for round in 0..<3 {
                let response = try await Self.get(port, "/echo/anonymous/\(round)", token: nil)
                #expect(response.status == 200)
            }
            #expect(origins[anonymousMember].requests.filter { $0.uri.hasPrefix("/echo/anonymous/") }.count == 3)

        }
    }

    /// A member that refuses connections is marked down for `fail_timeout`: the users whose first
    /// choice it is are served by their next choice, the others are not moved.
    @Test func aDownMembersUsersGoToTheirNextChoice() async throws {
        let fixture = try await IntrospectionFixture(.sqlite)
        let live = try await FakeOrigin(group: MultiThreadedEventLoopGroup.singleton)
        defer { Task { try? await live.stop() } }
        let closed = try await FakeOrigin(group: MultiThreadedEventLoopGroup.singleton)
        let deadPort = closed.port
        try await closed.stop()
        let members = [UpstreamMember(host: "127.0.0.1", port: live.port), UpstreamMember(host: "127.0.0.1", port: deadPort)]
        let hashing = RendezvousHashing(members: members)
        // A user whose first choice is the dead member (alice's, or another's when hers is the live one).
        let name = try #require((["alice"] + (0..<64).map { "user\($0)" }).first {
            hashing.member(for: StickyKey("@\($0):localhost"), where: { _ in true }) == 1
        })
        var user = fixture.user
        if name != "alice" {
            user = try await fixture.store.users.create(User(id: ULID.make(at: fixture.clock.now(), random: SystemRandom()), username: name, createdAt: fixture.clock.now()))
        }
        let pool = "sync: {members: [\(members.map { "\"http://\($0)\"" }.joined(separator: ", "))], balance: sticky_user, fail_timeout: 60s}"
        let token = try await Self.issueToken(fixture, for: user, device: "STICKYDEV")

        try await withTestGateway(
            routes: "*  ^/  proxy sync", upstreams: [:], pools: [pool], identityStore: fixture.store, clock: fixture.clock
        ) { port in
            for round in 0..<3 {
                let response = try await Self.get(port, "/echo/\(name)/\(round)", token: token)
                #expect(response.status == 200)
            }
            #expect(live.requests.map(\.uri) == (0..<3).map { "/echo/\(name)/\($0)" })
        }
    }
}
