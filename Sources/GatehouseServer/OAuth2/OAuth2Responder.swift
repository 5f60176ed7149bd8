import GatehouseCore
import NIOHTTP1

/// The `oauth2` local service: discovery, webfinger, the JWKS, introspection, client registration,
/// and the token, revocation, userinfo and device authorization endpoints (when tokens are issued).
struct OAuth2Responder: LocalResponder {
    let discovery: DiscoveryEndpoint
    let webfinger: WebFingerEndpoint
    let keys: KeysEndpoint
    let introspection: IntrospectionEndpoint
    let registration: RegistrationEndpoint
    let token: TokenEndpoint?
    let revocation: RevocationEndpoint?
    let userinfo: UserInfoEndpoint?
    let deviceAuthorization: DeviceAuthorizationEndpoint?

    private static let notFound = OAuth2Error(status: .notFound, code: .notFound, description: "No such endpoint").response

    func immediateResponse(to request: LocalRequest) -> LocalResponse? {
        switch request.target.canonicalPath {
        case OAuth2Endpoints.discovery: discovery.respond(to: request)
        case OAuth2Endpoints.webfinger: webfinger.respond(to: request)
        case OAuth2Endpoints.keys: keys.respond(to: request)
        case OAuth2Endpoints.introspection: introspection.immediateResponse(to: request)
        case OAuth2Endpoints.registration: registration.immediateResponse(to: request)
        case OAuth2Endpoints.token: token.map { $0.immediateResponse(to: request) } ?? Self.notFound
        case OAuth2Endpoints.revocation: revocation.map { $0.immediateResponse(to: request) } ?? Self.notFound
        case OAuth2Endpoints.userinfo: userinfo.map { $0.immediateResponse(to: request) } ?? Self.notFound
        case OAuth2Endpoints.deviceAuthorization: deviceAuthorization.map { $0.immediateResponse(to: request) } ?? Self.notFound
        default: Self.notFound
        }
    }

    func respond(to request: LocalRequest) async -> LocalResponse {
        if let response = immediateResponse(to: request) { return response }
        switch request.target.canonicalPath {
        case OAuth2Endpoints.registration: return await registration.respond(to: request)
        case OAuth2Endpoints.token: return await token?.respond(to: request) ?? Self.notFound
        case OAuth2Endpoints.revocation: return await revocation?.respond(to: request) ?? Self.notFound
        case OAuth2Endpoints.userinfo: return await userinfo?.respond(to: request) ?? Self.notFound
        case OAuth2Endpoints.deviceAuthorization: return await deviceAuthorization?.respond(to: request) ?? Self.notFound
        default: return await introspection.respond(to: request)
        }
    }
}
