import GatehouseCore
import GatehouseIdentity
import GatehouseStorage

/// Builds the `oauth2` local service and the background work it needs (the cache refresher).
public struct OAuth2Service: Sendable {
    /// The responder to register for ``LocalServiceName/oauth2``.
    public let responder: any LocalResponder
    /// Call after an in-process revocation (logout, lock, ...) so cached results are dropped at once.
    public let invalidateCaches: @Sendable () -> Void
    /// The proxy's check of Gatehouse tokens (see ``EdgeTokenCheck``); pass it to ``GatewayRuntime``.
    let edgeTokenCheck: EdgeTokenCheck

    /// - Parameters:
    ///   - configuration: the validated configuration (issuer, shared secret, signing keys).
    ///   - store: the identity store.
    ///   - clock: the wall clock.
    ///   - random: randomness for generated identifiers (client ids).
    public init(
        configuration: GatehouseConfiguration, store: any IdentityStore, clock: any WallClock = SystemClock(),
        random: any RandomSource = SystemRandom()
    ) {
        let cache = IntrospectionCache()
        let validator = TokenValidator(store: store, cache: cache, clock: clock)
        let keys = configuration.secrets?.keys ?? []
        responder = OAuth2Responder(
            discovery: DiscoveryEndpoint(
                publicBase: configuration.http.publicBase,
                capabilities: .thisBuild(
                    signingAlgorithms: configuration.secrets?.algorithms ?? [],
                    passwordRegistration: configuration.account.passwordRegistrationEnabled)),
            webfinger: WebFingerEndpoint(issuer: configuration.http.publicBase),
            keys: KeysEndpoint(keys: keys),
            introspection: IntrospectionEndpoint(sharedSecret: configuration.matrix.secret, validator: validator),
            registration: RegistrationEndpoint(
                service: ClientRegistrationService(repository: store.clients, clock: clock, random: random),
                limiter: RateLimiter(configuration.rateLimiting.clientRegistration, clock: clock),
                trustedProxies: configuration.http.trustedProxies))
        edgeTokenCheck = EdgeTokenCheck(validator: validator)
        invalidateCaches = { cache.invalidateAll() }
    }
}
