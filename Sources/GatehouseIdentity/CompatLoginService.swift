#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseAuth
import GatehouseCore
import GatehouseHomeserver
import GatehouseStorage
import Logging

/// The Matrix legacy login layer (`/login`, `/logout`, `/logout/all`, `/refresh`) as a domain service:
/// decoded requests in, results or ``CompatError`` out. Behaviour follows MAS's compat handlers, with
/// these deliberate differences:
/// - passwords are checked by ``PasswordAuthenticator`` (shared with the HTML login page): the per-IP
///   limit applies before the user is looked up, and the password is checked before the lock, so
///   a wrong password never reveals that an account is locked;
/// - the Synapse device is created *before* the session is stored, so a failure leaves no session,
///   and a device Synapse may have created without answering is removed by a queued job;
/// - `/logout` deletes the device in Synapse before answering, so the token dies at once everywhere.
public struct CompatLoginService: Sendable {
    /// Lifetimes.
    public struct Configuration: Sendable {
        /// Access tokens of sessions that asked for a refresh token (MAS `compat_token_ttl`).
        public var accessTokenTTL: Duration
        /// `m.login.token` tokens must be used within this time of issue.
        public var loginTokenTTL: Duration

        public init(accessTokenTTL: Duration = .seconds(300), loginTokenTTL: Duration = .seconds(30)) {
            self.accessTokenTTL = accessTokenTTL
            self.loginTokenTTL = loginTokenTTL
        }
    }

    /// How the client proves who it is.
    public enum Credentials: Sendable {
        case password(user: String, password: String)
        case loginToken(String)
    }

    public struct LoginRequest: Sendable {
        public var credentials: Credentials
        public var deviceId: String?
        public var initialDeviceDisplayName: String?
        public var wantsRefreshToken: Bool
        /// The client address rate limits key on (see `ClientAddress`).
        public var clientAddress: String?

        public init(credentials: Credentials, deviceId: String?, initialDeviceDisplayName: String?, wantsRefreshToken: Bool, clientAddress: String?) {
            self.credentials = credentials
            self.deviceId = deviceId
            self.initialDeviceDisplayName = initialDeviceDisplayName
            self.wantsRefreshToken = wantsRefreshToken
            self.clientAddress = clientAddress
        }
    }

    public struct LoginResult: Sendable, Equatable {
        public var userId: String
        public var accessToken: String
        public var deviceId: String
        public var refreshToken: String?
        public var expiresInMilliseconds: Int?
    }

    public struct RefreshResult: Sendable, Equatable {
        public var accessToken: String
        public var refreshToken: String
        public var expiresInMilliseconds: Int
    }

    let store: any IdentityStore
    let synapse: SynapseClient
    let queue: JobQueue
    let hasher: PasswordHasher
    let serverName: String
    let configuration: Configuration
    /// The password check, shared with the HTML login page (same limiters, same rules).
    public let passwords: PasswordAuthenticator
    let devices: DeviceGuard
    let clock: any WallClock
    let random: any RandomSource
    let onRevocation: @Sendable () -> Void
    let logger: Logger

    /// - Parameters:
    ///   - store: the identity store.
    ///   - synapse: the client for `/_synapse/mas/*`.
    ///   - queue: where device clean-up goes when Synapse cannot be reached.
    ///   - hasher: password verification.
    ///   - serverName: Synapse's `server_name`.
    ///   - configuration: lifetimes.
    ///   - perIP: `rate_limiting.login.per_ip`.
    ///   - perAccount: `rate_limiting.login.per_account`.
    ///   - devices: the device lock shared with the job runner that removes orphan devices (`nil`: a
    ///     guard of its own, for processes without a runner).
    ///   - clock: the wall clock.
    ///   - random: tokens and device ids.
    ///   - onRevocation: called after anything that kills tokens, so caches forget them at once.
    ///   - logger: failures worth an admin's attention (never tokens or passwords).
    public init(
        store: any IdentityStore, synapse: SynapseClient, queue: JobQueue, hasher: PasswordHasher, serverName: String,
        configuration: Configuration = Configuration(), perIP: RateLimiter, perAccount: RateLimiter, devices: DeviceGuard? = nil,
        clock: any WallClock = SystemClock(), random: any RandomSource = SystemRandom(),
        onRevocation: @escaping @Sendable () -> Void = {}, logger: Logger = Logger(label: "gatehouse.compat")
    ) {
        self.store = store
        self.synapse = synapse
        self.queue = queue
        self.hasher = hasher
        self.serverName = serverName
        self.configuration = configuration
        self.passwords = PasswordAuthenticator(
            store: store, hasher: hasher, serverName: serverName, perIP: perIP, perAccount: perAccount, clock: clock, random: random,
            logger: logger)
        self.devices = devices ?? DeviceGuard(store: store)
        self.clock = clock
        self.random = random
        self.onRevocation = onRevocation
        self.logger = logger
    }

