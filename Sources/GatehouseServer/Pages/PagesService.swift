import GatehouseCore
import GatehouseIdentity
import GatehouseStorage
import Logging

/// The repositories the HTML pages read and write.
public struct PagesRepositories: Sendable {
    public var users: any UserRepository
    public var clients: any OAuth2ClientRepository
    public var browserSessions: any BrowserSessionRepository
    public var authorizationGrants: any AuthorizationGrantRepository
    public var deviceGrants: any DeviceCodeGrantRepository
    public var compatSSOLogins: any CompatSSOLoginRepository

    public init(
        users: any UserRepository, clients: any OAuth2ClientRepository, browserSessions: any BrowserSessionRepository,
        authorizationGrants: any AuthorizationGrantRepository, deviceGrants: any DeviceCodeGrantRepository,
        compatSSOLogins: any CompatSSOLoginRepository
    ) {
        self.users = users
        self.clients = clients
        self.browserSessions = browserSessions
        self.authorizationGrants = authorizationGrants
        self.deviceGrants = deviceGrants
        self.compatSSOLogins = compatSSOLogins
    }

    /// The repositories of an identity store.
    public init(store: any IdentityStore) {
        self.init(
            users: store.users, clients: store.clients, browserSessions: store.browserSessions, authorizationGrants: store.authorizationGrants,
            deviceGrants: store.deviceGrants, compatSSOLogins: store.compatSSOLogins)
    }
}

/// Builds the `pages` local service (login, consent, registration, device link, legacy SSO, the
/// account page with its MSC4191 deep links, and `GET /authorize`) and the legacy SSO start that the `matrix-compat` service hands over to it.
public struct PagesService: Sendable {
    /// The responder to register for ``LocalServiceName/pages``.
    public let responder: any LocalResponder
    /// `GET /_matrix/client/{version}/login/sso/redirect`, for ``MatrixCompatResponder``; `nil`
    /// when the pages are unavailable (then SSO is not offered).
    public let ssoRedirect: CompatSSORedirectEndpoint?

    /// Why the pages cannot be served with this configuration, for `config check`; `nil` when they can.
    /// - Parameter configuration: the validated configuration.
    public static func unavailableReason(_ configuration: GatehouseConfiguration) -> String? {
        if configuration.secrets == nil {
            return "the HTML pages (sign-in, consent, /authorize, legacy SSO) are unavailable: there is no `secrets` section, "
                + "and `secrets.encryption` seals their session cookie"
        }
        return nil
    }

    /// Checks that the templates of `templates.path` parse, for `config check`.
    /// - Parameter configuration: the validated configuration.
    public static func checkTemplates(_ configuration: GatehouseConfiguration) throws {
        _ = try PageTemplates(overridesFrom: configuration.templates.path)
    }

    /// - Parameters:
    ///   - configuration: the validated configuration.
    ///   - repositories: the store's repositories.
    ///   - passwords: the password check shared with `POST /login`.
    ///   - accounts: registration (Synapse provisioning).
    ///   - clock: the wall clock.
    ///   - random: ids, codes, tokens, cookie nonces.
    ///   - logger: failures worth an admin's attention.
    ///   - activity: where page views of signed-in browsers are recorded ("last used at / from").
    /// - Throws: when a template of `templates.path` does not parse.
    public init(
        configuration: GatehouseConfiguration, repositories: PagesRepositories, passwords: PasswordAuthenticator, accounts: AccountService?,
        clock: any WallClock = SystemClock(), random: any RandomSource = SystemRandom(), logger: Logger = Logger(label: "gatehouse.pages"),
        activity: SessionActivityRecorder? = nil
    ) throws {
        let templates = try PageTemplates(overridesFrom: configuration.templates.path)
        guard let secrets = configuration.secrets else {
            responder = UnavailablePagesResponder(templates: templates, branding: configuration.branding)
            ssoRedirect = nil
            return
        }
        let limits = configuration.rateLimiting.login.perIP
        let context = PagesContext(
            issuer: configuration.http.publicBase, serverName: configuration.matrix.homeserver, branding: configuration.branding,
            registrationEnabled: configuration.account.passwordRegistrationEnabled && accounts != nil, templates: templates,
            cookie: SessionCookie(encryptionKey: secrets.encryption, random: random), repositories: repositories, passwords: passwords,
            accounts: accounts, userCodeLimiter: RateLimiter(burst: max(limits.burst, 10), perSecond: limits.perSecond, clock: clock),
            registrationLimiter: RateLimiter(configuration.rateLimiting.registration, clock: clock),
            trustedProxies: configuration.http.trustedProxies, clock: clock, random: random, logger: logger, activity: activity)
        responder = PagesResponder(context: context)
        ssoRedirect = CompatSSORedirectEndpoint(context: context)
    }
}

