import GatehouseCore
import NIOCore
import NIOHTTP1

/// `GET /.well-known/webfinger?resource=…&rel=…` (RFC 7033; OpenID Connect Discovery 1.0 §2): tells a
/// client which issuer serves an account.
///
/// As MAS, any `resource` gets the same issuer (no account lookup, so nothing is revealed about which
/// accounts exist). Unlike MAS, which answers without links unless `rel` names the issuer relation,
/// a request without `rel` gets every link, as RFC 7033 §4.3 requires.
struct WebFingerEndpoint: Sendable {
    /// The OpenID Connect issuer link relation.
    static let issuerRelation = "http://openid.net/specs/connect/1.0/issuer"

    let issuer: String

    /// - Parameter issuer: `http.public_base`, byte for byte the discovery `issuer`.
    init(issuer: String) {
        self.issuer = issuer
    }

    func respond(to request: LocalRequest) -> LocalResponse {
        guard request.method == .GET || request.method == .HEAD else {
            return OAuth2Error(status: .methodNotAllowed, code: .invalidRequest, description: "Use GET").response
        }
        let answer: LocalResponse
        switch Self.links(query: request.target.query, issuer: issuer) {
        case .success(let json):
            answer = LocalResponse(status: .ok, headers: ["Content-Type": "application/jrd+json"], body: ByteBuffer(string: json))
        case .failure(let error):
            answer = error.response
        }
        var response = answer
        // RFC 7033 §5: WebFinger answers must be readable cross-origin.
        response.headers.replaceOrAdd(name: "Access-Control-Allow-Origin", value: "*")
        return response
    }

    /// The JRD for a query string, or the error to send (400 for a missing, repeated or empty `resource`,
    /// RFC 7033 §4.2).
    /// - Parameters:
    ///   - query: the raw query, without `?`.
    ///   - issuer: the issuer.
    static func links(query: Substring?, issuer: String) -> Result<String, OAuth2Error> {
        guard let pairs = FormURLEncoded.parse(Array((query ?? "").utf8)) else {
            return .failure(OAuth2Error(status: .badRequest, code: .invalidRequest, description: "The query string is not valid form encoding"))
        }
        let resource: String
        switch FormURLEncoded.single("resource", in: pairs) {
        case .absent:
            return .failure(OAuth2Error(status: .badRequest, code: .invalidRequest, description: "The `resource` parameter is required"))
        case .duplicate:
            return .failure(OAuth2Error(status: .badRequest, code: .invalidRequest, description: "The `resource` parameter is given more than once"))
        case .value(let value):
            guard !value.isEmpty else {
                return .failure(OAuth2Error(status: .badRequest, code: .invalidRequest, description: "The `resource` parameter is empty"))
            }
            resource = value
        }
        // `rel` may repeat (RFC 7033 §4.1); without it every link is returned (§4.3).
        let relations = pairs.filter { $0.name == "rel" }.map(\.value)
        var links: [String] = []
        if relations.isEmpty || relations.contains(issuerRelation) {
            links.append("{\"rel\":\(JSONText.quote(issuerRelation)),\"href\":\(JSONText.quote(issuer))}")
        }
        return .success("{\"subject\":\(JSONText.quote(resource)),\"links\":[\(links.joined(separator: ","))]}")
    }
}
