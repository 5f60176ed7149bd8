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

/// The OAuth 2.0 token endpoint as a domain service (RFC 6749 §4–§6, RFC 7636, RFC 8628 §3.4–§3.5),
/// plus revocation (RFC 7009) and userinfo: decoded requests in, results or ``OAuth2TokenError`` out.
///
/// Behaviour follows MAS's handlers, with these deliberate differences, all stricter:
/// - a replayed authorization code always ends the session its first exchange created (MAS waits
///   20 s), and the session's Synapse device is deleted before the answer;
/// - a `redirect_uri` sent with a code must equal the authorization request's (MAS ignores it);
/// - a refresh token presented again ends its session unless it is the one lost-response retry
///   MAS also allows (successor unused, its access token never introspected);
/// - `slow_down` is enforced on device code polls (RFC 8628 §3.5; MAS has none);
/// - the Synapse device is created under the ``DeviceGuard`` lock before anything is stored, and a
///   Synapse failure releases the code or device grant so the client's retry can succeed.
public struct OAuth2TokenService: Sendable {
    /// Lifetimes and intervals.
    public struct Configuration: Sendable {
        /// Access tokens (`experimental.access_token_ttl`, MAS default 300 s).
        public var accessTokenTTL: Duration
        /// How long after consent a code may be exchanged (MAS: 10 minutes).
        public var authorizationCodeTTL: Duration
        /// The minimum time between two device code polls (RFC 8628 §3.2 `interval`).
        public var deviceCodePollInterval: Duration
        /// Clients that may obtain `urn:mas:admin` with `client_credentials` (`admin_api.clients`).
        public var adminClients: Set<String>

        public init(
            accessTokenTTL: Duration = .seconds(300), authorizationCodeTTL: Duration = .seconds(600),
            deviceCodePollInterval: Duration = DeviceAuthorizationService.Configuration.defaultInterval, adminClients: Set<String> = []
        ) {
            self.accessTokenTTL = accessTokenTTL
            self.authorizationCodeTTL = authorizationCodeTTL
            self.deviceCodePollInterval = deviceCodePollInterval
            self.adminClients = adminClients
        }
    }

    /// A successful token response (RFC 6749 §5.1; OpenID Connect Core §3.1.3.3).
    public struct TokenResponse: Sendable, Equatable {
        public var accessToken: String
        /// Seconds until the access token expires.
        public var expiresIn: Int
        public var refreshToken: String?
        /// The granted scope, when not empty.
        public var scope: String?
        public var idToken: String?
    }

    /// What userinfo reveals (MAS: `sub` and `username`).
    public struct UserInfo: Sendable, Equatable {
        /// The user's ULID.
        public var subject: String
        /// The localpart.
        public var username: String

        public init(subject: String, username: String) {
            self.subject = subject
            self.username = username
        }
    }

    let store: any IdentityStore
    let synapse: SynapseClient
    let queue: JobQueue
    let authenticator: ClientAuthenticator
    let signer: IDTokenSigner?
    let idTokenAlgorithm: SigningAlgorithm?
    let configuration: Configuration
    let devices: DeviceGuard
    let clock: any WallClock
    let random: any RandomSource
    let onRevocation: @Sendable () -> Void
    let logger: Logger

    /// - Parameters:
    ///   - store: the identity store.
    ///   - synapse: the client for `/_synapse/mas/*`.
    ///   - queue: where device clean-up goes when Synapse cannot be reached.
    ///   - signer: signs id_tokens; `nil` when `secrets.keys` is empty (then `openid` cannot be served).
    ///   - idTokenAlgorithm: the id_token algorithm of clients that registered none (`nil`: the
    ///     signer's ``IDTokenSigner/defaultAlgorithm``, RS256 when an RSA key is configured).
    ///   - configuration: lifetimes.
    ///   - devices: the device lock shared with the job runner (`nil`: a guard of its own).
    ///   - clock: the wall clock.
    ///   - random: tokens and identifiers.
    ///   - onRevocation: called after anything that kills tokens, so caches forget them at once.
    ///   - logger: failures worth an admin's attention (never tokens or secrets).
    public init(
        store: any IdentityStore, synapse: SynapseClient, queue: JobQueue, signer: IDTokenSigner?, idTokenAlgorithm: SigningAlgorithm? = nil,
        configuration: Configuration = Configuration(), devices: DeviceGuard? = nil, clock: any WallClock = SystemClock(),
        random: any RandomSource = SystemRandom(), onRevocation: @escaping @Sendable () -> Void = {},
        logger: Logger = Logger(label: "gatehouse.oauth2")
    ) {
        self.store = store
        self.synapse = synapse
        self.queue = queue
        self.authenticator = ClientAuthenticator(clients: store.clients)
        self.signer = signer
        self.idTokenAlgorithm = idTokenAlgorithm ?? signer?.defaultAlgorithm
        self.configuration = configuration
        self.devices = devices ?? DeviceGuard(store: store)
        self.clock = clock
        self.random = random
        self.onRevocation = onRevocation
        self.logger = logger
    }

