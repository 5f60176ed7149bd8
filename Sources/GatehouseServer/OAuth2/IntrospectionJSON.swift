#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseCore
import NIOCore

/// The RFC 7662 answer for an active compat token, shaped as MAS shapes it (`client_id` "legacy",
/// both API scopes, device scopes unless the caller takes `device_id`, `expires_in` a whole number),
/// built once per cached token: everything but the expiry fields is fixed, so a cache hit only
/// splices in the remaining time.
struct IntrospectionJSON: Sendable, Equatable {
    /// Up to `token_type`, for callers that send `X-MAS-Supports-Device-Id: 1`.
    private let headWithDeviceField: String
    /// Up to `token_type`, with device scopes; `nil` when the device id is not a valid scope token,
    /// which makes the token inactive for such callers.
    private let headWithDeviceScopes: String?
    /// From `iat` to the end.
    private let tail: String
    private let expiresAt: Date?

    init(_ token: IntrospectionCache.ActiveToken) {
        func head(scopes: [String]) -> String {
            var scopes = scopes
            if token.isSynapseAdmin { scopes.append(MatrixScope.synapseAdmin) }
            return "{\"active\":true,\"scope\":\(JSONText.quote(MatrixScope.normalized(scopes)))"
                + ",\"client_id\":\"legacy\",\"username\":\(JSONText.quote(token.username)),\"sub\":\(JSONText.quote(token.userId))"
                + ",\"token_type\":\"\(token.isRefreshToken ? "refresh_token" : "access_token")\""
        }
        let deviceScope = MatrixScope.devicePrefix + token.deviceId
        headWithDeviceField = head(scopes: [MatrixScope.clientAPI])
        headWithDeviceScopes = MatrixScope.isValidToken(deviceScope) ? head(scopes: [MatrixScope.clientAPI, deviceScope]) : nil
        let issued = Int(token.issuedAt.timeIntervalSince1970)
        tail = ",\"iat\":\(issued),\"nbf\":\(issued),\"device_id\":\(JSONText.quote(token.deviceId))}"
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
