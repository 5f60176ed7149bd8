#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseAuth
import GatehouseCore
import GatehouseHomeserver
import GatehouseStorage

/// Account operations that keep Gatehouse's store and Synapse in step: what `gatehouse manage ...`
/// does (and, later, the admin API and the account pages).
///
/// Work a caller waits on (creating the Synapse device before a token exists) is done synchronously
/// and fails closed. Work that must happen eventually (provisioning, locking, deactivation, device
/// clean-up) goes through the persistent job queue and is attempted at once; when Synapse cannot be
/// reached the job stays queued and the running server's worker retries it. Every outcome says which
/// of the two happened.
public struct AccountService: Sendable {
    let store: any IdentityStore
    let synapse: SynapseClient
    let runner: JobRunner
    let queue: JobQueue
    let hasher: PasswordHasher
    let serverName: String
    let devices: DeviceGuard
    let clock: any WallClock
    let random: any RandomSource
    /// Called after anything that revokes tokens, so this process's caches forget them at once.
    let onRevocation: @Sendable () -> Void

    /// - Parameters:
    ///   - store: the identity store.
    ///   - synapse: the client for `/_synapse/mas/*`.
    ///   - runner: the job runner (used to attempt queued work at once).
    ///   - hasher: password hashing.
    ///   - serverName: Synapse's `server_name`.
    ///   - devices: the device lock shared with the runner (`nil`: a guard of its own).
    ///   - clock: the wall clock.
    ///   - random: identifiers and secrets.
    ///   - onRevocation: cache invalidation hook.
    public init(
        store: any IdentityStore, synapse: SynapseClient, runner: JobRunner, hasher: PasswordHasher, serverName: String,
        devices: DeviceGuard? = nil, clock: any WallClock = SystemClock(), random: any RandomSource = SystemRandom(),
        onRevocation: @escaping @Sendable () -> Void = {}
    ) {
        self.store = store
        self.synapse = synapse
        self.runner = runner
        self.queue = JobQueue(repository: store.jobs, runner: runner)
        self.hasher = hasher
        self.serverName = serverName
        self.devices = devices ?? DeviceGuard(store: store)
        self.clock = clock
        self.random = random
        self.onRevocation = onRevocation
    }

    /// What happened on the Synapse side of an operation.
    public enum SynapseOutcome: Sendable, Equatable {
        /// Nothing to do in Synapse.
        case notNeeded
        /// Done.
        case done
        /// Synapse could not be reached or refused for now; the job stays queued and is retried.
        case queued(jobId: String, reason: String)

        /// One sentence for the CLI.
        public var summary: String {
            switch self {
            case .notNeeded: "Synapse: nothing to change"
            case .done: "Synapse: updated"
            case .queued(let jobId, let reason):
                "Synapse: not updated yet (\(reason)); job \(jobId) is queued and the running server retries it until Synapse accepts it"
            }
        }
    }

    // MARK: Users

    /// Creates a user and provisions it in Synapse.
    /// - Parameters:
    ///   - username: the localpart (or full MXID of this server).
    ///   - password: the first password, if any.
    ///   - admin: may obtain Synapse admin scope.
    ///   - displayName: set in Synapse.
    ///   - emails: set as 3PIDs in Synapse.
    ///   - checkHomeserver: ask Synapse whether the name is free first (the admin API's
    ///     `skip_homeserver_check` turns it off, as in MAS).
    public func registerUser(
        username: String, password: String?, admin: Bool, displayName: String?, emails: [String], checkHomeserver: Bool = true
    ) async throws(AccountError) -> (User, SynapseOutcome) {
        let localpart = try validLocalpart(username)
        // Synapse refuses a name that differs from an existing one only in case; so does Gatehouse.
        if let existing = try await findUser(localpart) { throw .userExists(existing.username) }
        do {
            if checkHomeserver, try await !synapse.isLocalpartAvailable(localpart) {
                throw AccountError.takenInSynapse(localpart)
            }
        } catch let error as SynapseError where error.isRetryable {
            // Synapse is down: create the account now, provisioning waits in the queue.
        } catch let error as SynapseError {
            throw .synapseRefused(error)
        } catch let error as AccountError {
            throw error
        } catch {
            throw .storage(error)
        }
        let now = clock.now()
        let user = User(id: ULID.make(at: now, random: random), username: localpart, createdAt: now, isAdmin: admin)
        var passwordRecord: PasswordRecord?
        if let password {
            passwordRecord = try await hashPassword(password, userId: user.id)
        }
        let stored: User
        do {
            stored = try await store.users.create(user, password: passwordRecord)
        } catch let error as StorageError where error.isConflict {
            throw .userExists(localpart)
        } catch {
            throw .storage(error)
        }
        let outcome = try await perform(.provisionUser(.init(
            localpart: localpart, locked: false, displayname: displayName, emails: emails.isEmpty ? nil : emails)))
        return (stored, outcome)
    }