    var terminator: OAuth2SessionTerminator {
        OAuth2SessionTerminator(
            store: store, synapse: synapse, queue: queue, clock: clock, random: random, onRevocation: onRevocation, logger: logger)
    }

    // MARK: Token endpoint

    /// `POST /oauth2/token`: authenticates the client, checks that it may use the grant type, and runs
    /// the grant.
    /// - Parameters:
    ///   - credentials: the client's credentials (``ClientCredentials/parse(authorization:form:)``).
    ///   - form: the request's parameters.
    public func token(credentials: ClientCredentials, form: OAuth2Form) async throws(OAuth2TokenError) -> TokenResponse {
        let client = try await authenticator.authenticate(credentials)
        let grantType = try form.required("grant_type")
        let known = [GrantType.authorizationCode, GrantType.refreshToken, GrantType.deviceCode, GrantType.clientCredentials]
        guard known.contains(grantType) else { throw OAuth2TokenError(.unsupportedGrantType, "The grant type is not supported") }
        guard client.metadata.grantTypes.contains(grantType) else {
            throw .unauthorizedClient("The client is not allowed to use the \(grantType) grant type")
        }
        switch grantType {
        case GrantType.authorizationCode:
            return try await exchangeCode(
                client: client, code: try form.required("code"), redirectURI: try form.optional("redirect_uri"),
                verifier: try form.optional("code_verifier"))
        case GrantType.refreshToken:
            return try await refresh(client: client, refreshToken: try form.required("refresh_token"))
        case GrantType.deviceCode:
            return try await exchangeDeviceCode(client: client, deviceCode: try form.required("device_code"))
        default:
            return try await clientCredentials(client: client, scope: try form.optional("scope"))
        }
    }

    // MARK: Shared by the grants

    /// Everything an interactive grant hands to ``startSession(_:release:)``.
    struct SessionStart {
        var user: User
        var client: OAuth2Client
        var scope: String
        var deviceId: String?
        var browserSessionId: String?
        /// The authorization or device code grant the session is recorded on.
        var grantId: String
        var issuesRefreshToken: Bool
        var nonce: String?
        var authTime: Date?
        /// The authorization code, for the id_token's `c_hash`.
        var code: String?
    }

    /// Issues the tokens of a new session: id_token first (nothing external has happened yet), then
    /// the Synapse device under the ``DeviceGuard`` lock, then the session in the store, replacing
    /// any live session on the same device.
    ///
    /// - Parameters:
    ///   - start: what the grant decided.
    ///   - release: makes the grant usable again; called when the failure left nothing behind (id_token
    ///     signing, Synapse, the store), never after a replay.
    func startSession(_ start: SessionStart, release: @Sendable () async -> Void) async throws(OAuth2TokenError) -> TokenResponse {
        let now = clock.now()
        let sessionId = ULID.make(at: now, random: random)
        let (accessToken, accessRow) = OAuth2Tokens.access(
            session: sessionId, now: now, expiresAt: now.addingTimeInterval(Self.seconds(configuration.accessTokenTTL)), random: random)
        let refresh = start.issuesRefreshToken
            ? OAuth2Tokens.refresh(session: sessionId, accessTokenId: accessRow.id, now: now, random: random) : nil
        var idToken: String?
        if OAuth2Scope.tokens(start.scope).contains("openid") {
            // The client's `id_token_signed_response_alg`, checked against the keys when it was registered.
            guard let signer, let algorithm = start.client.metadata.idTokenSignedResponseAlg ?? idTokenAlgorithm else {
                logger.error("token: `openid` was granted but no signing key is configured (secrets.keys)")
                await release()
                throw .internalError
            }
            do {
                idToken = try await signer.sign(
                    subject: start.user.id, audience: start.client.id, nonce: start.nonce, authTime: start.authTime, accessToken: accessToken,
                    code: start.code, algorithm: algorithm)
            } catch {
                logger.error("token: could not sign the id_token", metadata: ["error": "\(error)"])
                await release()
                throw .internalError
            }
        }
        let session = OAuth2Session(
            id: sessionId, clientId: start.client.id, userId: start.user.id, scope: start.scope, deviceId: start.deviceId,
            browserSessionId: start.browserSessionId, createdAt: now)
        if let deviceId = start.deviceId {
            try await devices.withLock(localpart: start.user.username, deviceId: deviceId) { () async throws(OAuth2TokenError) in
                try await createDevice(deviceId, for: start, release: release)
                try await store(session, accessRow, refresh?.1, start: start, release: release)
            }
        } else {
            try await store(session, accessRow, refresh?.1, start: start, release: release)
        }
        let scope = start.scope.isEmpty ? nil : start.scope
        return TokenResponse(
            accessToken: accessToken, expiresIn: Self.wholeSeconds(configuration.accessTokenTTL), refreshToken: refresh?.0, scope: scope,
            idToken: idToken)
    }

