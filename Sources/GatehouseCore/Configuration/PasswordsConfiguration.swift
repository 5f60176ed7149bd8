/// `passwords`: whether local password login is offered and how passwords are hashed (MAS's
/// `passwords` section, without `minimum_complexity` and the `pbkdf2` algorithm).
///
/// Each stored password row records the `version` of the scheme that hashed it. New passwords are
/// hashed with the scheme of the highest version; a successful login with an older version rehashes
/// the password with the newest scheme ("verify and upgrade", as MAS does).
public struct PasswordsConfiguration: Sendable, Equatable {
    /// `passwords.enabled`: whether password login and registration are offered.
    public var enabled: Bool
    /// `passwords.schemes`: at least one, with distinct versions, in the order written.
    public var schemes: [PasswordSchemeConfiguration]

    /// MAS's default: enabled, one argon2id scheme with version 1.
    public static let `default` = PasswordsConfiguration(
        enabled: true, schemes: [PasswordSchemeConfiguration(version: 1, algorithm: .argon2id)])

    /// - Parameters:
    ///   - enabled: whether password login is offered.
    ///   - schemes: the hashing schemes, versions unique.
    public init(enabled: Bool, schemes: [PasswordSchemeConfiguration]) {
        self.enabled = enabled
        self.schemes = schemes
    }

    /// The scheme new passwords are hashed with: the one with the highest version.
    public var newestScheme: PasswordSchemeConfiguration? {
        schemes.max { $0.version < $1.version }
    }
}

/// `passwords.schemes[]`: one way of hashing passwords, identified by its version.
public struct PasswordSchemeConfiguration: Sendable, Equatable {
    /// `passwords.schemes[].algorithm`.
    public enum Algorithm: String, Sendable, CaseIterable {
        /// Argon2id (RFC 9106) with MAS's parameters m=19456 KiB, t=2, p=1; a pepper is the Argon2 secret.
        case argon2id
        /// bcrypt (`$2b$`), as Synapse stores passwords; a pepper is appended to the password.
        case bcrypt
    }

    /// `version`: 1...65535, unique within `schemes`; stored next to each password hash.
    public var version: Int
    public var algorithm: Algorithm
    /// `cost`: the bcrypt work factor (log2 rounds), 4...31; only for `bcrypt`. Default 12.
    public var cost: Int?
    /// The pepper read from `secret` or `secret_file` (file content trimmed); `nil` for none.
    public var pepper: String?
    /// `unicode_normalization`: apply Unicode NFKC to passwords before hashing (Synapse does).
    public var unicodeNormalization: Bool

    /// - Parameters:
    ///   - version: the scheme version stored with each hash.
    ///   - algorithm: the hash function.
    ///   - cost: the bcrypt cost; `nil` uses 12.
    ///   - pepper: a server-side secret mixed into every hash.
    ///   - unicodeNormalization: whether passwords are NFKC-normalised first.
    public init(version: Int, algorithm: Algorithm, cost: Int? = nil, pepper: String? = nil, unicodeNormalization: Bool = false) {
        self.version = version
        self.algorithm = algorithm
        self.cost = cost
        self.pepper = pepper
        self.unicodeNormalization = unicodeNormalization
    }
}