    /// Replaces a user's password.
    /// - Parameters:
    ///   - username: the user, named as for every `manage` command.
    ///   - password: the new password.
    public func setPassword(username: String, password: String) async throws(AccountError) {
        try await setPassword(of: try await requireUser(username), password: password)
    }

    /// Replaces a user's password (the admin API addresses users by id).
    /// - Parameters:
    ///   - id: the user's ULID.
    ///   - password: the new password.
    public func setPassword(id: String, password: String) async throws(AccountError) {
        try await setPassword(of: try await requireUser(id: id), password: password)
    }

    private func setPassword(of user: User, password: String) async throws(AccountError) {
        let record = try await hashPassword(password, userId: user.id)
        do {
            try await store.users.addPassword(record)
        } catch {
            throw .storage(error)
        }
    }

    /// Locks a user: Synapse marks the account locked and every session ends (compat, OAuth 2.0 and
    /// the browser sessions of the HTML pages), devices included.
    ///
    /// Stricter than MAS, which keeps sessions across a lock: Synapse caches each introspection
    /// answer for two minutes, so a locked user's tokens would keep working that long. Deleting the
    /// devices makes Synapse ask again on the very next request, and the answer is "inactive".
    /// - Returns: the sessions ended and what happened in Synapse.
    public func lockUser(username: String) async throws(AccountError) -> ([SessionSummary], SynapseOutcome) {
        try await lock(try await requireUser(username))
    }

    /// Locks a user addressed by id, as ``lockUser(username:)`` does.
    /// - Parameter id: the user's ULID.
    public func lockUser(id: String) async throws(AccountError) -> ([SessionSummary], SynapseOutcome) {
        try await lock(try await requireUser(id: id))
    }

    private func lock(_ user: User) async throws(AccountError) -> ([SessionSummary], SynapseOutcome) {
        let now = clock.now()
        var finished: [SessionSummary] = []
        try await storing {
            try await store.users.setLocked(userId: user.id, at: now)
            finished = try await finishAllSessions(of: user, at: now)
        }
        onRevocation()
        let locked = try await perform(.provisionUser(.init(localpart: user.username, locked: true)))
        let devices = try await perform(.syncDevices(.init(localpart: user.username, devices: [])))
        return (finished, locked == .done ? devices : locked)
    }

    /// Unlocks a user.
    public func unlockUser(username: String) async throws(AccountError) -> SynapseOutcome {
        try await unlock(try await requireUser(username))
    }

    /// Unlocks a user addressed by id.
    /// - Parameter id: the user's ULID.
    public func unlockUser(id: String) async throws(AccountError) -> SynapseOutcome {
        try await unlock(try await requireUser(id: id))
    }

    private func unlock(_ user: User) async throws(AccountError) -> SynapseOutcome {
        try await storing { try await store.users.setLocked(userId: user.id, at: nil) }
        return try await perform(.provisionUser(.init(localpart: user.username, locked: false)))
    }

    /// Deactivates a user: sessions end, tokens die, and Synapse deactivates the account (and erases
    /// it, with `erase`).
    public func deactivateUser(username: String, erase: Bool) async throws(AccountError) -> SynapseOutcome {
        try await deactivate(try await requireUser(username), erase: erase)
    }

    /// Deactivates a user addressed by id, as ``deactivateUser(username:erase:)`` does.
    /// - Parameters:
    ///   - id: the user's ULID.
    ///   - erase: also erase the account in Synapse.
    public func deactivateUser(id: String, erase: Bool) async throws(AccountError) -> SynapseOutcome {
        try await deactivate(try await requireUser(id: id), erase: erase)
    }

