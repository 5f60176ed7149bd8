#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseCore
import NIOCore

/// The RFC 7662 answer for an active token, shaped as MAS shapes it, built once per cached token:
/// everything but the expiry fields is fixed, so a cache hit only splices in the remaining time.
///
/// Compat tokens: `client_id` "legacy", both API scopes, device scopes unless the caller takes
/// `device_id` (`X-MAS-Supports-Device-Id: 1`), and the `device_id` field. OAuth 2.0 tokens: the
/// session's scope normalized (``MatrixScope/normalized(_:)``: both spellings of the API and device
/// scopes, whatever the header), the client's `client_id`, `jti`, and no `device_id`; `username` and
/// `sub` are left out for sessions without a user.
struct IntrospectionJSON: Sendable, Equatable {
    /// Up to `token_type`, for callers that send `X-MAS-Supports-Device-Id: 1`.
    private let headWithDeviceField: String
    /// Up to `token_type`, with device scopes; `nil` when the device id is not a valid scope token,
    /// which makes the token inactive for such callers.
    private let headWithDeviceScopes: String?
    /// From `iat` to the end.
    private let tail: String
    private let expiresAt: Date?

    init(_ token: IntrospectionCache.ActiveToken.Fields) {
        let issued = Int(token.issuedAt.timeIntervalSince1970)
        let tokenType = ",\"token_type\":\"\(token.isRefreshToken ? "refresh_token" : "access_token")\""
        var identity = ""
        if let username = token.username { identity += ",\"username\":\(JSONText.quote(username))" }
        if let userId = token.userId { identity += ",\"sub\":\(JSONText.quote(userId))" }
        switch token.family {
        case .compat(let deviceId, let isSynapseAdmin):
            func head(scopes: [String]) -> String {
                var scopes = scopes
                if isSynapseAdmin { scopes.append(MatrixScope.synapseAdmin) }
                return "{\"active\":true,\"scope\":\(JSONText.quote(MatrixScope.normalized(scopes)))"
                    + ",\"client_id\":\"legacy\"" + identity + tokenType
            }
            let deviceScope = MatrixScope.devicePrefix + deviceId
            headWithDeviceField = head(scopes: [MatrixScope.clientAPI])
            headWithDeviceScopes = MatrixScope.isValidToken(deviceScope) ? head(scopes: [MatrixScope.clientAPI, deviceScope]) : nil
            tail = ",\"iat\":\(issued),\"nbf\":\(issued),\"device_id\":\(JSONText.quote(deviceId))}"
        case .oauth2(let clientId, let scope, let tokenId):
            let tokens = scope.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            let head = "{\"active\":true,\"scope\":\(JSONText.quote(MatrixScope.normalized(tokens)))"
                + ",\"client_id\":\(JSONText.quote(clientId))" + identity + tokenType
            headWithDeviceField = head
            headWithDeviceScopes = head
            tail = ",\"iat\":\(issued),\"nbf\":\(issued),\"jti\":\(JSONText.quote(tokenId))}"
        }
        expiresAt = token.expiresAt
    }

    /// The body at `now`, or `nil` when the token is no longer active for this caller.
    func render(now: Date, supportsDeviceId: Bool) -> String? {
        guard let head = supportsDeviceId ? headWithDeviceField : headWithDeviceScopes else { return nil }
        guard let expiresAt else { return head + tail }
        let remaining = Int(expiresAt.timeIntervalSince(now).rounded(.down))
        guard remaining > 0 else { return nil }
        return head + ",\"exp\":\(Int(expiresAt.timeIntervalSince1970)),\"expires_in\":\(remaining)" + tail
    }
}
