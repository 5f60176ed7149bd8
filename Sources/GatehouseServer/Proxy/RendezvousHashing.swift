import GatehouseCore

/// Rendezvous (highest random weight) hashing: a key goes to the member with the highest score
/// `mix(key ⊕ member)`, among the members that can take it.
///
/// Every key has its own order of preference over the members, fixed by the members' addresses as
/// written in the configuration (not their position), so:
/// - while the members are the same, a key always gets the same member, in every process;
/// - when a member is down, only the keys whose first choice it is move, each to its own second
///   choice (spread over the others), and they return when it is back;
/// - adding or removing a member moves only the keys it gains or loses (about 1/n of them).
struct RendezvousHashing: Sendable {
    /// Each member's own hash, from its `host:port`.
    private let memberSeeds: [UInt64]

    /// - Parameter members: the pool's members, in configuration order.
    init(members: [UpstreamMember]) {
        memberSeeds = members.map { StickyKey($0.description).value }
    }

    /// How much `member` is wanted by `key` (higher wins).
    /// - Parameters:
    ///   - key: the request's sticky key.
    ///   - member: a member index.
    func score(_ key: StickyKey, member: Int) -> UInt64 {
        StableHasher.mix(key.value ^ memberSeeds[member])
    }

    /// The member `key` goes to among those `isAvailable` accepts (ties, which only members with the
    /// same address can have, go to the first); `nil` when none is available.
    /// - Parameters:
    ///   - key: the request's sticky key.
    ///   - isAvailable: whether a member may be chosen now (up, and not the one that just failed).
    func member(for key: StickyKey, where isAvailable: (Int) -> Bool) -> Int? {
        var best: Int?
        var bestScore: UInt64 = 0
        for member in memberSeeds.indices where isAvailable(member) {
            let candidate = score(key, member: member)
            if best == nil || candidate > bestScore {
                best = member
                bestScore = candidate
            }
        }
        return best
    }
}
