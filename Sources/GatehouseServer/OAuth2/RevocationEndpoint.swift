import GatehouseIdentity
import NIOCore
import NIOHTTP1

/// `POST /oauth2/revoke` (RFC 7009), a thin adapter over ``OAuth2TokenService/revoke(credentials:form:)``:
/// the whole session of a live `mat_`/`mar_` token ends and its Synapse device is deleted before
/// the `200` (empty body). Unknown or malformed tokens are `200` too (RFC 7009 §2.2); another
/// client's token is `401 unauthorized_client`.
struct RevocationEndpoint: Sendable {
    /// Also tells the caches (the proxy's token check refuses the token at once).
    let service: OAuth2TokenService

    func immediateResponse(to request: LocalRequest) -> LocalResponse? {
        ClientFacingHeaders.refusal(of: request)
    }

    func respond(to request: LocalRequest) async -> LocalResponse {
        if let response = immediateResponse(to: request) { return response }
        return ClientFacingHeaders.finish(await revoke(request))
    }

    private func revoke(_ request: LocalRequest) async -> LocalResponse {
        do throws(OAuth2TokenError) {
            let form = try OAuth2Form.parse(request.body.readableBytesView).get()
            let credentials = try ClientCredentials.parse(authorization: request.headers.first(name: "authorization"), form: form).get()
            try await service.revoke(credentials: credentials, form: form)
            return LocalResponse(status: .ok)
        } catch {
            return OAuth2TokenRouteError.response(for: error)
        }
    }
}
