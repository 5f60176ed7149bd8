import GatehouseCore

/// Hashes made outside Gatehouse (Python argon2-cffi 25.1.0 and bcrypt 5.0.0), pasted as literals so the
/// tests prove compatibility with the hashes MAS and Synapse store.
enum Fixtures {
    static let password = "correct horse battery staple"
    static let pepper = "pepper-secret"

    /// `argon2.PasswordHasher().hash(password)`: argon2-cffi defaults m=65536, t=3, p=4.
    static let argon2CffiDefault = "$argon2id$v=19$m=65536,t=3,p=4$V/iPlL1MkRNpIvdwXiyAng$MI4VvrZ6SC4C1whMrxm4wwzzaWspio1aNbHcOMFmjuE"
    /// `argon2.PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16).hash(password)`.
    static let argon2CffiMASParameters = "$argon2id$v=19$m=19456,t=2,p=1$KCLLVh6Srv6c7Si4ldIXgw$L3oT3mgQi/DqD+gKD9lqyT+kReVDFmuNKw5nLR5tHhI"
    /// `argon2_ctx` through argon2-cffi's FFI with `secret = pepper` (the Argon2 K input, as MAS uses a pepper).
    static let argon2Keyed = "$argon2id$v=19$m=19456,t=2,p=1$wOLdzASFFrNeBn+tTLs09g$cBGx3NzmUrDdY9KDzfQStvEVpp1tBYTYIiYeR3/JFsU"
    /// `hash_secret_raw(password, bytes(range(16)), 2, 19456, 1, 32, Type.ID)`, base64.
    static let argon2FixedSaltOutput = "gYJZtjEAJqjg26xdLmknq8/bB7MiWPrE9hsYuA+SkIU"

    /// Synapse: `bcrypt.hashpw(unicodedata.normalize("NFKC", password).encode("utf8") + pepper.encode("utf8"), bcrypt.gensalt(12))`
    /// with an empty pepper.
    static let bcryptSynapse = "$2b$12$iOkJqMRGD7Q5ew74s9I4au8.SZtdakf.DHIoAT8BTX.66lBsjSwPG"
    /// The same with `pepper`.
    static let bcryptSynapsePeppered = "$2b$12$a.Xfp7dDX6Jg6MTfq4.Ht.TgCdpRD.DopduL6V8/NLAd8MLlAGQr6"
    /// The same, no pepper, for `nfkcPassword`, which NFKC maps to "financé1".
    static let bcryptSynapseNFKC = "$2b$12$taON0b/jtdd7MA43DFgvz./4ck5x7Ja2OSDUCTLy9SUDObLaQ3hzq"
    /// "ﬁ" ligature, "e" + combining acute, circled digit one.
    static let nfkcPassword = "\u{FB01}nance\u{301}\u{2460}"
    /// `bcrypt.hashpw(b"hunter2", bcrypt.gensalt(10, prefix=b"2a"))`.
    static let bcrypt2a = "$2a$10$t1namSy4xVrpEpMRZNDQD.OAF/K2dkWjn/kxBNswIYvbFyIjezODa"
}

/// Returns 0, 1, 2, … so salts are predictable.
struct CountingRandom: RandomSource {
    func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0) }
    }
}
