import Testing

@testable import GatehouseAuth

struct TokenHasherTests {
    @Test func sha256HexMatchesKnownDigests() {
        #expect(TokenHasher.sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(TokenHasher.sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(TokenHasher.sha256Hex("mct_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz43")
            == "6bd9dc2bf8fd2cf6a14e48c3078e5abf02422a3a439d8538a9839174989e4a7f")
    }

    /// The cache key the edge check makes from a token's bytes where they arrived is the one made
    /// from the token's string, and writes the same hex the store keeps.
    @Test func aDigestIsTheSameFromBytesOrStringAndTellsTokensApart() {
        let tokens = ["", "abc", "mct_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz43", "mct_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz44", "é"]
        var seen = Set<TokenDigest>()
        for token in tokens {
            let fromBytes = Array(token.utf8).withUnsafeBytes { TokenHasher.digest($0) }
            #expect(fromBytes == TokenHasher.digest(token))
            #expect(fromBytes.hashValue == TokenHasher.digest(token).hashValue)
            #expect(fromBytes.hex == TokenHasher.sha256Hex(token) && fromBytes.hex.utf8.count == 64)
            #expect("\(fromBytes)" == fromBytes.hex)
            seen.insert(fromBytes)
        }
        #expect(seen.count == tokens.count, "tokens one character apart have different digests")
        // Every byte of the digest counts, in its place: digests one byte apart anywhere differ.
        let base = [UInt8](repeating: 0xAB, count: 32)
        let digest = base.withUnsafeBytes { TokenDigest($0) }
        for index in base.indices {
            var changed = base
            changed[index] ^= 0x01
            let other = changed.withUnsafeBytes { TokenDigest($0) }
            #expect(other != digest && Set([digest, other]).count == 2, "byte \(index)")
            #expect(Array(other.hex.utf8)[2 * index + 1] != Array(digest.hex.utf8)[2 * index + 1], "byte \(index) is written in its place")
        }
    }

    @Test func constantTimeEquality() {
        #expect(ConstantTime.equals([UInt8](), [UInt8]()))
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2]))
        #expect(!ConstantTime.equals([1, 2], [1, 2, 0]), "a zero tail is still a difference")
        #expect(!ConstantTime.equals([UInt8](), [0]))
        #expect(ConstantTime.equals("same".utf8, Array("same".utf8)))
    }

    /// Values of equal length are compared eight bytes at a time: a difference in any byte, in a
    /// whole word or in the tail after the last one, is seen.
    @Test func constantTimeEqualityOfEqualLengthsLooksAtEveryByte() {
        for length in [8, 16, 21, 41] {
            let value = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(ConstantTime.equals(value, value))
            for index in value.indices {
                var other = value
                other[index] ^= 0x80
                #expect(!ConstantTime.equals(value, other), "length \(length), byte \(index)")
                #expect(!ConstantTime.equals(other, value), "length \(length), byte \(index)")
            }
        }
    }
}
