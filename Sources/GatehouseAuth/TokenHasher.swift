import Crypto

/// How access and refresh tokens are stored: only their SHA-256 is kept, so a leaked database does not
/// leak usable tokens, and a lookup by hash needs no constant-time comparison (the attacker does not
/// control the hash's prefix).
public enum TokenHasher {
    /// The lower-case hex SHA-256 of the UTF-8 bytes of `token` (64 characters).
    /// - Parameter token: the bearer token as issued, e.g. `mct_…`.
    public static func sha256Hex(_ token: String) -> String {
        digest(token).hex
    }

    /// The SHA-256 of the UTF-8 bytes of `token`, as the in-memory caches key it.
    /// - Parameter token: the bearer token as issued.
    public static func digest(_ token: String) -> TokenDigest {
        var token = token
        return token.withUTF8 { digest(UnsafeRawBufferPointer($0)) }
    }

    /// The SHA-256 of `bytes`, the token's bytes where they arrived (no `String` of them).
    /// - Parameter bytes: the token's UTF-8 bytes.
    public static func digest(_ bytes: UnsafeRawBufferPointer) -> TokenDigest {
        var hasher = SHA256()
        hasher.update(bufferPointer: bytes)
        return hasher.finalize().withUnsafeBytes { TokenDigest($0) }
    }
}

/// A token's SHA-256 in four words: what the edge check and introspection key their cache by, hashed
/// and compared without a string (the edge check looks one up on every request with a Gatehouse
/// token); the store keeps the ``hex`` form.
public struct TokenDigest: Hashable, Sendable {
    // The digest's bytes in memory order: `hex` writes them back in that order.
    private let word0: UInt64
    private let word1: UInt64
    private let word2: UInt64
    private let word3: UInt64

    init(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count == 32, "a SHA-256 digest is 32 bytes")
        word0 = bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
        word1 = bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        word2 = bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
        word3 = bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
    }

    /// The lower-case hex of the digest (64 characters), as the store keeps token hashes.
    public var hex: String {
        withUnsafeBytes(of: (word0, word1, word2, word3)) { bytes in
            String(unsafeUninitializedCapacity: 64) { output in
                let digits: StaticString = "0123456789abcdef"
                let table = digits.utf8Start
                for (index, byte) in bytes.enumerated() {
                    output[2 * index] = table[Int(byte >> 4)]
                    output[2 * index + 1] = table[Int(byte & 0x0F)]
                }
                return 64
            }
        }
    }
}

extension TokenDigest: CustomStringConvertible {
    public var description: String { hex }
}