    /// Whether `m.login.password` is offered.
    public var passwordLoginEnabled: Bool { hasher.isEnabled }

    // MARK: Login

    public func login(_ request: LoginRequest) async throws(CompatError) -> LoginResult {
        // Identifiers are checked before anything is looked up, stored or sent to Synapse.
        if let deviceId = request.deviceId, DeviceId.validate(deviceId) != nil { throw .invalidDeviceId }
        if let name = request.initialDeviceDisplayName, !DeviceDisplayName.isAcceptable(name) { throw .invalidDisplayName }
        let user: User
        var loginToken: CompatLoginToken?
        switch request.credentials {
        case .password(let name, let password):
            user = try await passwordLogin(name: name, password: password, clientAddress: request.clientAddress)
        case .loginToken(let token):
            let (consumed, owner) = try await tokenLogin(token)
            loginToken = consumed
            user = owner
        }
        do throws(CompatError) {
            return try await startSession(
                user: user, deviceId: request.deviceId, displayName: request.initialDeviceDisplayName, wantsRefresh: request.wantsRefreshToken)
        } catch {
            // Nothing was created: the client's retry (after Retry-After) may use the same login token.
            if error == .homeserverUnavailable, let loginToken, let consumedAt = loginToken.consumedAt {
                try? await store.compatSessions.releaseLoginToken(id: loginToken.id, consumedAt: consumedAt)
            }
            throw error
        }
    }

    private func passwordLogin(name: String, password: String, clientAddress: String?) async throws(CompatError) -> User {
        do {
            return try await passwords.authenticate(name: name, password: password, clientAddress: clientAddress)
        } catch {
            switch error {
            case .disabled: throw .invalidLoginType
            case .invalidCredentials: throw .invalidCredentials
            case .userLocked: throw .userLocked
            case .rateLimited(let retryAfter): throw .rateLimited(retryAfterMilliseconds: retryAfter)
            case .overloaded: throw .overloaded
            case .internalError: throw .internalError
            }
        }
    }

    /// - Returns: the token as consumed now (`consumedAt` set), and its user.
    private func tokenLogin(_ token: String) async throws(CompatError) -> (CompatLoginToken, User) {
        let now = clock.now()
        let found: (CompatLoginToken, User)?
        do {
            found = try await store.compatSessions.consumeLoginToken(hash: TokenHasher.sha256Hex(token), at: now)
        } catch {
            logger.error("login: store failed", metadata: ["error": "\(error)"])
            throw .internalError
        }
        guard let (stored, user) = found, user.deactivatedAt == nil else { throw .invalidLoginToken }
        guard now <= stored.expiresAt else { throw .loginTokenExpired }
        if user.lockedAt != nil { throw .userLocked }
        var consumed = stored
        consumed.consumedAt = now
        return (consumed, user)
    }