    /// Creates (or updates) the Synapse device; fails closed.
    private func createDevice(_ deviceId: String, for start: SessionStart, release: @Sendable () async -> Void) async throws(OAuth2TokenError) {
        let displayName = start.client.metadata.clientName.sorted { $0.key < $1.key }.first?.value
        do {
            _ = try await synapse.upsertDevice(localpart: start.user.username, deviceId: deviceId, displayName: displayName)
        } catch {
            await release()
            if error.isRetryable {
                logger.warning(
                    "token: Synapse is unavailable; the device it may have created is queued for removal",
                    metadata: ["user": "\(start.user.username)", "error": "\(error)"])
                await queueOrphanRemoval(localpart: start.user.username, deviceId: deviceId)
                throw .unavailable
            }
            logger.error("token: Synapse could not create the device", metadata: ["user": "\(start.user.username)", "error": "\(error)"])
            throw .internalError
        }
    }

    /// Stores the session; live sessions on the same device (compat or OAuth 2.0) are replaced, as a
    /// login with an existing device id replaces it.
    private func store(
        _ session: OAuth2Session, _ accessRow: OAuth2AccessToken, _ refreshRow: OAuth2RefreshToken?, start: SessionStart,
        release: @Sendable () async -> Void
    ) async throws(OAuth2TokenError) {
        var replaced = false
        do {
            if let deviceId = session.deviceId {
                if let previous = try await store.compatSessions.activeSession(userId: start.user.id, deviceId: deviceId) {
                    try await store.compatSessions.finish(sessionId: previous.id, at: session.createdAt)
                    replaced = true
                }
                if let previous = try await store.oauth2Sessions.activeSession(userId: start.user.id, deviceId: deviceId) {
                    replaced = try await store.oauth2Sessions.finish(sessionId: previous.id, at: session.createdAt) || replaced
                }
            }
            try await store.oauth2Sessions.create(session: session, accessToken: accessRow, refreshToken: refreshRow, grantId: start.grantId)
        } catch let error as StorageError where error.isConflict {
            // The code was replayed while Synapse was asked (the replay marked the grant): nothing is
            // issued, and the device goes unless another session uses it.
            if replaced { onRevocation() }
            logger.warning(
                "token: the grant was used again during its exchange; no session was created", metadata: ["user": "\(start.user.username)"])
            if let deviceId = session.deviceId { await queueOrphanRemoval(localpart: start.user.username, deviceId: deviceId) }
            throw .invalidGrant("The grant was already used")
        } catch {
            if replaced { onRevocation() }
            logger.error("token: store failed after the device was created", metadata: ["error": "\(error)"])
            if let deviceId = session.deviceId { await queueOrphanRemoval(localpart: start.user.username, deviceId: deviceId) }
            await release()
            throw .unavailable
        }
        if replaced { onRevocation() }
    }

    /// Queues the removal of a device a failed exchange may have left in Synapse (kept if a session
    /// uses it by the time the job runs).
    func queueOrphanRemoval(localpart: String, deviceId: String) async {
        do {
            try await queue.enqueue(.removeOrphanDevice(.init(localpart: localpart, deviceId: deviceId)), clock: clock, random: random)
        } catch {
            logger.error(
                "token: could not queue the removal of a device Synapse may have created",
                metadata: ["user": "\(localpart)", "device": "\(deviceId)", "error": "\(error)"])
        }
    }

    /// Checks a stored grant's scope again against the scope policy (``AuthorizationScope``), now for
    /// the user it is issued to (a second check after consent: the user may have lost admin rights).
    /// - Returns: the grant's device, if it has one.
    /// - Throws: `invalid_scope` when the policy refuses the scope or the user may not have it.
    func grantedDevice(scope: String, user: User) throws(OAuth2TokenError) -> String? {
        let checked = try AuthorizationScope.check(scope, for: .interactive).orInvalidScope()
        guard checked.allows(administrator: user.isAdmin) else {
            throw .invalidScope("\(MatrixScope.synapseAdmin) is only for administrators")
        }
        return checked.deviceId
    }

    static func wholeSeconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds)
    }

    static func seconds(_ duration: Duration) -> TimeInterval {
        let (seconds, attoseconds) = duration.components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
