/// Why a Synapse `homeserver.yaml` cannot be migrated or read: a refusal that says what is wrong
/// with the file and what to do instead.
public struct HomeserverConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: Equatable {
        case notYAML
        case noMSC3861
        case msc3861Disabled
        case alreadyMigrated
        case noAdminToken
        case flowStyle
        case duplicateKey
        case editChangedOtherSettings
        case unsupported
    }

    private let code: Code
    public let description: String

    private init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

    /// The file does not parse as a YAML mapping.
    static func notYAML(_ detail: String) -> Self {
        Self(.notYAML, "the file is not a YAML mapping: \(detail)")
    }

    /// There is no `experimental_features.msc3861` section to migrate.
    static let noMSC3861 = Self(
        .noMSC3861,
        "no experimental_features.msc3861 section: nothing to migrate. To delegate a Synapse that never used MSC3861, add the snippet `gatehouse config generate` prints (matrix_authentication_service: {enabled: true, endpoint: …, secret_path: …})"
    )

    /// `msc3861.enabled` is not `true`: delegation was off, so switching it on is not a migration.
    static let msc3861Disabled = Self(
        .msc3861Disabled,
        "experimental_features.msc3861.enabled is not true: authentication was not delegated. Synapse 1.157 and later refuse the section anyway; delete it by hand, then add matrix_authentication_service when you mean to delegate to Gatehouse"
    )

    /// `matrix_authentication_service` is already there.
    static let alreadyMigrated = Self(
        .alreadyMigrated,
        "the file already has a matrix_authentication_service section; remove experimental_features.msc3861 by hand if it is still there (Synapse 1.157 and later refuse it)"
    )

    /// Neither `admin_token` nor `admin_token_path`: there is no shared secret to carry over.
    static let noAdminToken = Self(
        .noAdminToken,
        "experimental_features.msc3861 has no admin_token (or admin_token_path), which becomes the shared secret. Add one (`openssl rand -hex 32`), the same as the secret in Gatehouse's matrix section, and run this again"
    )

    /// A section written in flow style (`{…}`), which a line edit cannot change safely.
    static func flowStyle(_ key: String) -> Self {
        Self(.flowStyle, "\(key) is written in flow style ({…}); write it as a block (one key per line) or make the change by hand")
    }

    /// A key appears twice at the same level.
    static func duplicateKey(_ key: String) -> Self {
        Self(.duplicateKey, "\(key) appears more than once; Synapse would read only the last one. Merge them and run this again")
    }

    /// The safety check after the edit found another setting changed: the edit is not written.
    static func editChangedOtherSettings(_ keys: [String]) -> Self {
        Self(
            .editChangedOtherSettings,
            "the edited file would change other settings too (\(keys.joined(separator: ", "))); nothing was written. Make the change by hand, following the printed matrix_authentication_service section"
        )
    }

    /// A setting Gatehouse cannot use as written (the text names the key and what to do).
    static func unsupported(_ detail: String) -> Self {
        Self(.unsupported, detail)
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
}
