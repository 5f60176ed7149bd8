import GatehouseCore
import NIOHTTP1

/// What a `balance: sticky_user` pool keeps together on one member: a 64-bit hash of the Matrix user
/// ID the edge token check resolved, or of the client address for requests without one.
///
/// The hash has a fixed seed, not a per-process one, so every Gatehouse instance and every restart
/// sends a user to the same member (Synapse's sync workers keep per-user caches). It is FNV-1a over
/// the UTF-8 bytes with a final mix (MurmurHash3's `fmix64`) so that all 64 bits depend on every
/// byte; it is computed from the parts of the ID, so no `String` is built per request.
struct StickyKey: Hashable, Sendable {
    /// The hash.
    let value: UInt64

    /// The key of a user, from the parts of `@localpart:serverName`.
    /// - Parameters:
    ///   - localpart: the user's localpart (the token's `username`).
    ///   - serverName: the homeserver's `server_name`.
    init(localpart: String, serverName: String) {
        var hasher = StableHasher()
        hasher.combine(UInt8(ascii: "@"))
        hasher.combine(localpart)
        hasher.combine(UInt8(ascii: ":"))
        hasher.combine(serverName)
        value = hasher.finalize()
    }

    /// The key of a whole Matrix user ID (the same as from its parts) or of a client address.
    /// - Parameter text: `@alice:example.org`, or a normalised address from ``ClientAddress``.
    init(_ text: String) {
        var hasher = StableHasher()
        hasher.combine(text)
        value = hasher.finalize()
    }

    /// The key a request to a sticky pool goes by: its user when the edge token check resolved one,
    /// else its client address as Gatehouse decides it (`http.trusted_proxies`); `nil` when there is
    /// neither (no peer address), and the pool then balances round robin.
    /// - Parameters:
    ///   - user: the user the edge token check resolved.
    ///   - peer: the TCP peer's address.
    ///   - headers: the request headers (for `X-Forwarded-For` from a trusted proxy).
    ///   - trustedProxies: `http.trusted_proxies`.
    static func forRequest(user: StickyKey?, peer: String?, headers: HTTPHeaders, trustedProxies: [IPNetwork]) -> StickyKey? {
        if let user { return user }
        let forwardedFor = trustedProxies.isEmpty ? [] : headers["x-forwarded-for"]
        return ClientAddress.resolve(peer: peer, forwardedFor: forwardedFor, trustedProxies: trustedProxies).map(StickyKey.init)
    }
}

/// FNV-1a (64-bit) with a fixed offset and MurmurHash3's finaliser: cheap, stable across processes
/// and platforms, and not for anything an attacker must not be able to predict.
struct StableHasher {
    /// FNV-1a's offset basis; fixed, so that the hash is the same in every process.
    private var state: UInt64 = 0xCBF2_9CE4_8422_2325

    mutating func combine(_ byte: UInt8) {
        state = (state ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
    }

    mutating func combine(_ text: String) {
        for byte in text.utf8 { combine(byte) }
    }

    /// The hash of everything combined so far.
    func finalize() -> UInt64 {
        Self.mix(state)
    }

    /// MurmurHash3's `fmix64`: a bijection in which every output bit depends on every input bit.
    /// - Parameter value: the value to mix.
    static func mix(_ value: UInt64) -> UInt64 {
        var mixed = value
        mixed ^= mixed >> 33
        mixed &*= 0xFF51_AFD7_ED55_8CCD
        mixed ^= mixed >> 33
        mixed &*= 0xC4CE_B9FE_1A85_EC53
        mixed ^= mixed >> 33
        return mixed
    }
}
