import GatehouseCore
import NIOCore
import NIOHTTP1

/// `GET /oauth2/keys.json`: the public halves of `secrets.keys` as a JWK Set (RFC 7517 §5), every key
/// with `kid`, `use: sig` and `alg`, so relying parties can verify id_tokens, including tokens signed
/// with a key that is no longer the first of its algorithm.
struct KeysEndpoint: Sendable {
    let document: ByteBuffer

    /// - Parameter keys: the configured signing keys, in file order (empty without `secrets`).
    init(keys: [SigningKey]) {
        document = ByteBuffer(string: Self.render(keys: keys))
    }

    /// `{"keys":[…]}`.
    /// - Parameter keys: the signing keys.
    static func render(keys: [SigningKey]) -> String {
        "{\"keys\":[" + keys.map(\.publicJWK).joined(separator: ",") + "]}"
    }

    func respond(to request: LocalRequest) -> LocalResponse {
        guard request.method == .GET || request.method == .HEAD else {
            return OAuth2Error(status: .methodNotAllowed, code: .invalidRequest, description: "Use GET").response
        }
        // Cacheable like MAS's (an hour): a rotation publishes the new key well before it signs.
        return LocalResponse(
            status: .ok,
            headers: ["Content-Type": "application/json", "Cache-Control": "public, max-age=3600", "Access-Control-Allow-Origin": "*"],
            body: document)
    }
}