    private func deactivate(_ user: User, erase: Bool) async throws(AccountError) -> SynapseOutcome {
        let now = clock.now()
        try await storing {
            _ = try await finishAllSessions(of: user, at: now)
            try await store.users.setDeactivated(userId: user.id, at: now)
        }
        onRevocation()
        return try await perform(.deleteUser(.init(localpart: user.username, erase: erase)))
    }

    /// Reactivates a deactivated user (it needs a new password or token to log in again).
    public func reactivateUser(username: String) async throws(AccountError) -> SynapseOutcome {
        try await reactivate(try await requireUser(username))
    }

    /// Reactivates a user addressed by id.
    /// - Parameter id: the user's ULID.
    public func reactivateUser(id: String) async throws(AccountError) -> SynapseOutcome {
        try await reactivate(try await requireUser(id: id))
    }

    private func reactivate(_ user: User) async throws(AccountError) -> SynapseOutcome {
        try await storing { try await store.users.setDeactivated(userId: user.id, at: nil) }
        return try await perform(.reactivateUser(.init(localpart: user.username)))
    }

    /// All users.
    public func listUsers() async throws(AccountError) -> [User] {
        do {
            return try await store.users.list()
        } catch {
            throw .storage(error)
        }
    }

    /// Ends every session of a user (compat, OAuth 2.0 and browser sessions) and removes their
    /// devices from Synapse.
    /// - Returns: the sessions ended (browser sessions, which own no device, are not listed), and what
    ///   happened in Synapse.
    public func killSessions(username: String) async throws(AccountError) -> ([SessionSummary], SynapseOutcome) {
        let user = try await requireUser(username)
        return try await endSessions(of: user) { now in try await finishAllSessions(of: user, at: now) }
    }

    /// Finishes every unfinished session of the user: compat, OAuth 2.0, and the browser sessions (so
    /// the HTML pages cannot start new grants with an old cookie).
    private func finishAllSessions(of user: User, at now: Date) async throws -> [SessionSummary] {
        let compat = try await store.compatSessions.finishAll(userId: user.id, at: now).map(SessionSummary.init)
        let oauth2 = try await store.oauth2Sessions.finishAll(userId: user.id, at: now).map(SessionSummary.init)
        try await store.browserSessions.finishAll(userId: user.id, at: now)
        return Self.ordered(compat + oauth2)
    }

