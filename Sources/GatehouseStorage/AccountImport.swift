#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the store already holds that an import must not add twice: read once before planning, so
/// that a `--dry-run` counts exactly what a real run would write.
public struct ImportBaseline: Sendable, Equatable {
    /// An existing user, as far as an import needs to know it.
    public struct ExistingUser: Sendable, Equatable {
        public var id: String
        public var isAdmin: Bool

        /// - Parameters:
        ///   - id: the user's ULID.
        ///   - isAdmin: whether Gatehouse lets the user request `urn:synapse:admin:*`.
        public init(id: String, isAdmin: Bool) {
            self.id = id
            self.isAdmin = isAdmin
        }
    }

    /// Users by username.
    public var users: [String: ExistingUser]
    /// `"<userId> <address>"` of every stored email address.
    public var emails: Set<String>
    /// The unfinished compat session of each `"<userId> <deviceId>"`.
    public var activeSessions: [String: String]
    /// SHA-256 hashes of every stored compat access and refresh token, whatever its state: a token
    /// Gatehouse revoked is never brought back by importing it again.
    public var tokenHashes: Set<String>

    /// - Parameters:
    ///   - users: users by username.
    ///   - emails: `"<userId> <address>"` keys.
    ///   - activeSessions: session ids by `"<userId> <deviceId>"`.
    ///   - tokenHashes: compat token hashes.
    public init(
        users: [String: ExistingUser] = [:], emails: Set<String> = [], activeSessions: [String: String] = [:], tokenHashes: Set<String> = []
    ) {
        self.users = users
        self.emails = emails
        self.activeSessions = activeSessions
        self.tokenHashes = tokenHashes
    }

    /// The key of ``emails``.
    public static func emailKey(userId: String, email: String) -> String { "\(userId) \(email)" }
    /// The key of ``activeSessions``.
    public static func deviceKey(userId: String, deviceId: String) -> String { "\(userId) \(deviceId)" }
}

/// Every row one import adds, written in one transaction.
public struct AccountImportBatch: Sendable, Equatable {
    public var users: [User] = []
    public var passwords: [PasswordRecord] = []
    public var emails: [UserEmail] = []
    public var sessions: [CompatSession] = []
    public var accessTokens: [CompatAccessToken] = []
    public var refreshTokens: [CompatRefreshToken] = []

    public init() {}

    /// Nothing to write.
    public var isEmpty: Bool {
        users.isEmpty && passwords.isEmpty && emails.isEmpty && sessions.isEmpty && accessTokens.isEmpty && refreshTokens.isEmpty
    }

    /// Rows in total, for progress.
    public var rowCount: Int {
        users.count + passwords.count + emails.count + sessions.count + accessTokens.count + refreshTokens.count
    }
}

/// Bulk writes for `gatehouse import-synapse` (MAS `syn2mas`).
public protocol AccountImportRepository: Sendable {
    /// What the store holds now (see ``ImportBaseline``).
    func baseline() async throws -> ImportBaseline

    /// Writes `batch` in ONE transaction: on any failure (a row that appeared since ``baseline()``
    /// was read, a crash, a full disk) nothing of it is stored.
    /// - Parameters:
    ///   - batch: the rows to insert.
    ///   - progress: called now and then from inside the transaction with the rows written so far.
    func write(_ batch: AccountImportBatch, progress: @escaping @Sendable (Int) -> Void) async throws
}
