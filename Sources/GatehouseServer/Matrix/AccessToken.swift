import GatehouseCore
import GatehouseIdentity

/// The access token of a Client-Server API request, found the way Synapse finds it
/// (`synapse/api/auth/base.py`): `Authorization: Bearer`, or the deprecated `access_token` query
/// parameter, never both.
enum AccessToken {
    static func extract(from request: LocalRequest) -> Result<String, CompatError> {
        let header = request.headers.first(name: "authorization")
        let query = request.target.query.flatMap(queryToken)
        switch (header, query) {
        case (let header?, nil):
            guard header.count > 7, header.prefix(7).lowercased() == "bearer " else { return .failure(.missingToken) }
            return .success(String(header.dropFirst(7)))
        case (nil, let token?):
            return .success(token)
        default:
            return .failure(.missingToken)
        }
    }

    private static func queryToken(_ query: Substring) -> String? {
        guard let pairs = FormURLEncoded.parse(Array(query.utf8)), case .value(let token) = FormURLEncoded.single("access_token", in: pairs) else {
            return nil
        }
        return token
    }
}
