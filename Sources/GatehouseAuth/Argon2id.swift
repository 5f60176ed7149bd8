import CArgon2

/// Argon2id (RFC 9106) through the reference implementation, libargon2, producing and checking PHC
/// strings such as `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`.
///
/// New hashes use MAS's parameters (the RustCrypto `argon2` crate defaults, which are OWASP's minimum):
/// 19 MiB of memory, two passes, one lane, a 16-byte salt and a 32-byte output. Verification reads the
/// parameters from the stored string, so hashes made by MAS, argon2-cffi (`m=65536,t=3,p=4`) or an older
/// Gatehouse keep working; parameters above ``limits`` are refused so a corrupt row cannot make the
/// server allocate gigabytes.
///
/// A pepper is passed as the Argon2 *secret* input K (a keyed hash), as MAS does with
/// `Argon2::new_with_secret`. The PHC string does not record it. libargon2's `argon2id_hash_encoded`
/// and `argon2id_verify` have no secret parameter, so everything goes through `argon2_ctx` and the
/// comparison is done here, in constant time.
///
/// These functions block for tens to hundreds of milliseconds of CPU. Call them from a thread pool
/// (``PasswordHasher`` does), never from an event loop or the Swift cooperative pool.
public enum Argon2id {
    /// Argon2 cost parameters.
    public struct Parameters: Sendable, Equatable {
        /// `m`: memory in KiB.
        public var memoryKiB: Int
        /// `t`: number of passes over the memory.
        public var iterations: Int
        /// `p`: number of lanes. Gatehouse computes lanes one after another on one thread; the result is
        /// the same as with `p` threads, so a login never spawns extra threads.
        public var parallelism: Int

        /// - Parameters:
        ///   - memoryKiB: `m`, in KiB.
        ///   - iterations: `t`.
        ///   - parallelism: `p`.
        public init(memoryKiB: Int, iterations: Int, parallelism: Int) {
            self.memoryKiB = memoryKiB
            self.iterations = iterations
            self.parallelism = parallelism
        }

        /// MAS's parameters: m=19456 (19 MiB), t=2, p=1.
        public static let mas = Parameters(memoryKiB: 19456, iterations: 2, parallelism: 1)
    }

    /// Largest parameters accepted from a stored hash: m ≤ 1 GiB, t ≤ 256, p ≤ 64.
    public static let limits = Parameters(memoryKiB: 1 << 20, iterations: 256, parallelism: 64)
    /// Salt bytes in new hashes.
    public static let saltLength = 16
    /// Output bytes in new hashes.
    public static let outputLength = 32

    /// A parsed PHC string.
    struct Encoded: Equatable {
        /// `v`: 19 (0x13) normally, 16 (0x10) when the string has no `v=`.
        var version: Int
        var parameters: Parameters
        var salt: [UInt8]
        var hash: [UInt8]
    }

    /// Hashes `password` and returns the PHC string.
    /// - Parameters:
    ///   - password: the password bytes (already normalised if the scheme asks for it).
    ///   - salt: random bytes, at least 8 (``saltLength`` for new hashes).
    ///   - secret: the pepper, or `nil`.
    ///   - parameters: the cost; MAS's by default.
    public static func hash(
        _ password: [UInt8], salt: [UInt8], secret: [UInt8]?, parameters: Parameters = .mas
    ) throws(PasswordHasherError) -> String {
        let output = try compute(password, salt: salt, secret: secret, parameters: parameters, version: 0x13, outputLength: outputLength)
        let p = parameters
        return "$argon2id$v=19$m=\(p.memoryKiB),t=\(p.iterations),p=\(p.parallelism)$\(PHCBase64.encode(salt))$\(PHCBase64.encode(output))"
    }

    /// Whether `password` (with `secret`) produces the stored argon2id PHC string `encoded`.
    /// - Parameters:
    ///   - password: the password bytes (already normalised if the scheme asks for it).
    ///   - encoded: the stored `$argon2id$…` string.
    ///   - secret: the pepper it was made with, or `nil`.
    /// - Throws: ``PasswordHasherError/malformedHash(_:)`` when `encoded` is not an argon2id PHC string,
    ///   ``PasswordHasherError/unsupportedParameters(_:)`` when its parameters exceed ``limits``.
    public static func verify(_ password: [UInt8], encoded: String, secret: [UInt8]?) throws(PasswordHasherError) -> Bool {
        let stored = try parse(encoded)
        let computed = try compute(
            password, salt: stored.salt, secret: secret, parameters: stored.parameters, version: stored.version,
            outputLength: stored.hash.count)
        return ConstantTime.equals(computed, stored.hash)
    }

