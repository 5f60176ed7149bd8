import CoreMetrics
import GatehouseAuth
import GatehouseCore
import GatehouseHomeserver
import GatehouseIdentity
import GatehouseStorage

/// Builds the `oauth2` local service and the background work it needs (the cache refresher).
public struct OAuth2Service: Sendable {
    /// What the token, revocation, userinfo and device authorization endpoints need besides the
    /// store: they create and delete Synapse devices, and sign id_tokens.
    public struct TokenIssuing: Sendable {
        /// The client for `/_synapse/mas/*`.
        public var synapse: SynapseClient
        /// Where device clean-up goes when Synapse cannot be reached.
        public var queue: JobQueue
        /// The device lock shared with the job runner and the compat logins.
        public var devices: DeviceGuard
        /// Signs id_tokens; `nil` without `secrets.keys`.
        public var signer: IDTokenSigner?

        /// - Parameters:
        ///   - synapse: the Synapse client.
        ///   - queue: the job queue (with its runner).
        ///   - devices: the shared device lock.
        ///   - signer: the id_token signer, if keys are configured.
        public init(synapse: SynapseClient, queue: JobQueue, devices: DeviceGuard, signer: IDTokenSigner?) {
            self.synapse = synapse
            self.queue = queue
            self.devices = devices
            self.signer = signer
        }
    }

    /// The responder to register for ``LocalServiceName/oauth2``.
    public let responder: any LocalResponder
    /// Call after an in-process revocation (logout, lock, ...) so cached results are dropped at once.
    public let invalidateCaches: @Sendable () -> Void
    /// The proxy's check of Gatehouse tokens (see ``EdgeTokenCheck``); pass it to ``GatewayRuntime``.
    let edgeTokenCheck: EdgeTokenCheck

    /// - Parameters:
    ///   - configuration: the validated configuration (issuer, shared secret, signing keys, lifetimes).
    ///   - store: the identity store.
    ///   - tokenIssuing: what the token endpoints need; `nil` leaves them out (and out of discovery).
    ///   - clock: the wall clock.
    ///   - random: randomness for generated identifiers, codes and tokens.
    ///   - activity: where the edge check and introspection record session use (`nil`: not recorded).
    ///   - metrics: where the introspection cache and token grant counters are made; `nil` records nothing.
    public init(
        configuration: GatehouseConfiguration, store: any IdentityStore, tokenIssuing: TokenIssuing? = nil,
        clock: any WallClock = SystemClock(), random: any RandomSource = SystemRandom(), activity: SessionActivityRecorder? = nil,
        metrics: (any MetricsFactory)? = nil
    ) {
        let cache = IntrospectionCache()
        let invalidate: @Sendable () -> Void = { cache.invalidateAll() }
        let validator = TokenValidator(store: store, cache: cache, clock: clock, activity: activity, metrics: metrics)
        let keys = configuration.secrets?.keys ?? []
        let tokens = tokenIssuing.map { issuing in
            OAuth2TokenService(
                store: store, synapse: issuing.synapse, queue: issuing.queue, signer: issuing.signer,
                configuration: .init(
                    accessTokenTTL: configuration.experimental.accessTokenTTL, adminClients: Set(configuration.adminAPI.clients)),
                devices: issuing.devices, clock: clock,
                random: random, onRevocation: invalidate)
        }
        let publicBase = configuration.http.publicBase
        responder = OAuth2Responder(
            discovery: DiscoveryEndpoint(
                publicBase: publicBase,
                capabilities: .thisBuild(
                    signingAlgorithms: configuration.secrets?.algorithms ?? [], issuesTokens: tokens != nil,
                    passwordRegistration: configuration.account.passwordRegistrationEnabled)),
            webfinger: WebFingerEndpoint(issuer: publicBase),
            keys: KeysEndpoint(keys: keys),
            introspection: IntrospectionEndpoint(sharedSecret: configuration.matrix.secret, validator: validator),
            registration: RegistrationEndpoint(
                service: ClientRegistrationService(
                    repository: store.clients, clock: clock, random: random, signingAlgorithms: configuration.secrets?.algorithms ?? []),
                limiter: RateLimiter(configuration.rateLimiting.clientRegistration, clock: clock),
                trustedProxies: configuration.http.trustedProxies),
            token: tokens.map { TokenEndpoint(service: $0, metrics: LoginMetrics(factory: metrics)) },
            revocation: tokens.map(RevocationEndpoint.init),
            userinfo: tokens.map(UserInfoEndpoint.init),
            deviceAuthorization: tokens.map { _ in
                DeviceAuthorizationEndpoint(
                    service: DeviceAuthorizationService(store: store, clock: clock, random: random), publicBase: publicBase,
                    limiter: RateLimiter(configuration.rateLimiting.deviceAuthorization, clock: clock),
                    trustedProxies: configuration.http.trustedProxies)
            })
        edgeTokenCheck = EdgeTokenCheck(validator: validator, serverName: configuration.matrix.homeserver)
        invalidateCaches = invalidate
    }
}
