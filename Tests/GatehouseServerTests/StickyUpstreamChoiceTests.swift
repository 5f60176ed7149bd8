import GatehouseCore
import NIOHTTP1
import Testing

@testable import GatehouseServer

/// `balance: sticky_user`: the choice itself, without sockets.
struct StickyUpstreamChoiceTests {
    static func members(_ count: Int) -> [UpstreamMember] {
        (0..<count).map { UpstreamMember(host: "10.0.0.\($0 + 1)", port: 8083) }
    }

    static func users(_ count: Int) -> [StickyKey] {
        (0..<count).map { StickyKey(localpart: "user\($0)", serverName: "example.org") }
    }

    static func assignment(_ hashing: RendezvousHashing, _ users: [StickyKey], available: (Int) -> Bool = { _ in true }) -> [Int] {
        users.map { hashing.member(for: $0, where: available)! }
    }

    @Test func theKeyIsTheMatrixUserIDAndTheSameInEveryProcess() {
        #expect(StickyKey(localpart: "alice", serverName: "example.org") == StickyKey("@alice:example.org"))
        #expect(StickyKey("@alice:example.org") != StickyKey("@alice:example.com"))
        #expect(StickyKey("@alice:example.org") != StickyKey("@alicf:example.org"))
        // No per-process seed: this value is the same in every instance and after every restart, so
        // changing the hash moves every user (write it in the release notes if it must change).
        #expect(StickyKey("@alice:example.org").value == 10_414_467_070_147_078_922)
    }

    @Test func aUserAlwaysGetsTheSameMemberWhateverTheOrderOfTheMembers() {
        let members = Self.members(4)
        let users = Self.users(1_000)
        let first = Self.assignment(RendezvousHashing(members: members), users)
        #expect(Self.assignment(RendezvousHashing(members: members), users) == first, "another pool, another process")
        // Listed in another order, every user still gets the same server.
        let reversed = Self.assignment(RendezvousHashing(members: members.reversed()), users)
        #expect(zip(first, reversed).allSatisfy { members[$0] == members.reversed()[$1] })
    }

    @Test(arguments: [2, 3, 4, 7])
    func usersAreSpreadEvenly(memberCount: Int) {
        let assignment = Self.assignment(RendezvousHashing(members: Self.members(memberCount)), Self.users(10_000))
        let expected = 10_000 / memberCount
        for member in 0..<memberCount {
            let count = assignment.count { $0 == member }
            #expect(abs(count - expected) <= expected / 10, "member \(member) got \(count) of 10,000 users, expected about \(expected)")
        }
    }

    @Test func onlyTheUsersOfAFailedMemberMoveAndTheyComeBack() {
        let hashing = RendezvousHashing(members: Self.members(4))
        let users = Self.users(10_000)
        let before = Self.assignment(hashing, users)
        let failed = 2
        let during = Self.assignment(hashing, users, available: { $0 != failed })
        for (old, new) in zip(before, during) where old != failed {
            #expect(old == new)
        }
        // The failed member's users are spread over the other three, not piled on one.
        let moved = zip(before, during).filter { $0.0 == failed }.map(\.1)
        #expect(moved.count > 2_000)
        for member in [0, 1, 3] {
            #expect(moved.count { $0 == member } > moved.count / 5, "member \(member) takes its share of the moved users")
        }
        // Recovered: everyone is back where they were.
        #expect(Self.assignment(hashing, users) == before)
    }

    @Test func addingAMemberMovesOnlyTheUsersItTakes() {
        let users = Self.users(10_000)
        let three = Self.assignment(RendezvousHashing(members: Self.members(3)), users)
        let four = Self.assignment(RendezvousHashing(members: Self.members(4)), users)
        #expect(zip(three, four).allSatisfy { $0 == $1 || $1 == 3 })
        #expect(four.count { $0 == 3 } > 2_000)
    }

    @Test func noMemberAvailableGivesNone() {
        let hashing = RendezvousHashing(members: Self.members(2))
        #expect(hashing.member(for: StickyKey("@a:b"), where: { _ in false }) == nil)
    }

    @Test func theTokensUserDecidesElseTheClientAddress() {
        let trusted = [IPNetwork.parse("127.0.0.0/8")!]
        let forwarded: HTTPHeaders = ["X-Forwarded-For": "203.0.113.7"]
        let alice = StickyKey("@alice:example.org")
        #expect(StickyKey.forRequest(user: alice, peer: "127.0.0.1", headers: forwarded, trustedProxies: trusted) == alice)
        // Behind a trusted proxy, the client it names; directly, the peer (its header is not believed).
        #expect(StickyKey.forRequest(user: nil, peer: "127.0.0.1", headers: forwarded, trustedProxies: trusted) == StickyKey("203.0.113.7"))
        #expect(StickyKey.forRequest(user: nil, peer: "198.51.100.2", headers: forwarded, trustedProxies: trusted) == StickyKey("198.51.100.2"))
        #expect(StickyKey.forRequest(user: nil, peer: "::ffff:198.51.100.2", headers: [:], trustedProxies: []) == StickyKey("198.51.100.2"))
        #expect(StickyKey.forRequest(user: nil, peer: nil, headers: forwarded, trustedProxies: trusted) == nil)
    }
}
