import GatehouseCore
import GatehouseIdentity
import NIOCore
import NIOHTTP1

/// The `matrix-compat` local service: the Matrix legacy login layer that Synapse stops serving once
/// authentication is delegated (`/login`, `/logout`, `/logout/all`, `/refresh`, under any client API
/// version). Handlers are thin: decode, call ``CompatLoginService``, encode; every error goes through
/// ``CompatRouteError``.
public struct MatrixCompatResponder: LocalResponder {
    let service: CompatLoginService
    let trustedProxies: [IPNetwork]
    /// Legacy SSO through the HTML pages; `nil` answers `/login/sso/redirect` with an error and
    /// leaves `m.login.sso` out of the login flows.
    let ssoRedirect: CompatSSORedirectEndpoint?
    let metrics: LoginMetrics

    /// - Parameters:
    ///   - service: the login service.
    ///   - trustedProxies: `http.trusted_proxies`, for the client address rate limits key on.
    ///   - ssoRedirect: the pages' legacy SSO start (``PagesService/ssoRedirect``).
    ///   - metrics: counts `POST /login` outcomes.
    public init(
        service: CompatLoginService, trustedProxies: [IPNetwork], ssoRedirect: CompatSSORedirectEndpoint? = nil, metrics: LoginMetrics = .off
    ) {
        self.service = service
        self.trustedProxies = trustedProxies
        self.ssoRedirect = ssoRedirect
        self.metrics = metrics
    }

    enum Endpoint {
        case login, ssoRedirect, logout, logoutAll, refresh, unknown
    }

    static func endpoint(for path: String) -> Endpoint {
        var path = Substring(path)
        if path.hasSuffix("/") { path = path.dropLast() }
        if path.hasSuffix("/logout/all") { return .logoutAll }
        if path.hasSuffix("/logout") { return .logout }
        if path.hasSuffix("/refresh") { return .refresh }
        if path.hasSuffix("/login") { return .login }
        if path.contains("/login/sso/redirect") { return .ssoRedirect }
        return .unknown
    }

    public func immediateResponse(to request: LocalRequest) -> LocalResponse? {
        if request.method == .OPTIONS {
            // CORS preflight from browser clients.
            var response = LocalResponse(status: .noContent)
            Self.addCommonHeaders(&response.headers)
            return response
        }
        switch (Self.endpoint(for: String(request.target.canonicalPath)), request.method) {
        case (.login, .GET), (.login, .HEAD):
            var flows: [[String: Any]] = []
            if service.passwordLoginEnabled { flows.append(["type": "m.login.password"]) }
            if ssoRedirect != nil {
                // MAS's flags: clients that know OAuth 2.0 prefer it; SSO here is MAS-style delegated login.
                flows.append([
                    "type": "m.login.sso", "oauth_aware_preferred": true, "org.matrix.msc3824.delegated_oidc_compatibility": true,
                ])
            }
            flows.append(["type": "m.login.token"])
            return MatrixJSONBody.response(.ok, ["flows": flows])
        case (.ssoRedirect, _):
            return ssoRedirect == nil ? failure(.ssoUnavailable) : nil
        case (.login, .POST), (.logout, .POST), (.logoutAll, .POST), (.refresh, .POST):
            return nil
        case (.unknown, _):
            return failure(.unknownEndpoint)
        default:
            return failure(.methodNotAllowed)
        }
    }

    public func respond(to request: LocalRequest) async -> LocalResponse {
        if let response = immediateResponse(to: request) { return response }
        let result: Result<LocalResponse, CompatRouteError>
        switch Self.endpoint(for: String(request.target.canonicalPath)) {
        case .ssoRedirect:
            if let ssoRedirect { return await ssoRedirect.respond(to: request) }
            result = .failure(.ssoUnavailable)
        case .login: result = await login(request)
        case .logout: result = await logout(request, all: false)
        case .logoutAll: result = await logout(request, all: true)
        case .refresh: result = await refresh(request)
        case .unknown: result = .failure(.methodNotAllowed)
        }
        switch result {
        case .success(let response): return response
        case .failure(let error): return failure(error)
        }
    }

    private func failure(_ error: CompatRouteError) -> LocalResponse {
        var response = LocalResponse.matrix(error.matrixError)
        if let seconds = error.retryAfterSeconds {
            response.headers.replaceOrAdd(name: "Retry-After", value: String(seconds))
        }
        Self.addCommonHeaders(&response.headers)
        return response
    }

    static func addCommonHeaders(_ headers: inout HTTPHeaders) {
        headers.replaceOrAdd(name: "Cache-Control", value: "no-store")
        headers.replaceOrAdd(name: "Access-Control-Allow-Origin", value: "*")
        headers.replaceOrAdd(name: "Access-Control-Allow-Methods", value: "GET, HEAD, POST, PUT, DELETE, OPTIONS")
        headers.replaceOrAdd(name: "Access-Control-Allow-Headers", value: "X-Requested-With, Content-Type, Authorization, Date")
    }

    // MARK: POST /login