    /// Splits and checks a PHC string: `$argon2id[$v=V]$m=M,t=T,p=P$<salt>$<hash>`.
    /// - Parameter encoded: the stored string.
    static func parse(_ encoded: String) throws(PasswordHasherError) -> Encoded {
        let malformed = PasswordHasherError.malformedHash("not an argon2id PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash)")
        var fields = encoded.split(separator: "$", omittingEmptySubsequences: false)
        guard fields.count == 5 || fields.count == 6, fields[0].isEmpty, fields[1] == "argon2id" else { throw malformed }
        var version = 0x10
        if fields.count == 6 {
            guard fields[2] == "v=19" || fields[2] == "v=16" else {
                throw PasswordHasherError.unsupportedParameters("argon2 \(fields[2]) is not supported (only v=19 and v=16)")
            }
            version = fields[2] == "v=19" ? 0x13 : 0x10
            fields.remove(at: 2)
        }
        let pairs = fields[2].split(separator: ",", omittingEmptySubsequences: false)
        guard pairs.count == 3 else { throw malformed }
        var values: [Int] = []
        for (pair, name) in zip(pairs, ["m=", "t=", "p="]) {
            guard pair.hasPrefix(name) else { throw malformed }
            let digits = pair.dropFirst(2)
            guard !digits.isEmpty, digits.count <= 10, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                let value = Int(digits)
            else { throw malformed }
            values.append(value)
        }
        let parameters = Parameters(memoryKiB: values[0], iterations: values[1], parallelism: values[2])
        guard let salt = PHCBase64.decode(fields[3]), let hash = PHCBase64.decode(fields[4]) else { throw malformed }
        guard (8...64).contains(salt.count), (4...128).contains(hash.count) else {
            throw PasswordHasherError.malformedHash("argon2id salt or hash has an unusual length (\(salt.count), \(hash.count) bytes)")
        }
        guard (1...limits.parallelism).contains(parameters.parallelism), (1...limits.iterations).contains(parameters.iterations),
            (8 * parameters.parallelism...limits.memoryKiB).contains(parameters.memoryKiB)
        else {
            throw PasswordHasherError.unsupportedParameters(
                "argon2id parameters m=\(parameters.memoryKiB),t=\(parameters.iterations),p=\(parameters.parallelism) are out of the accepted range"
            )
        }
        return Encoded(version: version, parameters: parameters, salt: salt, hash: hash)
    }

    /// The raw Argon2id output through `argon2_ctx`, the only libargon2 entry point that takes a secret.
    static func compute(
        _ password: [UInt8], salt: [UInt8], secret: [UInt8]?, parameters: Parameters, version: Int, outputLength: Int
    ) throws(PasswordHasherError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: outputLength)
        var passwordCopy = password
        var saltCopy = salt
        var secretCopy = secret ?? []
        let status = output.withUnsafeMutableBufferPointer { outputBuffer in
            passwordCopy.withUnsafeMutableBufferPointer { passwordBuffer in
                saltCopy.withUnsafeMutableBufferPointer { saltBuffer in
                    secretCopy.withUnsafeMutableBufferPointer { secretBuffer in
                        var context = argon2_context(
                            out: outputBuffer.baseAddress, outlen: UInt32(outputBuffer.count),
                            pwd: passwordBuffer.count > 0 ? passwordBuffer.baseAddress : nil, pwdlen: UInt32(passwordBuffer.count),
                            salt: saltBuffer.baseAddress, saltlen: UInt32(saltBuffer.count),
                            secret: secretBuffer.count > 0 ? secretBuffer.baseAddress : nil, secretlen: UInt32(secretBuffer.count),
                            ad: nil, adlen: 0,
                            t_cost: UInt32(parameters.iterations), m_cost: UInt32(parameters.memoryKiB),
                            lanes: UInt32(parameters.parallelism), threads: 1, version: UInt32(version),
                            allocate_cbk: nil, free_cbk: nil, flags: 0)
                        return argon2_ctx(&context, Argon2_id)
                    }
                }
            }
        }
        guard status == ARGON2_OK.rawValue else {
            throw PasswordHasherError.hashingFailed("argon2: \(String(cString: argon2_error_message(status)))")
        }
        return output
    }
}