    /// Creates the Synapse device first (failing closed), then the session and its tokens; an active
    /// session on the same device is replaced, and its tokens die.
    ///
    /// When Synapse cannot be reached, does not answer in time (a frozen Synapse accepts the
    /// connection and never answers) or answers 5xx/429, the client gets ``CompatError/homeserverUnavailable``
    /// and nothing is stored. Synapse may still have created the device (or create it when it wakes
    /// up), so a `remove_orphan_device` job deletes it once Synapse is back, unless a session uses it
    /// by then. The ``DeviceGuard`` lock keeps that job away while this login works on the device.
    private func startSession(user: User, deviceId: String?, displayName: String?, wantsRefresh: Bool) async throws(CompatError) -> LoginResult {
        // A requested device ID was checked in `login` already.
        let device = deviceId ?? DeviceId.generate(random: random)
        return try await devices.withLock(localpart: user.username, deviceId: device) { () async throws(CompatError) -> LoginResult in
            try await startSessionLocked(user: user, device: device, displayName: displayName, wantsRefresh: wantsRefresh)
        }
    }

    private func startSessionLocked(user: User, device: String, displayName: String?, wantsRefresh: Bool) async throws(CompatError) -> LoginResult {
        do {
            _ = try await synapse.upsertDevice(localpart: user.username, deviceId: device, displayName: displayName)
        } catch {
            // A 400 is Synapse refusing the device id itself (too long, ...): nothing was created.
            if error.status == 400 { throw .invalidDeviceId }
            if error.isRetryable {
                logger.warning(
                    "login: Synapse is unavailable; the device it may have created is queued for removal",
                    metadata: ["user": "\(user.username)", "error": "\(error)"])
                await queueOrphanRemoval(localpart: user.username, deviceId: device)
                throw .homeserverUnavailable
            }
            logger.error("login: Synapse could not create the device", metadata: ["user": "\(user.username)", "error": "\(error)"])
            throw .internalError
        }

        let now = clock.now()
        let session = CompatSession(
            id: ULID.make(at: now, random: random), userId: user.id, deviceId: device, displayName: displayName, createdAt: now)
        let (accessToken, accessRow) = newAccessToken(session: session.id, now: now, expiring: wantsRefresh)
        var refresh: (String, CompatRefreshToken)?
        if wantsRefresh { refresh = newRefreshToken(session: session.id, accessTokenId: accessRow.id, now: now) }
        var replaced = false
        do {
            if let previous = try await store.compatSessions.activeSession(userId: user.id, deviceId: device) {
                try await store.compatSessions.finish(sessionId: previous.id, at: now)
                replaced = true
            }
            // A device has one session, whatever kind of login made the one it replaces.
            if let previous = try await store.oauth2Sessions.activeSession(userId: user.id, deviceId: device) {
                replaced = try await store.oauth2Sessions.finish(sessionId: previous.id, at: now) || replaced
            }
            try await store.compatSessions.create(session: session, accessToken: accessRow, refreshToken: refresh?.1)
        } catch {
            logger.error("login: store failed after the device was created", metadata: ["error": "\(error)"])
            if replaced { onRevocation() }
            await queueOrphanRemoval(localpart: user.username, deviceId: device)
            throw .internalError
        }
        if replaced { onRevocation() }
        return LoginResult(
            userId: Localpart.userId(user.username, serverName: serverName), accessToken: accessToken, deviceId: device,
            refreshToken: refresh?.0, expiresInMilliseconds: wantsRefresh ? milliseconds(configuration.accessTokenTTL) : nil)
    }

    /// Queues the removal of a device a failed login may have left in Synapse (the job keeps it if a
    /// session uses it by the time it runs).
    private func queueOrphanRemoval(localpart: String, deviceId: String) async {
        do {
            try await queue.enqueue(.removeOrphanDevice(.init(localpart: localpart, deviceId: deviceId)), clock: clock, random: random)
        } catch {
            logger.error(
                "login: could not queue the removal of a device Synapse may have created",
                metadata: ["user": "\(localpart)", "device": "\(deviceId)", "error": "\(error)"])
        }
    }

    // MARK: Logout and refresh

    /// Ends the session of `accessToken` and deletes its device in Synapse before returning.
    public func logout(accessToken: String) async throws(CompatError) {
        let found = try await activeSession(of: accessToken)
        do {
            try await store.compatSessions.finish(sessionId: found.session.id, at: clock.now())
        } catch {
            throw .internalError
        }
        onRevocation()
        await removeDevices(localpart: found.user.username, userId: found.user.id, deleting: [found.session.deviceId])
    }

