import GatehouseCore
import GatehouseIdentity
import GatehouseStorage

/// Builds the `admin-api` local service (``LocalServiceName/adminAPI``). Whether a listener answers
/// it is decided per listener by ``GatewayRuntime`` from `admin_api.listeners`.
public struct AdminAPIService: Sendable {
    /// The responder to register for ``LocalServiceName/adminAPI``.
    public let responder: any LocalResponder

    /// - Parameters:
    ///   - configuration: the validated configuration (server name, what the site offers).
    ///   - store: the identity store.
    ///   - accounts: the account service `gatehouse manage` uses too.
    ///   - clock: the wall clock (token expiry).
    public init(configuration: GatehouseConfiguration, store: any IdentityStore, accounts: AccountService, clock: any WallClock = SystemClock()) {
        responder = AdminAPIResponder(store: store, accounts: accounts, siteConfig: Self.siteConfig(configuration), clock: clock)
    }

    /// `GET /api/admin/v1/site-config`: MAS's fields, with what Gatehouse offers (features it does
    /// not have are `false`).
    static func siteConfig(_ configuration: GatehouseConfiguration) -> AdminJSON {
        .object([
            ("server_name", .string(configuration.matrix.homeserver)),
            ("password_login_enabled", .bool(configuration.passwords.enabled)),
            ("password_registration_enabled", .bool(configuration.passwords.enabled && configuration.account.passwordRegistrationEnabled)),
            ("password_registration_email_required", .bool(false)),
            ("registration_token_required", .bool(false)),
            ("email_change_allowed", .bool(false)),
            ("account_recovery_allowed", .bool(false)),
            ("captcha_enabled", .bool(false)),
        ])
    }
}