    /// Oldest first, as the store lists each kind.
    static func ordered(_ sessions: [SessionSummary]) -> [SessionSummary] {
        sessions.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    // MARK: Sessions

    /// Every session of a user, compat and OAuth 2.0, finished or not, oldest first.
    /// - Parameter username: the user, named as for every `manage` command.
    public func listSessions(username: String) async throws(AccountError) -> [SessionSummary] {
        let user = try await requireUser(username)
        do {
            let compat = try await store.compatSessions.sessions(userId: user.id).map(SessionSummary.init)
            let oauth2 = try await store.oauth2Sessions.sessions(userId: user.id).map(SessionSummary.init)
            return Self.ordered(compat + oauth2)
        } catch {
            throw .storage(error)
        }
    }

    /// Ends one compat or OAuth 2.0 session for `gatehouse manage end-session`, through
    /// ``endSession(id:kinds:requestedBy:)`` as an administrator: its tokens die at once and its
    /// device is deleted in Synapse before this returns (or the deletion is queued).
    /// - Parameter sessionId: the id `list-sessions` shows.
    /// - Returns: the session as it is now (finished), and what happened in Synapse.
    /// - Throws: ``AccountError/isSessionNotFound`` for an unknown id, ``AccountError/isSessionFinished``
    ///   for a session already ended.
    public func endSession(id sessionId: String) async throws(AccountError) -> (SessionSummary, SynapseOutcome) {
        let (ended, outcome) = try await endSession(id: sessionId, kinds: [.compat, .oauth2], requestedBy: .administrator)
        switch ended {
        case .compat(let session): return (SessionSummary(session), outcome)
        case .oauth2(let session): return (SessionSummary(session), outcome)
        case .browser: throw .sessionNotFound(sessionId)  // not asked for: never reached
        }
    }

    /// The one way sessions end from here: `finish` ends them in the store (revoking their tokens and
    /// moving the store revision), this process's caches are told, then Synapse's device list is made
    /// the devices of the sessions that remain (`sync_devices`, queued when Synapse is unreachable).
    func endSessions(
        of user: User, _ finish: (Date) async throws -> [SessionSummary]
    ) async throws(AccountError) -> ([SessionSummary], SynapseOutcome) {
        let (finished, remaining) = try await finishSessions(of: user, finish)
        let outcome = try await perform(.syncDevices(.init(localpart: user.username, devices: remaining)))
        return (finished, outcome)
    }

    /// The store half of ending sessions, shared by every way they end: `finish` ends them (revoking
    /// their tokens), this process's caches are told.
    /// - Returns: the sessions ended, and the devices the user's remaining sessions still use.
    func finishSessions(
        of user: User, _ finish: (Date) async throws -> [SessionSummary]
    ) async throws(AccountError) -> (finished: [SessionSummary], remainingDevices: [String]) {
        let finished: [SessionSummary]
        do {
            finished = try await finish(clock.now())
        } catch {
            throw .storage(error)
        }
        onRevocation()
        return (finished, try await activeDevices(userId: user.id))
    }

    // MARK: Compatibility sessions

    /// A compat access token for a user, as `mas-cli manage issue-compatibility-token` makes it: the
    /// Synapse device is created first (and the call fails if it cannot be), an existing session on
    /// the same device is replaced.
    /// - Parameters:
    ///   - username: the user.
    ///   - deviceId: the device, or `nil` for a new random one.
    ///   - synapseAdmin: grant `urn:synapse:admin:*`.
    /// - Returns: the token (shown once; only its hash is stored) and the device id.
    public func issueCompatibilityToken(
        username: String, deviceId: String?, synapseAdmin: Bool
    ) async throws(AccountError) -> (token: String, deviceId: String) {
        let user = try await requireUser(username)
        if user.deactivatedAt != nil { throw .userInactive(user.username, "deactivated") }
        if user.lockedAt != nil { throw .userInactive(user.username, "locked") }
        if let deviceId, let problem = DeviceId.validate(deviceId) { throw .invalidDeviceId(deviceId, problem.description) }
        let device = deviceId ?? DeviceId.generate(random: random)
        let token = try await devices.withLock(localpart: user.username, deviceId: device) { () async throws(AccountError) -> String in
            try await startCompatSession(user: user, device: device, synapseAdmin: synapseAdmin)
        }
        onRevocation()
        return (token, device)
    }

    /// The device, then the session; under the ``DeviceGuard`` lock of the device.
    private func startCompatSession(user: User, device: String, synapseAdmin: Bool) async throws(AccountError) -> String {
        do {
            _ = try await synapse.upsertDevice(localpart: user.username, deviceId: device, displayName: nil)
        } catch {
            if error.isRetryable {
                // Synapse may have created the device without answering: the running server removes it
                // unless a session uses it by then.
                _ = try? await queue.enqueue(.removeOrphanDevice(.init(localpart: user.username, deviceId: device)), clock: clock, random: random)
                throw .synapseUnreachable(error)
            }
            throw .synapseRefused(error)
        }
        let now = clock.now()
        let session = CompatSession(
            id: ULID.make(at: now, random: random), userId: user.id, deviceId: device, isSynapseAdmin: synapseAdmin, createdAt: now)
        let (token, accessToken) = CompatTokens.access(session: session.id, now: now, expiresAt: nil, random: random)
        try await storing {
            if let previous = try await store.compatSessions.activeSession(userId: user.id, deviceId: device) {
                try await store.compatSessions.finish(sessionId: previous.id, at: now)
            }
            if let previous = try await store.oauth2Sessions.activeSession(userId: user.id, deviceId: device) {
                _ = try await store.oauth2Sessions.finish(sessionId: previous.id, at: now)
            }
            try await store.compatSessions.create(session: session, accessToken: accessToken, refreshToken: nil)
        }
        return token
    }

    /// A single-use `m.login.token` for a user (the `loginToken` a client exchanges at `POST /login`),
    /// valid for `validity` from now.
    /// - Parameters:
    ///   - username: the user.
    ///   - validity: how long it can be used (MAS: 30 s).
    public func issueLoginToken(username: String, validity: TimeInterval = 30) async throws(AccountError) -> String {
        let user = try await requireUser(username)
        if user.deactivatedAt != nil { throw .userInactive(user.username, "deactivated") }
        if user.lockedAt != nil { throw .userInactive(user.username, "locked") }
        let now = clock.now()
        let token = random.string(length: 32, alphabet: Alphabet.base62)
        try await storing {
            try await store.compatSessions.createLoginToken(CompatLoginToken(
                id: ULID.make(at: now, random: random), userId: user.id, tokenHash: TokenHasher.sha256Hex(token), createdAt: now,
                expiresAt: now.addingTimeInterval(validity)))
        }
        return token
    }

    // MARK: Helpers

    /// How long ``perform(_:)`` waits for an attempt another process is making (a running server's
    /// worker sees the queue move at once and may claim the job first); Synapse's own deadline is shorter.
    static let attemptElsewhereWait: Duration = .seconds(15)

    /// Queues `job` and attempts it at once. When another process (a running server's worker) claimed
    /// it first, waits for that attempt rather than answering "queued" while Synapse is being told: a
    /// `gatehouse manage register-user` followed at once by a login must find the user in Synapse.
    func perform(_ job: HomeserverJob) async throws(AccountError) -> SynapseOutcome {
        let queued: Job
        do {
            queued = try await queue.enqueue(job, clock: clock, random: random)
        } catch {
            throw .storage(error)
        }
        _ = await runner.runPending(now: clock.now())
        let poll: Duration = .milliseconds(50)
        var waited: Duration = .zero
        while true {
            let still: Job?
            do {
                still = try await store.jobs.pending().first(where: { $0.id == queued.id })
            } catch {
                throw .storage(error)
            }
            guard let still else { return .done }
            // Claimed (an attempt is counted at the claim) and not failed yet: an attempt is in flight elsewhere.
            let inFlightElsewhere = still.attempts > 0 && still.lastError == nil
            guard inFlightElsewhere, waited < Self.attemptElsewhereWait else {
                return .queued(jobId: still.id, reason: still.lastError ?? "Synapse was not reached")
            }
            try? await Task.sleep(for: poll)
            waited += poll
        }
    }

    func activeDevices(userId: String) async throws(AccountError) -> [String] {
        do {
            return try await store.activeDeviceIds(userId: userId)
        } catch {
            throw .storage(error)
        }
    }

    func hashPassword(_ password: String, userId: String) async throws(AccountError) -> PasswordRecord {
        guard hasher.isEnabled else { throw .passwordsDisabled }
        do {
            let (version, hash) = try await hasher.hash(password)
            let now = clock.now()
            return PasswordRecord(id: ULID.make(at: now, random: random), userId: userId, version: version, hash: hash, createdAt: now)
        } catch {
            throw .storage(error)
        }
    }

    private func validLocalpart(_ username: String) throws(AccountError) -> String {
        guard let localpart = Localpart.from(username, serverName: serverName) else {
            throw .invalidUsername(username, "it belongs to another server than \(serverName)")
        }
        // Registration is strict (no case folding): a new name is stored exactly as given.
        if let problem = Localpart.validate(localpart, serverName: serverName) {
            throw .invalidUsername(username, problem.description)
        }
        return localpart
    }

    /// The user with this localpart, or one whose localpart differs only in ASCII case (as a login
    /// finds it: users imported from Synapse may have capitals).
    private func findUser(_ localpart: String) async throws(AccountError) -> User? {
        do {
            return try await store.users.find(usernameIgnoringCase: localpart)
        } catch {
            throw .storage(error)
        }
    }

    /// The user an admin named, found as a login finds it: `ALICE`, `alice` and `@alice:server` name
    /// `alice`, and a user imported from Synapse as `Bob` is found by `Bob` and `bob` alike. A name no
    /// account can have is refused with the reason rather than looked up.
    func requireUser(_ username: String) async throws(AccountError) -> User {
        if case .failure(let problem) = Localpart.canonical(username, serverName: serverName) {
            throw .invalidUsername(username, problem.description)
        }
        guard let typed = Localpart.from(username, serverName: serverName), let user = try await findUser(typed) else {
            throw .userNotFound(username)
        }
        return user
    }

    func storing(_ body: () async throws -> Void) async throws(AccountError) {
        do {
            try await body()
        } catch {
            throw .storage(error)
        }
    }
}
