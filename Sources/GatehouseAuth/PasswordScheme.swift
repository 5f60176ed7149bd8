import Foundation  // NFKC: `precomposedStringWithCompatibilityMapping` is not in FoundationEssentials.
import GatehouseCore

/// One way of hashing passwords, identified by the `version` stored next to every hash it made
/// (MAS `passwords.schemes[]`, `crates/handlers/src/passwords.rs`).
///
/// Built from ``PasswordSchemeConfiguration`` (the validated `passwords.schemes[]` entry); the pepper is
/// kept as bytes and never printed.
public struct PasswordScheme: Sendable, Equatable, CustomStringConvertible {
    /// The hash function of a scheme.
    public typealias Algorithm = PasswordSchemeConfiguration.Algorithm

    /// The bcrypt cost used when none is configured (MAS and Synapse default).
    public static let defaultBcryptCost = 12

    /// MAS's default schemes: `[{version: 1, algorithm: argon2id}]`.
    public static let defaults = [PasswordScheme(version: 1, algorithm: .argon2id)]

    /// Unique among the configured schemes; the highest hashes new passwords.
    public var version: Int
    /// The hash function.
    public var algorithm: Algorithm
    /// The bcrypt cost (log2 of the rounds), 4...31; ignored for argon2id.
    public var cost: Int
    /// A server-side secret: the Argon2 secret input (keyed hash) for argon2id, appended to the password
    /// bytes for bcrypt (as Synapse's `password_config.pepper`). `nil` for none.
    public var pepper: [UInt8]?
    /// Whether passwords are normalised to Unicode NFKC before hashing (Synapse does so for every
    /// password; MAS only when configured).
    public var unicodeNormalization: Bool

    /// - Parameters:
    ///   - version: the scheme version stored with each hash, 1...65535.
    ///   - algorithm: the hash function.
    ///   - cost: the bcrypt cost.
    ///   - pepper: an optional server-side secret.
    ///   - unicodeNormalization: whether to apply NFKC first.
    public init(
        version: Int, algorithm: Algorithm, cost: Int = PasswordScheme.defaultBcryptCost, pepper: [UInt8]? = nil,
        unicodeNormalization: Bool = false
    ) {
        self.version = version
        self.algorithm = algorithm
        self.cost = cost
        self.pepper = pepper
        self.unicodeNormalization = unicodeNormalization
    }

    /// The runtime form of a validated `passwords.schemes[]` entry.
    /// - Parameter configuration: the entry as loaded by ``ConfigurationLoader``.
    public init(_ configuration: PasswordSchemeConfiguration) {
        self.init(
            version: configuration.version, algorithm: configuration.algorithm,
            cost: configuration.cost ?? PasswordScheme.defaultBcryptCost,
            pepper: configuration.pepper.map { Array($0.utf8) }, unicodeNormalization: configuration.unicodeNormalization)
    }

    /// A readable summary; the pepper is never shown.
    public var description: String {
        var text = "PasswordScheme(version: \(version), \(algorithm.rawValue)"
        if algorithm == .bcrypt { text += ", cost: \(cost)" }
        if pepper != nil { text += ", pepper: set" }
        if unicodeNormalization { text += ", NFKC" }
        return text + ")"
    }

    /// The bytes of `password` this scheme feeds to its hash function: NFKC-normalised when enabled, and
    /// for bcrypt followed by the pepper (Synapse: `NFKC(password).encode() + pepper.encode()`).
    /// - Parameter password: the password as typed.
    func passwordBytes(_ password: String) -> [UInt8] {
        let text = unicodeNormalization ? password.precomposedStringWithCompatibilityMapping : password
        var bytes = Array(text.utf8)
        if algorithm == .bcrypt, let pepper { bytes += pepper }
        return bytes
    }

    /// The Argon2 cost of new hashes (and of the dummy check for unknown users): MAS's parameters,
    /// the one place they are chosen.
    var argon2Parameters: Argon2id.Parameters { .mas }

    /// The Argon2 secret input: the pepper for argon2id schemes, none for bcrypt.
    var argon2Secret: [UInt8]? {
        algorithm == .argon2id ? pepper : nil
    }
}
