#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseCore

/// Who a client says it is at the token, revocation and device authorization endpoints, and how
/// (RFC 6749 §2.3.1; MAS `client_authorization.rs`): HTTP Basic (`client_secret_basic`), the secret
/// in the form (`client_secret_post`), or only `client_id` in the form (`none`, a public client).
public struct ClientCredentials: Sendable, Equatable {
    public var clientId: String
    /// The secret presented, if any.
    public var secret: String?
    /// The method the presentation amounts to; it must equal the client's registered one.
    public var method: ClientAuthMethod

    public init(clientId: String, secret: String?, method: ClientAuthMethod) {
        self.clientId = clientId
        self.secret = secret
        self.method = method
    }

    /// Reads the credentials from the `Authorization` header and the form parameters.
    ///
    /// Errors follow MAS: a malformed `Authorization` header or a repeated parameter is
    /// `invalid_request`; no credentials at all is `invalid_request` "No credentials were
    /// presented"; a form `client_id` that contradicts the Basic one is `invalid_grant`; a secret in
    /// both places is `invalid_request` (RFC 6749 §2.3: one method per request).
    /// - Parameters:
    ///   - authorization: the `Authorization` header, if any.
    ///   - form: the form parameters.
    public static func parse(authorization: String?, form: OAuth2Form) -> Result<ClientCredentials, OAuth2TokenError> {
        let formClientId: String?
        let formSecret: String?
        do {
            formClientId = try form.optional("client_id")
            formSecret = try form.optional("client_secret")
        } catch {
            return .failure(error)
        }
        if let authorization {
            guard let (basicId, basicSecret) = basic(authorization) else {
                return .failure(.invalidRequest("Invalid Authorization header"))
            }
            if let formClientId, formClientId != basicId {
                return .failure(.invalidGrant("client_id in the form does not match the Authorization header"))
            }
            if formSecret != nil {
                return .failure(.invalidRequest("Use one client authentication method: client_secret in both the header and the form"))
            }
            return .success(ClientCredentials(clientId: basicId, secret: basicSecret, method: .clientSecretBasic))
        }
        guard let formClientId else {
            return .failure(.invalidRequest(formSecret == nil ? "No credentials were presented" : "client_secret without client_id"))
        }
        if let formSecret {
            return .success(ClientCredentials(clientId: formClientId, secret: formSecret, method: .clientSecretPost))
        }
        return .success(ClientCredentials(clientId: formClientId, secret: nil, method: .none))
    }

    /// `Basic base64(urlencode(id) ":" urlencode(secret))`, RFC 6749 §2.3.1.
    private static func basic(_ header: String) -> (String, String)? {
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "basic",
            let decoded = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
            let text = String(data: decoded, encoding: .utf8),
            let colon = text.firstIndex(of: ":")
        else { return nil }
        guard let id = FormURLEncoded.decodeComponent(text[..<colon]), let secret = FormURLEncoded.decodeComponent(text[text.index(after: colon)...]),
            !id.isEmpty
        else { return nil }
        return (id, secret)
    }
}
