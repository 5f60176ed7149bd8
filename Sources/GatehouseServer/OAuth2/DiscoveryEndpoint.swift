import GatehouseCore
import NIOCore
import NIOHTTP1

/// `GET /.well-known/openid-configuration`: the provider metadata (OpenID Connect Discovery 1.0 §3,
/// RFC 8414 §2), the members MAS emits that apply to what this build serves.
///
/// Synapse requires `issuer` and `account_management_uri` and repeats the whole document to clients
/// in `/_matrix/client/v1/auth_metadata`, so `issuer` is `http.public_base` byte for byte. Endpoints
/// come from ``ProviderCapabilities``: a client never tries an OAuth flow that is not there yet.
struct DiscoveryEndpoint: Sendable {
    let document: ByteBuffer

    /// - Parameters:
    ///   - publicBase: `http.public_base`, ending in `/` (the issuer, byte for byte).
    ///   - capabilities: what the provider serves.
    init(publicBase: String, capabilities: ProviderCapabilities) {
        document = ByteBuffer(string: Self.render(publicBase: publicBase, capabilities: capabilities))
    }

    /// The document as JSON text, members in MAS's order.
    /// - Parameters:
    ///   - publicBase: the issuer.
    ///   - capabilities: what the provider serves.
    static func render(publicBase: String, capabilities: ProviderCapabilities) -> String {
        let has = capabilities.endpoints.contains
        var fields: [(String, String)] = [("issuer", JSONText.quote(publicBase))]
        func url(_ endpoint: ProviderEndpoint) {
            guard has(endpoint) else { return }
            fields.append((endpoint.metadataName, JSONText.quote(publicBase + String(endpoint.path.dropFirst()))))
        }
        func list(_ values: [String]) -> String { "[" + values.map(JSONText.quote).joined(separator: ",") + "]" }
        // Client authentication Gatehouse will accept (no JWT assertions: client_secret_jwt / private_key_jwt).
        let clientAuthMethods = list(["client_secret_basic", "client_secret_post", "none"])

        url(.authorization)
        url(.token)
        url(.jwks)
        url(.registration)
        fields.append(("scopes_supported", list(["openid", "urn:matrix:client:api:*", "urn:synapse:admin:*"])))
        // REQUIRED by OpenID Connect Discovery §3; only the authorization code flow (RFC 9700 §2.1.2).
        fields.append(("response_types_supported", list(["code"])))
        if has(.authorization) {
            fields.append(("response_modes_supported", list(["form_post", "query", "fragment"])))
        }
        if has(.token) {
            var grants = ["authorization_code", "refresh_token", "client_credentials"]
            if has(.deviceAuthorization) { grants.append("urn:ietf:params:oauth:grant-type:device_code") }
            fields.append(("grant_types_supported", list(grants)))
            fields.append(("token_endpoint_auth_methods_supported", clientAuthMethods))
        }
        url(.revocation)
        if has(.revocation) {
            fields.append(("revocation_endpoint_auth_methods_supported", clientAuthMethods))
        }
        // Introspection accepts only Synapse's shared secret as a bearer token: no client methods to list.
        url(.introspection)
        if has(.authorization) {
            // PKCE with S256 only; `plain` is refused (RFC 9700 §2.1.1).
            fields.append(("code_challenge_methods_supported", list(["S256"])))
        }
        url(.userinfo)
        fields.append(("subject_types_supported", list(["public"])))
        let algorithms = capabilities.signingAlgorithms.map(\.rawValue).sorted()
        if !algorithms.isEmpty {
            fields.append(("id_token_signing_alg_values_supported", list(algorithms)))
            if has(.userinfo) { fields.append(("userinfo_signing_alg_values_supported", list(algorithms))) }
        }
        if has(.authorization) {
            fields.append(("display_values_supported", list(["page"])))
        }
        fields.append(("claim_types_supported", list(["normal"])))
        fields.append(("claims_supported", list(["iss", "sub", "aud", "iat", "exp", "nonce", "auth_time", "at_hash", "c_hash"])))
        fields.append(("claims_parameter_supported", "false"))
        fields.append(("request_parameter_supported", "false"))
        fields.append(("request_uri_parameter_supported", "false"))
        if has(.authorization) {
            fields.append(("prompt_values_supported", list(capabilities.passwordRegistration ? ["login", "create"] : ["login"])))
        }
        url(.deviceAuthorization)
        // Synapse refuses a document without it (MSC4191); the account pages come with the HTML pages.
        fields.append(("account_management_uri", JSONText.quote(publicBase + OAuth2Endpoints.accountManagement)))
        // The deep links the account page answers (``AccountAction``), as MAS lists them.
        fields.append(("account_management_actions_supported", list(AccountAction.advertised)))
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    func respond(to request: LocalRequest) -> LocalResponse {
        guard request.method == .GET || request.method == .HEAD else {
            return OAuth2Error(status: .methodNotAllowed, code: .invalidRequest, description: "Use GET").response
        }
        return LocalResponse(
            status: .ok,
            headers: ["Content-Type": "application/json", "Cache-Control": "public, max-age=600", "Access-Control-Allow-Origin": "*"],
            body: document)
    }
}
