import Testing

@testable import GatehouseAuth

/// A connection's memo hashes a token once while the client keeps presenting it, and never hands one
/// token's digest out for another: any other token, one byte apart anywhere or of another length, is
/// hashed anew.
struct TokenDigestMemoTests {
    private static func digest(_ memo: inout TokenDigestMemo, _ token: [UInt8]) -> TokenDigest {
        token.withUnsafeBytes { memo.digest(of: $0) }
    }

    private static func expected(_ token: [UInt8]) -> TokenDigest {
        token.withUnsafeBytes { TokenHasher.digest($0) }
    }

    @Test func theSameTokenAgainIsNotHashedAgain() {
        var memo = TokenDigestMemo()
        let token = Array("mct_OWmnpQP8TQmY0LBM2jWh8BQTsPjn4z_2bSmRZ".utf8)
        for _ in 0..<5 { #expect(Self.digest(&memo, token) == TokenHasher.digest(String(decoding: token, as: UTF8.self))) }
        #expect(memo.computed == 1)
    }

    @Test func everyOtherTokenGetsItsOwnDigest() {
        var memo = TokenDigestMemo()
        let token = Array("mat_Xq3kP0vN8sLr2Wd7YcTe5HjBu9MaGz_3fKq1p".utf8)
        let first = Self.digest(&memo, token)
        var expectedComputations = 1
        // One byte apart at every position: within the 8-byte words and in the tail past the last one.
        for position in token.indices {
            var other = token
            other[position] ^= 0x01
            #expect(Self.digest(&memo, other) == Self.expected(other), "position \(position)")
            #expect(Self.digest(&memo, token) == first, "position \(position)")
            expectedComputations += 2
        }
        // A prefix, and the token with a byte more.
        #expect(Self.digest(&memo, Array(token.dropLast())) == Self.expected(Array(token.dropLast())))
        #expect(Self.digest(&memo, token + [0x41]) == Self.expected(token + [0x41]))
        expectedComputations += 2
        #expect(memo.computed == expectedComputations)
    }

    @Test func anEmptyMemoHashesEvenAnEmptyToken() {
        var memo = TokenDigestMemo()
        #expect(Self.digest(&memo, []) == TokenHasher.digest(""))
        #expect(Self.digest(&memo, []) == TokenHasher.digest(""))
        #expect(memo.computed == 1)
    }
}
