#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Users and their passwords.
public protocol UserRepository: Sendable {
    /// Inserts a user, with its first password when given, in one transaction; fails with
    /// ``StorageError/conflict`` when the username is taken.
    func create(_ user: User, password: PasswordRecord?) async throws -> User
    func find(username: String) async throws -> User?
    /// The user a login names, as MAS finds it: the exact username if it exists, otherwise the one
    /// that differs only in ASCII letter case (the first by username, should several).
    func find(usernameIgnoringCase username: String) async throws -> User?
    func find(id: String) async throws -> User?
    /// All users, by username.
    func list() async throws -> [User]
    func setLocked(userId: String, at: Date?) async throws
    func setDeactivated(userId: String, at: Date?) async throws
    func setAdmin(userId: String, _ isAdmin: Bool) async throws

    /// Stores a new password hash, which becomes the current one.
    func addPassword(_ password: PasswordRecord) async throws
    /// The newest password of a user.
    func currentPassword(userId: String) async throws -> PasswordRecord?

    /// A user's email addresses, oldest first.
    func emails(userId: String) async throws -> [UserEmail]
}

extension UserRepository {
    /// Inserts a user without a password.
    public func create(_ user: User) async throws -> User {
        try await create(user, password: nil)
    }
}

/// Compat sessions and their tokens. Every method is one transaction: a crash leaves either all of
/// its effect or none.
public protocol CompatSessionRepository: Sendable {
    /// Creates a session with its first access token (and refresh token, when given).
    func create(session: CompatSession, accessToken: CompatAccessToken, refreshToken: CompatRefreshToken?) async throws

    func find(sessionId: String) async throws -> CompatSession?
    /// Sessions of a user that are not finished.
    func activeSessions(userId: String) async throws -> [CompatSession]
    /// Every session of a user, finished or not, oldest first (for administrators).
    func sessions(userId: String) async throws -> [CompatSession]
    /// The unfinished session of a user for a device, if any.
    func activeSession(userId: String, deviceId: String) async throws -> CompatSession?

    /// Finishes a session and revokes all its tokens.
    func finish(sessionId: String, at: Date) async throws
    /// Finishes every unfinished session of a user; returns them.
    func finishAll(userId: String, at: Date) async throws -> [CompatSession]

    /// Looks up an access token by hash with its session and user (whatever their state).
    func lookupAccessToken(hash: String) async throws -> CompatAccessTokenLookup?
    func lookupRefreshToken(hash: String) async throws -> (CompatRefreshToken, CompatSession, User)?

    /// Refresh rotation in one transaction: marks `consumed` used at `at` (recording the new refresh
    /// token as its successor), revokes its access token, and stores the new pair. Fails with
    /// ``StorageError/conflict`` if `consumed` was already used.
    func rotate(consumed refreshTokenId: String, newAccessToken: CompatAccessToken, newRefreshToken: CompatRefreshToken, at: Date) async throws

    /// A refresh token by id, whatever its state.
    func findRefreshToken(id: String) async throws -> CompatRefreshToken?

    /// The answer to a lost refresh response, in one transaction: `replayed` (consumed, not revoked)
    /// is revoked so it never gets a second retry, its successor `successor` (still live) and that
    /// token's access token are revoked, and the new pair is stored as `replayed`'s successor. Fails
    /// with ``StorageError/conflict`` when either token is no longer in that state (a concurrent
    /// retry or refresh won) or the session is finished.
    func reissue(
        replayed refreshTokenId: String, successor successorId: String, newAccessToken: CompatAccessToken,
        newRefreshToken: CompatRefreshToken, at: Date) async throws

    /// Records activity (best effort, may be coalesced).
    func touch(sessionId: String, at: Date) async throws

    /// Stores a login token (`m.login.token`).
    func createLoginToken(_ token: CompatLoginToken) async throws
    /// Marks the login token with this hash used at `at` and returns it with its user; `nil` when no
    /// such token exists or it was already used. Single use is enforced in the same transaction.
    /// Expiry is the caller's decision (it reads ``CompatLoginToken/expiresAt``).
    func consumeLoginToken(hash: String, at: Date) async throws -> (CompatLoginToken, User)?
    /// Makes a login token usable again after the login it was consumed by failed before any session
    /// existed (Synapse unavailable), so the client's retry works; only the use made at `consumedAt`
    /// is undone.
    func releaseLoginToken(id: String, consumedAt: Date) async throws
}