    private func login(_ request: LocalRequest) async -> Result<LocalResponse, CompatRouteError> {
        let parsed = MatrixJSONBody.object(request).flatMap { body in loginRequest(body, request: request) }
        guard case .success(let loginRequest) = parsed else {
            if case .failure(let error) = parsed { metrics.compatLogin(type: "other", outcome: Self.outcomeLabel(error)) }
            return parsed.map { _ in LocalResponse(status: .ok) }
        }
        let type =
            switch loginRequest.credentials {
            case .password: "m.login.password"
            case .loginToken: "m.login.token"
            }
        do {
            let result = try await service.login(loginRequest)
            var body: [String: Any] = ["access_token": result.accessToken, "device_id": result.deviceId, "user_id": result.userId]
            if let refresh = result.refreshToken { body["refresh_token"] = refresh }
            if let expires = result.expiresInMilliseconds { body["expires_in_ms"] = expires }
            metrics.compatLogin(type: type, outcome: "success")
            return .success(MatrixJSONBody.response(.ok, body))
        } catch {
            metrics.compatLogin(type: type, outcome: Self.outcomeLabel(.service(error)))
            return .failure(.service(error))
        }
    }

    /// The `outcome` label of a refused login: a fixed word per kind of refusal.
    static func outcomeLabel(_ error: CompatRouteError) -> String {
        switch error {
        case .service(.invalidCredentials): "invalid_credentials"
        case .service(.userLocked): "user_locked"
        case .service(.rateLimited), .service(.overloaded): "rate_limited"
        case .service(.invalidLoginToken), .service(.loginTokenExpired): "invalid_login_token"
        case .service(.homeserverUnavailable): "homeserver_unavailable"
        case .service(.internalError): "internal_error"
        default: "bad_request"
        }
    }

    /// Decodes a login body (Client-Server API `POST /login`).
    func loginRequest(_ body: [String: Any], request: LocalRequest) -> Result<CompatLoginService.LoginRequest, CompatRouteError> {
        Result {
            guard let type = try body.string("type").get() else { throw CompatRouteError.badJSON("JSON fields are not valid") }
            let credentials: CompatLoginService.Credentials
            switch type {
            case "m.login.password":
                guard let password = try body.string("password").get() else { throw CompatRouteError.badJSON("JSON fields are not valid") }
                // The deprecated top-level `user` wins over `identifier`, as in MAS.
                if let user = try body.string("user").get() {
                    credentials = .password(user: user, password: password)
                } else if let identifier = try body.object("identifier").get() {
                    guard try identifier.string("type").get() == "m.id.user" else {
                        throw CompatRouteError.service(.unsupportedIdentifier)
                    }
                    guard let user = try identifier.string("user").get() else { throw CompatRouteError.badJSON("JSON fields are not valid") }
                    credentials = .password(user: user, password: password)
                } else {
                    throw CompatRouteError.badJSON("Missing property 'identifier'")
                }
            case "m.login.token":
                guard let token = try body.string("token").get() else { throw CompatRouteError.badJSON("JSON fields are not valid") }
                credentials = .loginToken(token)
            case "m.login.application_service":
                throw CompatRouteError.service(.appserviceLoginUnsupported)
            default:
                throw CompatRouteError.service(.invalidLoginType)
            }
            let clientAddress = ClientAddress.resolve(
                peer: request.peerAddress, forwardedFor: request.headers["x-forwarded-for"], trustedProxies: trustedProxies)
            return CompatLoginService.LoginRequest(
                credentials: credentials, deviceId: try body.string("device_id").get(),
                initialDeviceDisplayName: try body.string("initial_device_display_name").get(),
                wantsRefreshToken: try body.bool("refresh_token").get() ?? false, clientAddress: clientAddress)
        }.mapError { $0 as? CompatRouteError ?? .badJSON("JSON fields are not valid") }
    }

    // MARK: POST /logout, /logout/all

    private func logout(_ request: LocalRequest, all: Bool) async -> Result<LocalResponse, CompatRouteError> {
        let token: String
        switch AccessToken.extract(headers: request.headers, query: request.target.query) {
        case .success(let value): token = value
        case .failure(let error): return .failure(.service(error))
        }
        do {
            if all {
                // The body is optional for /logout/all, but only an acknowledged compat-only logout is done.
                var onlyCompatIsFine = false
                if request.body.readableBytes > 0 {
                    let body = try MatrixJSONBody.object(request).get()
                    onlyCompatIsFine = try body.bool("io.element.only_compat_is_fine").get() ?? false
                }
                try await service.logoutAll(accessToken: token, onlyCompatIsFine: onlyCompatIsFine)
            } else {
                try await service.logout(accessToken: token)
            }
            return .success(MatrixJSONBody.response(.ok, [:]))
        } catch let error as CompatError {
            return .failure(.service(error))
        } catch let error as CompatRouteError {
            return .failure(error)
        } catch {
            return .failure(.service(.internalError))
        }
    }

    // MARK: POST /refresh

    private func refresh(_ request: LocalRequest) async -> Result<LocalResponse, CompatRouteError> {
        let token: String
        switch MatrixJSONBody.object(request).flatMap({ $0.string("refresh_token") }) {
        case .success(let value?): token = value
        case .success(nil): return .failure(.badJSON("JSON fields are not valid"))
        case .failure(let error): return .failure(error)
        }
        do {
            let result = try await service.refresh(refreshToken: token)
            return .success(MatrixJSONBody.response(.ok, [
                "access_token": result.accessToken, "refresh_token": result.refreshToken, "expires_in_ms": result.expiresInMilliseconds,
            ]))
        } catch {
            return .failure(.service(error))
        }
    }
}
