/// The SHA-256 of the last token a connection presented, kept with the token's bytes, so that the
/// next request with the same token is not hashed again: a client sends one token on every request
/// of a connection, and its SHA-256 (what the edge check's cache is keyed by) was the largest single
/// cost of checking one of Gatehouse's tokens.
///
/// The bytes are compared in constant time over their length: a connection can carry several
/// users' requests (a load balancer in front), and how long the comparison takes must not tell one
/// user anything about the token another presented before. The token itself stays in memory for as
/// long as the connection does, as its requests' buffers hold it while they are read.
public struct TokenDigestMemo {
    private var token: [UInt8] = []
    private var digest: TokenDigest?
    /// How many digests were computed (for tests).
    private(set) var computed = 0

    public init() {}

    /// The SHA-256 of `bytes`: the one kept when `bytes` is the token digested last, else a new one,
    /// kept in its place.
    /// - Parameter bytes: a token's bytes where they arrived.
    public mutating func digest(of bytes: UnsafeRawBufferPointer) -> TokenDigest {
        if let digest, Self.equalInConstantTime(token, bytes) { return digest }
        let digest = TokenHasher.digest(bytes)
        computed += 1
        token.removeAll(keepingCapacity: true)
        token.append(contentsOf: bytes)
        self.digest = digest
        return digest
    }

    /// Whether `kept` and `presented` hold the same bytes, looking at every byte whatever the first
    /// difference (only a difference in length returns early).
    private static func equalInConstantTime(_ kept: [UInt8], _ presented: UnsafeRawBufferPointer) -> Bool {
        guard kept.count == presented.count else { return false }
        return kept.withUnsafeBytes { kept in
            var difference: UInt64 = 0
            var index = 0
            while index + 8 <= kept.count {
                difference |= kept.loadUnaligned(fromByteOffset: index, as: UInt64.self) ^ presented.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                index += 8
            }
            while index < kept.count {
                difference |= UInt64(kept[index] ^ presented[index])
                index += 1
            }
            return difference == 0
        }
    }
}
