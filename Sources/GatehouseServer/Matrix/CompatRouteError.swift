import GatehouseCore
import GatehouseIdentity

/// Every way a compat endpoint can fail, mapped to its Matrix error in this one place (MAS
/// `compat::RouteError::into_response`; the wording is MAS's so clients see the same text).
enum CompatRouteError: Error, Equatable {
    /// The body is not JSON (or says it is something else).
    case notJSON(String)
    /// Valid JSON of the wrong shape.
    case badJSON(String)
    case methodNotAllowed
    /// A path under the service that is none of its endpoints.
    case unknownEndpoint
    case ssoUnavailable
    case service(CompatError)

    var matrixError: MatrixError {
        switch self {
        case .notJSON(let message):
            MatrixError(status: 400, code: .notJSON, message: message)
        case .badJSON(let message):
            MatrixError(status: 400, code: .badJSON, message: message)
        case .methodNotAllowed:
            MatrixError(status: 405, code: .unrecognized, message: "Unrecognized request")
        case .unknownEndpoint:
            MatrixError(status: 404, code: .unrecognized, message: "Unrecognized request")
        case .ssoUnavailable:
            MatrixError(status: 404, code: .unrecognized, message: "Single sign-on is not available on this server")
        case .service(let error):
            switch error {
            case .invalidLoginType:
                MatrixError(status: 400, code: .unknown, message: "Invalid login type")
            case .appserviceLoginUnsupported:
                MatrixError(status: 400, code: .appserviceLoginUnsupported,
                    message: "Application services can't log in through the legacy authentication API on this server")
            case .unsupportedIdentifier:
                MatrixError(status: 400, code: .unknown, message: "Unsupported login identifier")
            case .invalidCredentials:
                MatrixError(status: 403, code: .forbidden, message: "Invalid username/password")
            case .userLocked:
                MatrixError(status: 401, code: .userLocked, message: "User account has been locked")
            case .rateLimited(let retryAfter):
                MatrixError(status: 429, code: .limitExceeded, message: "Too many login attempts", retryAfterMilliseconds: retryAfter)
            case .invalidLoginToken:
                MatrixError(status: 403, code: .forbidden, message: "Invalid login token")
            case .loginTokenExpired:
                MatrixError(status: 403, code: .forbidden, message: "Login token expired")
            case .invalidDeviceId:
                MatrixError(status: 400, code: .invalidParam, message: "Invalid device_id")
            case .invalidDisplayName:
                MatrixError(status: 400, code: .invalidParam, message: "Invalid initial_device_display_name")
            case .missingToken:
                MatrixError(status: 401, code: .missingToken, message: "Missing access token")
            case .unknownToken:
                MatrixError(status: 401, code: .unknownToken, message: "Invalid access token")
            case .invalidRefreshToken:
                MatrixError(status: 401, code: .unknownToken, message: "Invalid refresh token")
            case .logoutAllNotSupported:
                MatrixError(status: 404, code: .unrecognized, message: "The /logout/all endpoint is not supported by this deployment")
            case .overloaded:
                MatrixError(status: 429, code: .limitExceeded, message: "Too many logins at once; try again shortly", retryAfterMilliseconds: 1000)
            case .homeserverUnavailable:
                MatrixError(status: 503, code: .unknown, message: "The homeserver is unavailable; try again later")
            case .internalError:
                MatrixError(status: 500, code: .unknown, message: "Internal server error")
            }
        }
    }

    /// The `Retry-After` header (seconds) for errors that are worth retrying without a rate limit's
    /// `retry_after_ms` (which `LocalResponse.matrix` turns into the header itself).
    var retryAfterSeconds: Int? {
        switch self {
        case .service(.homeserverUnavailable): Self.homeserverRetryAfterSeconds
        default: nil
        }
    }

    /// How long a client is asked to wait when Synapse is unavailable: long enough not to hammer a
    /// homeserver that is restarting, short enough that a blip is not noticed.
    static let homeserverRetryAfterSeconds = 5
}
