/// The SHA-256 of the last token a connection presented, kept with the token's bytes, so that the
/// next request with the same token is not hashed again: a client sends one token on every request
/// of a connection, and its SHA-256 (what the edge check's cache is keyed by) was the largest single
/// cost of checking one of Gatehouse's tokens.
///
/// The bytes are compared in constant time (``ConstantTime/equals(_:_:)``): a connection can carry several
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
        if let digest, ConstantTime.equals(token, bytes) { return digest }
        let digest = TokenHasher.digest(bytes)
        computed += 1
        token.removeAll(keepingCapacity: true)
        token.append(contentsOf: bytes)
        self.digest = digest
        return digest
    }
}
