/// base64url without padding (RFC 4648 §5), as JOSE, PKCE and the session cookie use it.
///
/// Encoded byte by byte: the login page seals a cookie and derives a CSRF token per view, and the
/// generic `String.replacing` the Foundation route needs showed up in its profile.
public enum Base64URL {
    /// The 64 characters, indexed by 6-bit value.
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// - Parameter bytes: the bytes to encode.
    public static func encode(_ bytes: [UInt8]) -> String {
        let count = bytes.count
        let length = count / 3 * 4 + [0, 2, 3][count % 3]
        return String(unsafeUninitializedCapacity: length) { output in
            var written = 0
            var start = 0
            while start < count {
                let available = min(3, count - start)
                var group = UInt32(bytes[start]) << 16
                if available > 1 { group |= UInt32(bytes[start + 1]) << 8 }
                if available > 2 { group |= UInt32(bytes[start + 2]) }
                start += 3
                for index in 0...available {
                    output[written] = alphabet[Int(group >> UInt32(18 - 6 * index) & 0x3F)]
                    written += 1
                }
            }
            return written
        }
    }
}
