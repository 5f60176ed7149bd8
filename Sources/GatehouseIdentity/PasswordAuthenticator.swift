#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseAuth
import GatehouseCore
import GatehouseStorage
import Logging

/// The password check shared by the Matrix `POST /login` (`m.login.password`) and the HTML login
/// page: one place for the rate limits, the lookup, the hashing and the lock rules, so the two
/// can never drift apart.
///
/// - The per-address limit applies to every attempt, before anything is looked up.
/// - Names are found as MAS finds them: case-insensitively, the exact case preferred (phone
///   keyboards capitalise the first letter; legacy Synapse accounts may have capitals).
/// - The per-account limit is keyed by the account found (so `alice`, `Alice` and
///   `@alice:server` share one allowance), and for a name that has no account by its lower-case
///   form, so that a 429 says nothing about which accounts exist.
/// - An unknown name costs the same hashing time as a wrong password (a dummy verify).
/// - The password is checked before the lock, so a wrong password never reveals a lock; a
///   deactivated account answers as a wrong password.
/// - A hash made by an older scheme is upgraded after a successful check.
public struct PasswordAuthenticator: Sendable {
    /// Why the check failed.
    public enum Failure: Error, Equatable, Sendable {
        /// `passwords.enabled: false`.
        case disabled
        /// Unknown name, wrong password or deactivated account (one answer for all three).
        case invalidCredentials
        /// The password was right but the account is locked.
        case userLocked
        case rateLimited(retryAfterMilliseconds: Int)
        /// Too many password checks are waiting for a hashing thread.
        case overloaded
        case internalError
    }

    let store: any IdentityStore
    let hasher: PasswordHasher
    let serverName: String
    let perIP: RateLimiter
    let perAccount: RateLimiter
    let clock: any WallClock
    let random: any RandomSource
    let logger: Logger

    /// - Parameters:
    ///   - store: the identity store.
    ///   - hasher: password verification.
    ///   - serverName: Synapse's `server_name` (for `@name:server`).
    ///   - perIP: `rate_limiting.login.per_ip`.
    ///   - perAccount: `rate_limiting.login.per_account`.
    ///   - clock: the wall clock.
    ///   - random: ids of upgraded password rows.
    ///   - logger: failures worth an admin's attention (never passwords).
    public init(
        store: any IdentityStore, hasher: PasswordHasher, serverName: String, perIP: RateLimiter, perAccount: RateLimiter,
        clock: any WallClock = SystemClock(), random: any RandomSource = SystemRandom(), logger: Logger = Logger(label: "gatehouse.passwords")
    ) {
        self.store = store
        self.hasher = hasher
        self.serverName = serverName
        self.perIP = perIP
        self.perAccount = perAccount
        self.clock = clock
        self.random = random
        self.logger = logger
    }

    /// Whether password login is offered.
    public var isEnabled: Bool { hasher.isEnabled }

    /// Checks a name and password.
    /// - Parameters:
    ///   - name: a localpart or `@localpart:serverName`, as typed.
    ///   - password: the password.
    ///   - clientAddress: the client address the per-address limit keys on.
    /// - Returns: the user, active or locked-then-refused (see ``Failure/userLocked``).
    public func authenticate(name: String, password: String, clientAddress: String?) async throws(Failure) -> User {
        guard hasher.isEnabled else { throw .disabled }
        try check(perIP, key: clientAddress ?? "(no client address)")
        // A name no account can have (another server's ID, control characters, spaces, non-ASCII,
        // too long) gets the unknown-user answer at once: its validity is public (Synapse's rules),
        // so answering without the dummy hash reveals nothing about which accounts exist.
        guard case .success(let folded) = Localpart.canonical(name, serverName: serverName),
            let typed = Localpart.from(name, serverName: serverName)
        else { throw .invalidCredentials }

        let user: User?
        let current: PasswordRecord?
        do {
            user = try await store.users.find(usernameIgnoringCase: typed)
            if let user {
                current = try await store.users.currentPassword(userId: user.id)
            } else {
                current = nil
            }
        } catch {
            logger.error("login: store failed", metadata: ["error": "\(error)"])
            throw .internalError
        }
        try check(perAccount, key: user.map { "user:" + $0.id } ?? "name:" + folded)
        guard let user, let current else {
            // Same work as a real check, so an unknown name cannot be told apart by timing.
            try await hashing { try await hasher.verifyDummy(password) }
            throw .invalidCredentials
        }
        let verification = try await hashing { try await hasher.verify(password, version: current.version, hash: current.hash) }
        guard verification.isValid, user.deactivatedAt == nil else { throw .invalidCredentials }
        if user.lockedAt != nil { throw .userLocked }
        if case .validNeedsUpgrade(let version, let hash) = verification {
            let now = clock.now()
            let upgraded = PasswordRecord(id: ULID.make(at: now, random: random), userId: user.id, version: version, hash: hash, createdAt: now)
            do {
                try await store.users.addPassword(upgraded)
            } catch {
                // The login still succeeds; the upgrade is tried again next time.
                logger.warning("login: could not store the upgraded password hash", metadata: ["error": "\(error)"])
            }
        }
        return user
    }

    private func check(_ limiter: RateLimiter, key: String) throws(Failure) {
        // Rounded up (not truncated), so a client that waits exactly `retry_after_ms` is let in.
        if let retryAfter = limiter.check(key).retryAfterMilliseconds {
            throw .rateLimited(retryAfterMilliseconds: max(1, retryAfter))
        }
    }

    private func hashing<T>(_ body: () async throws -> T) async throws(Failure) -> T {
        do {
            return try await body()
        } catch let error as PasswordHasherError where error == .overloaded {
            throw .overloaded
        } catch {
            logger.error("login: password check failed", metadata: ["error": "\(error)"])
            throw .internalError
        }
    }
}
