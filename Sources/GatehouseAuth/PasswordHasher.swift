import GatehouseCore
import NIOCore
import NIOPosix
import Synchronization

/// Hashes and checks user passwords with versioned schemes, off the event loops and off the Swift
/// cooperative thread pool (MAS `crates/handlers/src/passwords.rs`, `PasswordManager`).
///
/// A password hash costs 50–500 ms of CPU. Running that on an event loop would stall every connection
/// on it, and on the cooperative pool it would starve every other task, so all hashing runs on a
/// dedicated `NIOThreadPool` of `threadPoolSize` threads. A ``ConcurrencyLimiter`` admits at most that
/// many operations at once and lets at most `maxWaiting` more wait; anything beyond is refused with
/// ``PasswordHasherError/overloaded``, so a login storm costs a bounded amount of CPU and memory.
///
/// Versioning follows MAS: each stored hash carries the version of its scheme, new passwords use the
/// highest version, and a successful ``verify(_:version:hash:)`` of an older-version hash returns a
/// fresh hash under the newest scheme (``PasswordVerification/validNeedsUpgrade(newVersion:newHash:)``).
///
/// Call ``shutdown()`` when done; it waits for running operations.
public final class PasswordHasher: Sendable {
    /// The configured schemes, highest version first.
    public let schemes: [PasswordScheme]
    /// `passwords.enabled`: whether password login is offered at all (handlers check it).
    public let isEnabled: Bool
    /// Threads hashing in parallel, which is also the number of operations admitted at once.
    public let threadPoolSize: Int

    /// What ``verifyDummy(_:)`` checks against: a hash in the newest scheme's format with exactly the
    /// parameters ``hash(_:)`` gives new passwords (argon2id m/t/p, salt and output length; bcrypt
    /// cost), both taken from ``PasswordScheme`` so they cannot drift apart.
    let dummyHash: String

    private let pool: NIOThreadPool
    private let limiter: ConcurrencyLimiter
    private let random: any RandomSource
    private let isShutDown = Atomic<Bool>(false)

    /// The scheme new passwords are hashed with (the highest version).
    public var newestScheme: PasswordScheme { schemes[0] }

    /// Starts a hasher with its own thread pool.
    /// - Parameters:
    ///   - schemes: at least one, versions unique.
    ///   - enabled: whether password login is offered.
    ///   - threadPoolSize: hashing threads and concurrent operations (default 2).
    ///   - maxWaiting: operations allowed to wait for a thread before further ones are refused.
    ///   - random: where salts come from.
    /// - Throws: ``PasswordHasherError/invalidConfiguration(_:)`` for no schemes, duplicate versions or a
    ///   bcrypt cost outside 4...31.
    public init(
        schemes: [PasswordScheme], enabled: Bool = true, threadPoolSize: Int = 2, maxWaiting: Int = 64,
        random: any RandomSource = SystemRandom()
    ) throws(PasswordHasherError) {
        guard !schemes.isEmpty else { throw PasswordHasherError.invalidConfiguration("at least one password scheme is needed") }
        guard Set(schemes.map(\.version)).count == schemes.count else {
            throw PasswordHasherError.invalidConfiguration("password scheme versions must be unique")
        }
        for scheme in schemes where scheme.algorithm == .bcrypt && !Bcrypt.costRange.contains(scheme.cost) {
            throw PasswordHasherError.invalidConfiguration("bcrypt cost \(scheme.cost) of scheme \(scheme.version) is not in 4...31")
        }
        guard threadPoolSize >= 1, maxWaiting >= 0 else {
            throw PasswordHasherError.invalidConfiguration("threadPoolSize must be at least 1 and maxWaiting at least 0")
        }
        self.schemes = schemes.sorted { $0.version > $1.version }
        self.isEnabled = enabled
        self.threadPoolSize = threadPoolSize
        self.random = random
        self.dummyHash = Self.dummyHash(for: self.schemes[0])
        self.limiter = ConcurrencyLimiter(limit: threadPoolSize, maxWaiting: maxWaiting)
        self.pool = NIOThreadPool(numberOfThreads: threadPoolSize)
        pool.start()
    }

    /// Starts a hasher for the validated `passwords` configuration section.
    /// - Parameters:
    ///   - configuration: `passwords` as loaded by ``ConfigurationLoader``.
    ///   - threadPoolSize: hashing threads and concurrent operations (default 2).
    ///   - maxWaiting: operations allowed to wait for a thread before further ones are refused.
    ///   - random: where salts come from.
    public convenience init(
        configuration: PasswordsConfiguration, threadPoolSize: Int = 2, maxWaiting: Int = 64,
        random: any RandomSource = SystemRandom()
    ) throws(PasswordHasherError) {
        try self.init(
            schemes: configuration.schemes.map(PasswordScheme.init), enabled: configuration.enabled,
            threadPoolSize: threadPoolSize, maxWaiting: maxWaiting, random: random)
    }

    deinit {
        // A safety net: NIOThreadPool must not be deinitialised while running. No-op after shutdown().
        pool.shutdownGracefully { _ in }
    }

    /// Stops the thread pool after running operations finish; later calls fail with
    /// ``PasswordHasherError/shutDown``.
    public func shutdown() async throws {
        isShutDown.store(true, ordering: .releasing)
        try await pool.shutdownGracefully()
    }