    /// Ends every compat session of the token's user (MAS requires the client to acknowledge that only
    /// compat sessions are ended, with `io.element.only_compat_is_fine`).
    public func logoutAll(accessToken: String, onlyCompatIsFine: Bool) async throws(CompatError) {
        let found = try await activeSession(of: accessToken)
        guard onlyCompatIsFine else { throw .logoutAllNotSupported }
        let finished: [CompatSession]
        do {
            finished = try await store.compatSessions.finishAll(userId: found.user.id, at: clock.now())
        } catch {
            throw .internalError
        }
        onRevocation()
        await removeDevices(localpart: found.user.username, userId: found.user.id, deleting: finished.map(\.deviceId))
    }

    /// Rotates a refresh token: the old one is consumed and its access token dies.
    ///
    /// A refresh token presented again after use is a replay, answered as RFC 9700 §4.14.2 asks of
    /// rotated refresh tokens: the session ends (every token dies and the device is deleted), because
    /// either the client or an attacker holds a stolen copy. One exception, as MAS makes it for
    /// OAuth 2.0 (MAS#2795): the token used last, whose successor was never used (the successor
    /// refresh token not presented, its access token never seen by Gatehouse or Synapse), is a client
    /// that lost the answer to its refresh; it gets a fresh pair once, and the unused successor dies.
    /// Presentations racing each other are answered as if they had come one after the other.
    public func refresh(refreshToken: String) async throws(CompatError) -> RefreshResult {
        guard case .success(.compatRefreshToken) = TokenFormat.classify(refreshToken) else { throw .invalidRefreshToken }
        let now = clock.now()
        let found: (CompatRefreshToken, CompatSession, User)?
        do {
            found = try await store.compatSessions.lookupRefreshToken(hash: TokenHasher.sha256Hex(refreshToken))
        } catch {
            throw .internalError
        }
        guard let (old, session, user) = found, session.finishedAt == nil, user.isActive else {
            throw .invalidRefreshToken
        }
        guard old.consumedAt == nil, old.revokedAt == nil else {
            return try await replayed(old, session: session, user: user, now: now)
        }
        let (accessToken, accessRow) = newAccessToken(session: session.id, now: now, expiring: true)
        let (newRefresh, refreshRow) = newRefreshToken(session: session.id, accessTokenId: accessRow.id, now: now)
        do {
            try await store.compatSessions.rotate(consumed: old.id, newAccessToken: accessRow, newRefreshToken: refreshRow, at: now)
        } catch let error as StorageError where error.isConflict {
            // A concurrent presentation of the same token rotated it first: this one is answered as
            // if it had come a moment later, so the outcome never depends on the timing.
            let current: CompatRefreshToken?
            do {
                current = try await store.compatSessions.findRefreshToken(id: old.id)
            } catch {
                throw .internalError
            }
            guard let current, current.consumedAt != nil || current.revokedAt != nil else { throw .invalidRefreshToken }
            return try await replayed(current, session: session, user: user, now: now)
        } catch let error as StorageError where error.isNotFound {
            throw .invalidRefreshToken
        } catch {
            throw .internalError
        }
        onRevocation()
        return RefreshResult(accessToken: accessToken, refreshToken: newRefresh, expiresInMilliseconds: milliseconds(configuration.accessTokenTTL))
    }

