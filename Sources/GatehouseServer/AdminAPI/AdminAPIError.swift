import GatehouseCore
import GatehouseIdentity
import NIOCore
import NIOHTTP1

/// Why an admin API request failed, answered in MAS's format `{"errors":[{"title":"…"}]}` with
/// MAS's status for the same failure (`crates/handlers/src/admin/call_context.rs` and the handlers).
struct AdminAPIError: Error, Sendable {
    let status: HTTPResponseStatus
    let title: String

    /// The one mapping from an error to its response.
    var response: LocalResponse {
        var response = LocalResponse.json(
            status, AdminJSON.object([("errors", .array([.object([("title", .string(title))])]))]).text)
        if status == .unauthorized { response.headers.add(name: "WWW-Authenticate", value: "Bearer") }
        return response
    }

    // Authentication (401, or 400 for a malformed header), as MAS's `Rejection`.
    static let missingAuthorization = AdminAPIError(status: .badRequest, title: "Missing authorization header")
    static let invalidAuthorization = AdminAPIError(status: .badRequest, title: "Invalid authorization header")
    static let invalidTokenType = AdminAPIError(status: .unauthorized, title: "Invalid type of access token")
    static let unknownToken = AdminAPIError(status: .unauthorized, title: "Unknown access token")
    static let tokenExpired = AdminAPIError(status: .unauthorized, title: "Access token expired")
    static let sessionRevoked = AdminAPIError(status: .unauthorized, title: "Access token revoked")
    static let userLocked = AdminAPIError(status: .unauthorized, title: "User locked")
    static let missingScope = AdminAPIError(status: .unauthorized, title: "Missing urn:mas:admin scope")
    static let notAdministrator = AdminAPIError(status: .unauthorized, title: "The user is not an administrator")

    // Routing.
    static let notFound = AdminAPIError(status: .notFound, title: "Not found")
    static func methodNotAllowed(_ allowed: [HTTPMethod]) -> AdminAPIError {
        AdminAPIError(status: .methodNotAllowed, title: "Method not allowed; use \(allowed.map(\.rawValue).joined(separator: ", "))")
    }

    // Request validation (400).
    static func invalidParameter(_ name: String, _ problem: String) -> AdminAPIError {
        AdminAPIError(status: .badRequest, title: "Invalid parameter \(name): \(problem)")
    }
    static func invalidBody(_ problem: String) -> AdminAPIError {
        AdminAPIError(status: .badRequest, title: "Invalid request body: \(problem)")
    }
    static func invalidID(_ text: String) -> AdminAPIError {
        AdminAPIError(status: .badRequest, title: "Invalid ID \(JSONText.quote(text)): expected a ULID")
    }

    // Resources.
    static func notFound(_ kind: String, _ id: String) -> AdminAPIError {
        AdminAPIError(status: .notFound, title: "\(kind) ID \(id) not found")
    }
    static func userNotFound(username: String) -> AdminAPIError {
        AdminAPIError(status: .notFound, title: "User with username \(JSONText.quote(username)) not found")
    }
    static func alreadyFinished(_ kind: String, _ id: String) -> AdminAPIError {
        AdminAPIError(status: .badRequest, title: "\(kind) with ID \(id) is already finished")
    }

    static let internalError = AdminAPIError(status: .internalServerError, title: "Internal error")

    /// An account operation's refusal with the status MAS gives it; the title is the service's own
    /// sentence (it names no secret).
    static func account(_ error: AccountError) -> AdminAPIError {
        let status: HTTPResponseStatus =
            if error.isUserNotFound || error.isSessionNotFound { .notFound }
            else if error.isUserExists || error.isTakenInSynapse { .conflict }
            else if error.isInvalidUsername || error.isSessionFinished { .badRequest }
            else if error.isPasswordsDisabled { .forbidden }
            else if error.isSynapseUnreachable { .serviceUnavailable }
            else if error.isSynapseRefused { .badGateway }
            else { .internalServerError }
        return AdminAPIError(status: status, title: status == .internalServerError ? "Internal error" : error.description)
    }
}