/// OAuth 2.0 clients, dynamic and static. Every method is one transaction.
public protocol OAuth2ClientRepository: Sendable {
    /// Stores a dynamically registered client, unless a dynamic client with the same
    /// ``OAuth2Client/metadataDigest`` exists: then that one is returned instead (MAS deduplicates
    /// public clients the same way).
    /// - Returns: the stored client (the new one or the existing twin).
    func register(_ client: OAuth2Client) async throws -> OAuth2Client
    /// Inserts a client; fails with ``StorageError/conflict(_:)`` when the id is taken.
    func add(_ client: OAuth2Client) async throws
    func find(id: String) async throws -> OAuth2Client?
    /// All clients, oldest first.
    func list() async throws -> [OAuth2Client]
    /// Deletes a client; `false` when there was none with this id.
    func remove(id: String) async throws -> Bool
    /// Makes the `config` clients exactly `clients`: inserts new ones, updates changed ones, deletes
    /// those no longer listed, in one transaction. Fails with ``StorageError/conflict(_:)`` (and
    /// changes nothing) when an id belongs to a dynamic or CLI-added client.
    func syncConfigured(_ clients: [OAuth2Client]) async throws -> ClientSyncResult
}

/// The persistent job queue.
public protocol JobRepository: Sendable {
    func enqueue(_ job: Job) async throws
    /// Takes the oldest due job (runAt ≤ now, not completed, not leased) and leases it until
    /// `leaseUntil`, so a crashed worker's job becomes due again.
    func claimNext(now: Date, leaseUntil: Date) async throws -> Job?
    func complete(jobId: String, at: Date) async throws
    /// Records a failure and schedules the next attempt.
    func fail(jobId: String, error: String, retryAt: Date) async throws
    /// Jobs not completed yet, oldest first.
    func pending() async throws -> [Job]
}

/// Storage errors handlers can act on.
public struct StorageError: Error, Equatable, CustomStringConvertible, Sendable {
    private enum Code: Equatable, Sendable {
        case conflict
        case notFound
        case unavailable
        case schemaTooNew
    }

    private let code: Code
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// A uniqueness or state conflict (username taken, refresh token already used).
    public static func conflict(_ message: String) -> StorageError { StorageError(.conflict, message) }
    /// The row to change does not exist.
    public static func notFound(_ message: String) -> StorageError { StorageError(.notFound, message) }
    /// The database cannot be opened or is locked by another process.
    public static func unavailable(_ message: String) -> StorageError { StorageError(.unavailable, message) }
    /// The file was written by a newer Gatehouse.
    public static func schemaTooNew(_ message: String) -> StorageError { StorageError(.schemaTooNew, message) }

    public var isConflict: Bool { code == .conflict }
    public var isNotFound: Bool { code == .notFound }

    public var description: String { message }

    public static func == (lhs: StorageError, rhs: StorageError) -> Bool { lhs.code == rhs.code }
}

/// All repositories of one store.
public protocol IdentityStore: Sendable {
    var users: any UserRepository { get }
    var compatSessions: any CompatSessionRepository { get }
    var jobs: any JobRepository { get }
    var clients: any OAuth2ClientRepository { get }
    /// Browser sessions of the HTML pages.
    var browserSessions: any BrowserSessionRepository { get }
    /// Authorization grants of `/authorize`.
    var authorizationGrants: any AuthorizationGrantRepository { get }
    /// RFC 8628 device authorizations.
    var deviceGrants: any DeviceCodeGrantRepository { get }
    /// OAuth 2.0 sessions and their tokens.
    var oauth2Sessions: any OAuth2SessionRepository { get }
    /// Legacy SSO logins.
    var compatSSOLogins: any CompatSSOLoginRepository { get }
    /// Deletion of rows past their retention (``RetentionPolicy``).
    var retention: any RetentionRepository { get }
    /// A number that changes whenever any process commits a change that can affect an authorization
    /// decision (everything but activity timestamps); caches compare it to notice changes made
    /// elsewhere (e.g. by `gatehouse manage lock-user`).
    func changeCounter() async throws -> Int

    /// A synchronous reader of ``changeCounter()`` for one thread, cheap enough to ask on every
    /// cached introspection (a few microseconds), so a revocation committed by another process is
    /// seen by the very next request.
    func makeRevisionProbe() throws -> any RevisionProbe
}

/// Reads the store's revocation counter synchronously. Confined to the thread that made it.
public protocol RevisionProbe: AnyObject {
    /// The current counter, or `nil` if it could not be read (then nothing cached may be trusted).
    func currentRevision() -> Int?
}
