import GatehouseCore
import NIOHTTP1

/// The `oauth2` local service: discovery, webfinger, the JWKS, introspection and client registration
/// for now; the rest of the OAuth 2.0 / OIDC provider joins here.
struct OAuth2Responder: LocalResponder {
    let discovery: DiscoveryEndpoint
    let webfinger: WebFingerEndpoint
    let keys: KeysEndpoint
    let introspection: IntrospectionEndpoint
    let registration: RegistrationEndpoint

    func immediateResponse(to request: LocalRequest) -> LocalResponse? {
        switch request.target.canonicalPath {
        case OAuth2Endpoints.discovery: discovery.respond(to: request)
        case OAuth2Endpoints.webfinger: webfinger.respond(to: request)
        case OAuth2Endpoints.keys: keys.respond(to: request)
        case OAuth2Endpoints.introspection: introspection.immediateResponse(to: request)
        case OAuth2Endpoints.registration: registration.immediateResponse(to: request)
        default: OAuth2Error(status: .notFound, code: .notFound, description: "No such endpoint").response
        }
    }

    func respond(to request: LocalRequest) async -> LocalResponse {
        if let response = immediateResponse(to: request) { return response }
        switch request.target.canonicalPath {
        case OAuth2Endpoints.registration: return await registration.respond(to: request)
        default: return await introspection.respond(to: request)
        }
    }
}
