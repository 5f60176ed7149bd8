/// `rate_limiting`: in-memory, per-process limits (MAS's section of the same name: `login`, plus
/// Gatehouse's `client_registration`). Each limiter is a ``RateLimitConfiguration``; anything not
/// written keeps its default.
public struct RateLimitingConfiguration: Sendable, Equatable {
    /// `rate_limiting.login`: password checks (login, and password confirmation when it exists).
    public var login: LoginRateLimitingConfiguration
    /// `rate_limiting.client_registration`: dynamic client registrations per client address. MAS has
    /// no such limit; registration is open and unauthenticated and every new client is a row in the
    /// store, so one address may not fill it.
    public var clientRegistration: RateLimitConfiguration
    /// `rate_limiting.device_authorization`: RFC 8628 device authorizations (`POST /oauth2/device`)
    /// per client address. Not in MAS: each request stores a pending grant with a user code, so one
    /// address may neither fill the store nor use up the user-code space.
    public var deviceAuthorization: RateLimitConfiguration
    /// `rate_limiting.registration` (MAS's name and default): account registrations on the
    /// registration page per client address.
    public var registration: RateLimitConfiguration

    /// 10 registrations per address at once, then 10 per hour (identical registrations count too).
    public static let defaultClientRegistration = RateLimitConfiguration(burst: 10, perSecond: 10.0 / 3600.0)
    /// 10 device authorizations per address at once, then one per minute.
    public static let defaultDeviceAuthorization = RateLimitConfiguration(burst: 10, perSecond: 1.0 / 60.0)
    /// MAS's default: 3 registrations per address at once, then 3 per hour.
    public static let defaultRegistration = RateLimitConfiguration(burst: 3, perSecond: 3.0 / 3600.0)

    /// MAS's defaults (see ``LoginRateLimitingConfiguration/default``) and ``defaultClientRegistration``.
    public static let `default` = RateLimitingConfiguration(login: .default)

    /// - Parameters:
    ///   - login: the limits applied to password checks.
    ///   - clientRegistration: the limit on dynamic client registrations per address.
    ///   - deviceAuthorization: the limit on device authorizations per address.
    ///   - registration: the limit on account registrations per address.
    public init(
        login: LoginRateLimitingConfiguration, clientRegistration: RateLimitConfiguration = defaultClientRegistration,
        deviceAuthorization: RateLimitConfiguration = defaultDeviceAuthorization, registration: RateLimitConfiguration = defaultRegistration
    ) {
        self.login = login
        self.clientRegistration = clientRegistration
        self.deviceAuthorization = deviceAuthorization
        self.registration = registration
    }
}

/// `rate_limiting.login`: MAS checks the client address first, then the account, on every
/// password attempt for an existing user (successful or not).
public struct LoginRateLimitingConfiguration: Sendable, Equatable {
    /// `per_ip`: attempts per client address (see ``ClientAddress``); slows brute force from one host.
    public var perIP: RateLimitConfiguration
    /// `per_account`: attempts per account; slows distributed brute force against one user while
    /// staying high enough that nobody is casually locked out.
    public var perAccount: RateLimitConfiguration

    /// MAS's defaults: per IP 3 at once then 3 per minute; per account 1800 at once then 1800 per hour.
    public static let `default` = LoginRateLimitingConfiguration(
        perIP: RateLimitConfiguration(burst: 3, perSecond: 3.0 / 60.0),
        perAccount: RateLimitConfiguration(burst: 1800, perSecond: 1800.0 / 3600.0))

    /// - Parameters:
    ///   - perIP: the limit per client address.
    ///   - perAccount: the limit per account.
    public init(perIP: RateLimitConfiguration, perAccount: RateLimitConfiguration) {
        self.perIP = perIP
        self.perAccount = perAccount
    }
}