    /// Hashes a new password with the newest scheme.
    /// - Parameter password: the password as the user typed it.
    /// - Returns: the scheme version and the hash to store together.
    public func hash(_ password: String) async throws -> (version: Int, hash: String) {
        let scheme = newestScheme
        let bytes = scheme.passwordBytes(password)
        let random = self.random
        let hash = try await run { () throws(PasswordHasherError) -> String in
            try Self.hash(bytes, scheme: scheme, random: random)
        }
        return (scheme.version, hash)
    }

    /// Checks `password` against a stored hash, and rehashes it with the newest scheme when the stored
    /// one is older (MAS `verify_and_upgrade`).
    /// - Parameters:
    ///   - password: the password as the user typed it.
    ///   - version: the scheme version stored with the hash.
    ///   - hash: the stored hash.
    /// - Throws: ``PasswordHasherError/unknownVersion(_:)`` when no scheme has `version`,
    ///   ``PasswordHasherError/malformedHash(_:)`` or ``PasswordHasherError/unsupportedParameters(_:)`` for
    ///   a stored hash that cannot be checked, ``PasswordHasherError/overloaded`` when too many checks wait.
    public func verify(_ password: String, version: Int, hash: String) async throws -> PasswordVerification {
        guard let scheme = schemes.first(where: { $0.version == version }) else { throw PasswordHasherError.unknownVersion(version) }
        let newest = newestScheme
        let bytes = scheme.passwordBytes(password)
        let upgradeBytes = scheme.version < newest.version ? newest.passwordBytes(password) : nil
        let random = self.random
        return try await run { () throws(PasswordHasherError) -> PasswordVerification in
            guard try Self.verify(bytes, hash: hash, scheme: scheme) else { return .invalid }
            guard let upgradeBytes else { return .valid }
            // Same thread-pool slot: the user is waiting for this login anyway.
            return .validNeedsUpgrade(newVersion: newest.version, newHash: try Self.hash(upgradeBytes, scheme: newest, random: random))
        }
    }

    /// Spends the same effort as checking a password with the newest scheme and discards the result.
    ///
    /// Call it when the user does not exist, so that "no such user" and "wrong password" take the same
    /// time and an attacker cannot probe for usernames by timing logins. The dummy is checked like a
    /// real hash of the newest scheme: same algorithm, same cost parameters, same pepper and
    /// normalisation. A user whose stored hash is still in an *older* scheme (say, bcrypt imported from
    /// Synapse under a newer argon2id scheme) costs what that scheme costs until their next successful
    /// login rehashes it; see docs/configuration.md, `passwords`.
    /// - Parameter password: the password as the user typed it.
    public func verifyDummy(_ password: String) async throws {
        let scheme = newestScheme
        let bytes = scheme.passwordBytes(password)
        let dummy = dummyHash
        _ = try await run { () throws(PasswordHasherError) -> Bool in
            try Self.verify(bytes, hash: dummy, scheme: scheme)
        }
    }

    /// Runs `body` on the hashing pool once the limiter admits it. Internal so tests can observe where
    /// and how concurrently work runs.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws(PasswordHasherError) -> T) async throws -> T {
        guard !isShutDown.load(ordering: .acquiring) else { throw PasswordHasherError.shutDown }
        try await limiter.acquire()
        do {
            let result = try await pool.runIfActive { () throws(PasswordHasherError) -> T in
                HashingThreadPriority.lowerOnce()
                return try body()
            }
            await limiter.release()
            return result
        } catch {
            await limiter.release()
            // A stopped pool refuses work with `ThreadPoolInactive` or cancels it.
            if error is NIOThreadPoolError.ThreadPoolInactive || (error is CancellationError && isShutDown.load(ordering: .acquiring)) {
                throw PasswordHasherError.shutDown
            }
            throw error
        }
    }

    /// Operations waiting for a pool thread right now (for tests and metrics).
    var waitingCount: Int {
        get async { await limiter.waitingCount }
    }

    private static func hash(_ bytes: [UInt8], scheme: PasswordScheme, random: any RandomSource) throws(PasswordHasherError) -> String {
        switch scheme.algorithm {
        case .argon2id:
            try Argon2id.hash(bytes, salt: random.bytes(Argon2id.saltLength), secret: scheme.argon2Secret, parameters: scheme.argon2Parameters)
        case .bcrypt:
            try Bcrypt.hash(bytes, cost: scheme.cost, salt: random.bytes(16))
        }
    }

    private static func verify(_ bytes: [UInt8], hash: String, scheme: PasswordScheme) throws(PasswordHasherError) -> Bool {
        switch scheme.algorithm {
        case .argon2id: try Argon2id.verify(bytes, encoded: hash, secret: scheme.argon2Secret)
        case .bcrypt: try Bcrypt.verify(bytes, hash: hash)
        }
    }

    /// A well-formed hash no password produces in practice, with the parameters `hash` uses for
    /// `scheme`, for ``verifyDummy(_:)``.
    static func dummyHash(for scheme: PasswordScheme) -> String {
        switch scheme.algorithm {
        case .argon2id:
            let p = scheme.argon2Parameters
            let salt = PHCBase64.encode(Array("gatehouse-dummy!".utf8))
            let output = PHCBase64.encode([UInt8](repeating: 0, count: Argon2id.outputLength))
            return "$argon2id$v=19$m=\(p.memoryKiB),t=\(p.iterations),p=\(p.parallelism)$\(salt)$\(output)"
        case .bcrypt:
            let cost = scheme.cost < 10 ? "0\(scheme.cost)" : "\(scheme.cost)"
            return "$2b$\(cost)$" + String(repeating: "O", count: 22) + String(repeating: ".", count: 31)
        }
    }
}
