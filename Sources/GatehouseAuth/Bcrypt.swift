import CXCrypt

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// bcrypt through libxcrypt, for password hashes imported from Synapse (`$2b$12$…`) and for schemes
/// that keep Synapse's format.
///
/// Synapse hashes `NFKC(password).encode("utf-8") + pepper.encode("utf-8")`; the scheme layer
/// (``PasswordScheme``) builds those bytes, this type only runs bcrypt. `$2b$`, `$2a$` and `$2y$` hashes
/// are accepted (for passwords without bytes ≥ 0x80 they are the same function; `$2a$` and `$2y$` are
/// what older PHP and OpenBSD libraries wrote).
///
/// **72-byte limit.** bcrypt only uses the first 72 bytes of its input: libxcrypt, OpenBSD and Python
/// `bcrypt` before 5.0 (which Synapse used for years) silently ignore the rest. Gatehouse does the
/// same, on hashing and on verifying, so every hash Synapse made still verifies. Consequences: for a
/// password of 72 bytes or more a pepper has no effect, and two passwords that share their first 72
/// bytes are the same password. (Python `bcrypt` 5.0 raises an error instead; argon2id has no such
/// limit, which is one reason it is the default.) A password containing a NUL byte cannot be hashed
/// (bcrypt takes a C string) and never verifies.
///
/// The comparison with the stored hash is constant-time. These functions block for hundreds of
/// milliseconds at cost 12: call them from a thread pool, as ``PasswordHasher`` does.
public enum Bcrypt {
    /// Bytes of the password bcrypt uses; the rest is ignored.
    public static let maximumPasswordBytes = 72
    /// Accepted cost (log2 of the rounds).
    public static let costRange = 4...31

    /// Hashes `password` as `$2b$<cost>$<salt><hash>` (60 characters).
    /// - Parameters:
    ///   - password: the password bytes, pepper already appended; only the first 72 count.
    ///   - cost: log2 of the number of rounds, 4...31.
    ///   - salt: 16 random bytes.
    public static func hash(_ password: [UInt8], cost: Int, salt: [UInt8]) throws(PasswordHasherError) -> String {
        guard costRange.contains(cost) else { throw PasswordHasherError.invalidConfiguration("bcrypt cost \(cost) is not in 4...31") }
        guard salt.count == 16 else { throw PasswordHasherError.hashingFailed("bcrypt needs a 16-byte salt") }
        guard !password.contains(0) else { throw PasswordHasherError.invalidPassword("bcrypt cannot hash a password containing a NUL byte") }
        var setting = [CChar](repeating: 0, count: Int(CRYPT_GENSALT_OUTPUT_SIZE))
        let generated = salt.map { CChar(bitPattern: $0) }.withUnsafeBufferPointer { randomBytes in
            crypt_gensalt_rn("$2b$", UInt(cost), randomBytes.baseAddress, Int32(randomBytes.count), &setting, Int32(setting.count))
        }
        guard generated != nil else { throw PasswordHasherError.hashingFailed("crypt_gensalt_rn refused cost \(cost)") }
        let settingText = String(decoding: setting.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let result = crypt(password, setting: settingText), result.utf8.count == 60 else {
            throw PasswordHasherError.hashingFailed("crypt_rn failed to compute a bcrypt hash")
        }
        return result
    }

    /// Whether `password` produces the stored bcrypt hash.
    /// - Parameters:
    ///   - password: the password bytes, pepper already appended; only the first 72 count.
    ///   - hash: the stored `$2b$`/`$2a$`/`$2y$` hash.
    /// - Throws: ``PasswordHasherError/malformedHash(_:)`` when `hash` is not a bcrypt hash.
    public static func verify(_ password: [UInt8], hash: String) throws(PasswordHasherError) -> Bool {
        try checkShape(hash)
        guard !password.contains(0) else { return false }
        guard let result = crypt(password, setting: hash) else {
            throw PasswordHasherError.malformedHash("libxcrypt rejected the stored bcrypt hash")
        }
        return ConstantTime.equals(result.utf8, hash.utf8)
    }

    /// Checks `$2b$NN$` followed by 53 characters of bcrypt's base64 (`./A-Za-z0-9`).
    static func checkShape(_ hash: String) throws(PasswordHasherError) {
        let bytes = Array(hash.utf8)
        let prefixes = ["$2b$", "$2a$", "$2y$"].map { Array($0.utf8) }
        guard bytes.count == 60, prefixes.contains(Array(bytes[0..<4])), bytes[6] == UInt8(ascii: "$"),
            let cost = Int(String(decoding: bytes[4..<6], as: UTF8.self)), costRange.contains(cost),
            bytes[7...].allSatisfy({ isBcryptBase64($0) })
        else {
            throw PasswordHasherError.malformedHash("not a bcrypt hash ($2b$NN$ followed by 53 characters)")
        }
    }

    private static func isBcryptBase64(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default: false
        }
    }

    /// `crypt_rn` with a heap-allocated, zeroed `crypt_data` (32 KiB: too big for a thread's stack
    /// budget, and libxcrypt wants it zeroed before first use). Returns `nil` on failure.
    private static func crypt(_ password: [UInt8], setting: String) -> String? {
        let size = MemoryLayout<crypt_data>.size
        guard let data = calloc(1, size) else { return nil }
        defer {
            memset(data, 0, size)
            free(data)
        }
        // Truncating here changes nothing bcrypt computes, and keeps long inputs under libxcrypt's
        // 512-byte passphrase limit (which would otherwise be an error).
        var phrase = password.prefix(maximumPasswordBytes).map { CChar(bitPattern: $0) }
        phrase.append(0)
        defer { phrase.withUnsafeMutableBytes { if let base = $0.baseAddress { memset(base, 0, $0.count) } } }
        guard let output = crypt_rn(phrase, setting, data, Int32(size)) else { return nil }
        let result = String(cString: output)
        return result.hasPrefix("*") ? nil : result
    }
}