    /// A refresh token of a live session that is no longer live itself: the one lost-response retry
    /// or the end of the session.
    private func replayed(_ old: CompatRefreshToken, session: CompatSession, user: User, now: Date) async throws(CompatError) -> RefreshResult {
        if old.consumedAt != nil, old.revokedAt == nil, let successorId = old.nextRefreshTokenId {
            let successor: CompatRefreshToken?
            do {
                successor = try await store.compatSessions.findRefreshToken(id: successorId)
            } catch {
                throw .internalError
            }
            // Any activity of the session after the successor was issued can only be its access token:
            // the previous one died when the successor was issued.
            if let successor, successor.consumedAt == nil, successor.revokedAt == nil,
                !(session.lastActiveAt.map { $0 > successor.createdAt } ?? false)
            {
                let (accessToken, accessRow) = newAccessToken(session: session.id, now: now, expiring: true)
                let (newRefresh, refreshRow) = newRefreshToken(session: session.id, accessTokenId: accessRow.id, now: now)
                do {
                    try await store.compatSessions.reissue(
                        replayed: old.id, successor: successor.id, newAccessToken: accessRow, newRefreshToken: refreshRow, at: now)
                    onRevocation()
                    logger.info("refresh: a client retried a refresh whose answer it lost; new tokens issued once", metadata: [
                        "user": "\(user.username)", "device": "\(session.deviceId)",
                    ])
                    return RefreshResult(
                        accessToken: accessToken, refreshToken: newRefresh, expiresInMilliseconds: milliseconds(configuration.accessTokenTTL))
                } catch let error as StorageError where error.isConflict {
                    // A concurrent retry or refresh won: this presentation is a replay after all.
                } catch {
                    throw .internalError
                }
            }
        }
        logger.warning("refresh: a used refresh token was presented again; the session is ended (RFC 9700 §4.14.2)", metadata: [
            "user": "\(user.username)", "device": "\(session.deviceId)",
        ])
        do {
            try await store.compatSessions.finish(sessionId: session.id, at: now)
        } catch {
            throw .internalError
        }
        onRevocation()
        await removeDevices(localpart: user.username, userId: user.id, deleting: [session.deviceId])
        throw .invalidRefreshToken
    }

    // MARK: Helpers

    private func activeSession(of accessToken: String) async throws(CompatError) -> CompatAccessTokenLookup {
        guard case .success(.compatAccessToken) = TokenFormat.classify(accessToken) else { throw .unknownToken }
        let found: CompatAccessTokenLookup?
        do {
            found = try await store.compatSessions.lookupAccessToken(hash: TokenHasher.sha256Hex(accessToken))
        } catch {
            throw .internalError
        }
        guard let found, found.token.revokedAt == nil, found.session.finishedAt == nil, found.user.isActive,
            found.token.expiresAt.map({ $0 > clock.now() }) ?? true
        else { throw .unknownToken }
        return found
    }

    /// Deletes devices in Synapse now; if Synapse cannot be reached, a `sync_devices` job (with the
    /// devices that remain) makes sure they go once it is back. The session is already finished either
    /// way, so the token is refused meanwhile.
    private func removeDevices(localpart: String, userId: String, deleting devices: [String]) async {
        var failed = false
        for device in devices {
            do {
                try await synapse.deleteDevice(localpart: localpart, deviceId: device)
            } catch {
                logger.warning("logout: Synapse did not delete the device; queued", metadata: ["user": "\(localpart)", "error": "\(error)"])
                failed = true
                break
            }
        }
        guard failed else { return }
        do {
            let remaining = try await store.activeDeviceIds(userId: userId)
            try await queue.enqueue(.syncDevices(.init(localpart: localpart, devices: remaining)), clock: clock, random: random)
        } catch {
            logger.error("logout: could not queue the device clean-up", metadata: ["user": "\(localpart)", "error": "\(error)"])
        }
    }

    private func newAccessToken(session: String, now: Date, expiring: Bool) -> (String, CompatAccessToken) {
        CompatTokens.access(
            session: session, now: now, expiresAt: expiring ? now.addingTimeInterval(seconds(configuration.accessTokenTTL)) : nil,
            random: random)
    }

    private func newRefreshToken(session: String, accessTokenId: String, now: Date) -> (String, CompatRefreshToken) {
        CompatTokens.refresh(session: session, accessTokenId: accessTokenId, now: now, random: random)
    }

    private func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }

    private func seconds(_ duration: Duration) -> TimeInterval {
        Double(milliseconds(duration)) / 1000
    }
}
