import Crypto

/// How access and refresh tokens are stored: only their SHA-256 is kept, so a leaked database does not
/// leak usable tokens, and a lookup by hash needs no constant-time comparison (the attacker does not
/// control the hash's prefix).
public enum TokenHasher {
    /// The lower-case hex SHA-256 of the UTF-8 bytes of `token` (64 characters).
    /// - Parameter token: the bearer token as issued, e.g. `mct_…`.
    public static func sha256Hex(_ token: String) -> String {
        let digest = SHA256.hash(data: Array(token.utf8))
        let hexDigits = Array("0123456789abcdef".utf8)
        var output: [UInt8] = []
        output.reserveCapacity(64)
        for byte in digest {
            output.append(hexDigits[Int(byte >> 4)])
            output.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: output, as: UTF8.self)
    }
}
