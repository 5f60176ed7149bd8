import GatehouseCore
import GatehouseIdentity
import NIOHTTP1

/// The access token of a Client-Server API request, found the way Synapse finds it
/// (`synapse/api/auth/base.py`): `Authorization: Bearer`, or the deprecated `access_token` query
/// parameter, never both. Used by the logout endpoints and, on every proxied request, by the edge
/// token check, so the common case (a bearer header, a query without a token) allocates nothing
/// beyond the token itself.
enum AccessToken {
    static func extract(headers: HTTPHeaders, query: Substring?) -> Result<String, CompatError> {
        let header = headers.first(name: "authorization")
        let fromQuery = query.flatMap(queryToken)
        switch (header, fromQuery) {
        case (let header?, nil):
            guard BearerScheme.hasPrefix(header) else { return .failure(.missingToken) }
            return .success(String(header.dropFirst(7)))
        case (nil, let token?):
            return .success(token)
        default:
            return .failure(.missingToken)
        }
    }

    private static let parameter = Array("access_token=".utf8)

    private static func queryToken(_ query: Substring) -> String? {
        // A byte search first: most queries carry no token and need no parsing.
        guard query.utf8.firstRange(of: parameter) != nil,
            let pairs = FormURLEncoded.parse(Array(query.utf8)),
            case .value(let token) = FormURLEncoded.single("access_token", in: pairs)
        else { return nil }
        return token
    }
}
