import GatehouseCore
import NIOCore
import NIOHTTP1

/// `GET /.well-known/openid-configuration`.
///
/// Synapse requires `issuer` and `account_management_uri` (and repeats the whole document to clients
/// in `/_matrix/client/v1/auth_metadata`). Only endpoints Gatehouse actually serves are advertised,
/// so a client never tries an OAuth flow that is not there yet.
struct DiscoveryEndpoint: Sendable {
    let document: ByteBuffer

    /// - Parameter publicBase: `http.public_base`, ending in `/` (the issuer, byte for byte).
    init(publicBase: String) {
        let fields: [(String, String)] = [
            ("issuer", JSONText.quote(publicBase)),
            ("account_management_uri", JSONText.quote(publicBase + OAuth2Endpoints.accountManagement)),
            ("introspection_endpoint", JSONText.quote(publicBase + String(OAuth2Endpoints.introspection.dropFirst()))),
            ("scopes_supported", "[\"openid\",\"urn:matrix:client:api:*\",\"urn:synapse:admin:*\"]"),
            ("subject_types_supported", "[\"public\"]"),
        ]
        document = ByteBuffer(string: "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}")
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
