/// Why a legacy (compat) login, logout or refresh was refused. The HTTP layer maps each case to a
/// Matrix error in one place (`CompatRouteError`); the wording follows MAS so clients see the same.
public enum CompatError: Error, Equatable, Sendable {
    /// Unknown `type`, or password login while passwords are disabled.
    case invalidLoginType
    /// `m.login.application_service`: appservices use MSC4190 device management instead.
    case appserviceLoginUnsupported
    /// An identifier other than `m.id.user`.
    case unsupportedIdentifier
    /// Unknown user, wrong password, no password, or deactivated user: one answer for all.
    case invalidCredentials
    case userLocked
    /// Too many attempts; retry after this many milliseconds.
    case rateLimited(retryAfterMilliseconds: Int)
    case invalidLoginToken
    case loginTokenExpired
    /// A `device_id` Gatehouse or Synapse does not accept (see `DeviceId`).
    case invalidDeviceId
    /// An `initial_device_display_name` with control characters (see `DeviceDisplayName`).
    case invalidDisplayName
    case missingToken
    case unknownToken
    case invalidRefreshToken
    /// `/logout/all` without `io.element.only_compat_is_fine: true`.
    case logoutAllNotSupported
    /// Password hashing is saturated; the client should retry shortly.
    case overloaded
    /// Synapse could not be reached, did not answer in time, or answered 5xx/429: try again later.
    /// Nothing was stored; a device Synapse may have created is queued for removal.
    case homeserverUnavailable
    /// Synapse or the store failed; nothing was left half-done.
    case internalError
}
