/// Why `gatehouse import-synapse` refused or stopped; every message says what to do.
public struct SynapseImportError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: Equatable {
        case unknownSchema
        case notSynapse
        case synapseRunning
        case cannotOpen
        case readFailed
        case serverNameMismatch
        case noBcryptScheme
        case pepperMismatch
        case writeFailed
    }

    private let code: Code
    public let description: String

    private init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

    /// `schema_version` is outside what this build knows.
    public static func unknownSchema(_ version: Int) -> Self {
        Self(
            .unknownSchema,
            "the Synapse database has schema version \(version), which this Gatehouse does not know (it reads versions \(SynapseSchema.oldestKnown) to \(SynapseSchema.newestKnown); Synapse 1.163 writes \(SynapseSchema.newestKnown)): "
                + (version < SynapseSchema.oldestKnown
                    ? "upgrade Synapse and start it once so it migrates its database, then import"
                    : "use a Gatehouse release that knows this Synapse version"))
    }

    /// The database has no `schema_version` table or users table.
    public static func notSynapse(_ detail: String) -> Self {
        Self(.notSynapse, "this is not a Synapse database (\(detail)); check database.args in the Synapse configuration")
    }

    /// Synapse holds the database (a lock, or it answers on its listener).
    public static func synapseRunning(_ detail: String) -> Self {
        Self(.synapseRunning, "Synapse seems to be running (\(detail)): stop it before importing, so no login happens after the import read its tables (a --dry-run may run next to it)")
    }

    /// The database cannot be opened or connected to.
    public static func cannotOpen(_ detail: String) -> Self {
        Self(.cannotOpen, "cannot open the Synapse database: \(detail)")
    }

    /// A query failed.
    public static func readFailed(_ detail: String) -> Self {
        Self(.readFailed, "reading the Synapse database failed: \(detail)")
    }

    /// Gatehouse's `matrix.homeserver` differs from Synapse's `server_name`.
    public static func serverNameMismatch(gatehouse: String, synapse: String) -> Self {
        Self(.serverNameMismatch, "matrix.homeserver is \"\(gatehouse)\" but Synapse's server_name is \"\(synapse)\": they must be the same homeserver")
    }

    /// Synapse users have passwords, but Gatehouse has no bcrypt scheme to verify them.
    public static let noBcryptScheme = Self(
        .noBcryptScheme,
        "passwords.schemes has no bcrypt scheme, so Synapse's password hashes could not be verified: add one with Synapse's pepper and bcrypt_rounds (`gatehouse config generate --synapse-config homeserver.yaml` writes it), below an argon2id scheme of higher version"
    )

    /// The bcrypt scheme's pepper is not Synapse's `password_config.pepper`.
    public static let pepperMismatch = Self(
        .pepperMismatch,
        "the bcrypt scheme in passwords.schemes must have Synapse's password_config.pepper as its secret (or none when Synapse has none); otherwise no imported password would verify"
    )

    /// Writing to Gatehouse's store failed; nothing was written.
    public static func writeFailed(_ detail: String) -> Self {
        Self(.writeFailed, "writing to Gatehouse's store failed, nothing was imported: \(detail)")
    }

    /// A label without variable parts, for tests and logs.
    public var shortDescription: String { "\(code)" }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
}
