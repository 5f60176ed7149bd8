import Crypto

/// How access and refresh tokens are stored: only their SHA-256 is kept, so a leaked database does not
/// leak usable tokens, and a lookup by hash needs no constant-time comparison (the attacker does not
/// control the hash's prefix).
public enum TokenHasher {
    /// The lower-case hex SHA-256 of the UTF-8 bytes of `token` (64 characters).
    /// - Parameter token: the bearer token as issued, e.g. `mct_…`.
    public static func sha256Hex(_ token: String) -> String {
        // The edge check hashes the token of every request that carries one of Gatehouse's: the
        // token's own bytes are hashed and the digest written straight into the string (copying the
        // token, the digit table and the digits into arrays was three allocations per request).
        var token = token
        var hasher = SHA256()
        token.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        let digest = hasher.finalize()
        return String(unsafeUninitializedCapacity: 2 * SHA256.byteCount) { output in
            digest.withUnsafeBytes { bytes in
                let digits: StaticString = "0123456789abcdef"
                let table = digits.utf8Start
                for (index, byte) in bytes.enumerated() {
                    output[2 * index] = table[Int(byte >> 4)]
                    output[2 * index + 1] = table[Int(byte & 0x0F)]
                }
            }
            return 2 * SHA256.byteCount
        }
    }
}