/// Everything the page handlers share; immutable.
struct PagesContext: Sendable {
    /// `http.public_base`: the issuer, `iss` of every authorization response.
    let issuer: String
    let serverName: String
    let branding: BrandingConfiguration
    let registrationEnabled: Bool
    let templates: PageTemplates
    let cookie: SessionCookie
    let repositories: PagesRepositories
    let passwords: PasswordAuthenticator
    let accounts: AccountService?
    /// Guesses of device user codes per client address.
    let userCodeLimiter: RateLimiter
    /// Registrations per client address (`rate_limiting.registration`, MAS's default 3 an hour).
    let registrationLimiter: RateLimiter
    let trustedProxies: [IPNetwork]
    let clock: any WallClock
    let random: any RandomSource
    let logger: Logger
    /// Records page views of signed-in browsers; `nil` records nothing.
    var activity: SessionActivityRecorder? = nil

    /// The shortest password registration accepts (NIST SP 800-63B's minimum for user-chosen ones).
    static let minimumPasswordLength = 8
    /// Legacy SSO logins must be confirmed within this time (MAS: 30 minutes).
    static let ssoLoginLifetime: Double = 30 * 60
    /// `m.login.token` tokens of legacy SSO are valid this long after the redirect (MAS: 30 s).
    static let ssoLoginTokenLifetime: Double = 30

    /// The values every template sees.
    func baseContext() -> [String: Any] {
        var branding: [String: Any] = ["service_name": self.branding.serviceName]
        if let uri = self.branding.policyURI { branding["policy_uri"] = uri }
        if let uri = self.branding.tosURI { branding["tos_uri"] = uri }
        if let imprint = self.branding.imprint { branding["imprint"] = imprint }
        return ["branding": branding, "server_name": serverName]
    }

    func render(_ name: String, _ values: [String: Any], csrf: String? = nil) -> String {
        var context = baseContext()
        context.merge(values) { _, new in new }
        if let csrf { context["csrf"] = csrf }
        return templates.render(name, context)
    }

    func errorPage(_ error: PageError, back: String? = nil) -> PageResponse {
        var values: [String: Any] = ["title": error.title, "message": error.message]
        if let back { values["back"] = back }
        return .page(error.status, render("error", values))
    }

    func userId(_ user: User) -> String {
        Localpart.userId(user.username, serverName: serverName)
    }

    /// Runs a store call; any failure is logged and shown as the internal error page.
    func storage<T>(_ what: String, _ body: () async throws -> T) async throws(PageError) -> T {
        do {
            return try await body()
        } catch {
            logger.error("pages: store failed", metadata: ["operation": "\(what)", "error": "\(error)"])
            throw .internalError
        }
    }
}

/// The pages without `secrets.encryption`: every request gets an error page saying why.
struct UnavailablePagesResponder: LocalResponder {
    let templates: PageTemplates
    let branding: BrandingConfiguration

    func immediateResponse(to request: LocalRequest) -> LocalResponse? {
        if request.target.canonicalPath.hasPrefix("/assets/") { return PageAssets.respond(to: request) }
        let error = PageError.pagesUnavailable
        let html = templates.render("error", [
            "branding": ["service_name": branding.serviceName], "title": error.title, "message": error.message,
        ])
        return PageResponse.page(error.status, html).localResponse(setCookie: nil)
    }

    func respond(to request: LocalRequest) async -> LocalResponse {
        immediateResponse(to: request)!
    }
}
