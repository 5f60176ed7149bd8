import GatehouseAuth
import GatehouseCore
import GatehouseIdentity
import GatehouseStorage

/// `GET /authorize` (RFC 6749 §4.1.1; MAS `oauth2/authorization`): validates the request, stores an
/// ``AuthorizationGrant`` and sends the browser to the login, registration or consent page.
///
/// An unknown client or a redirect URI that is not registered gets the error page and never a
/// redirect (RFC 9700 §4.11); every other error goes back to the client with `state` and `iss`.
extension PagesResponder {
    func authorize(_ page: inout PageRequest) async throws(PageError) -> PageResponse {
        var parameters: AuthorizationRequest.Parameters = []
        if let query = page.raw.target.query {
            guard let parsed = FormURLEncoded.parse(query.utf8) else {
                throw .invalidAuthorizationRequest("The request's parameters could not be read.")
            }
            parameters = parsed
        }
        let clientId: String
        switch AuthorizationRequest.clientId(parameters) {
        case .success(let id): clientId = id
        case .failure(let problem): throw .invalidAuthorizationRequest(problem.description)
        }
        guard let client = try await context.storage("find client", { try await context.repositories.clients.find(id: clientId) }) else {
            throw .invalidAuthorizationRequest(AuthorizationRequest.TargetProblem.unknownClient.description)
        }
        let target: AuthorizationRequest.Target
        switch AuthorizationRequest.target(parameters, client: client) {
        case .success(let resolved): target = resolved
        case .failure(let problem): throw .invalidAuthorizationRequest(problem.description)
        }
        // From here on, errors go back to the client, with `state` echoed byte for byte.
        let state: String? = if case .value(let value) = FormURLEncoded.single("state", in: parameters) { value } else { nil }
        let request: AuthorizationRequest
        switch AuthorizationRequest.validate(
            parameters, target: target, client: client, registrationEnabled: context.registrationEnabled, random: context.random)
        {
        case .success(let valid): request = valid
        case .failure(let error): return authorizationError(error, target: target, state: state)
        }
        if request.prompt.contains(.none) {
            // Consent is always asked, so nothing can be answered silently.
            let error = page.session == nil
                ? AuthorizationError(.loginRequired, "The user is not signed in")
                : AuthorizationError(.consentRequired, "The user must consent")
            return authorizationError(error, target: target, state: request.state)
        }
        let now = context.clock.now()
        let grant = AuthorizationGrant(
            id: ULID.make(at: now, random: context.random), clientId: client.id, redirectURI: target.redirectURI, scope: request.scope.text,
            state: request.state, nonce: request.nonce, codeChallenge: request.codeChallenge, responseMode: target.responseMode,
            loginHint: request.loginHint, createdAt: now)
        do {
            try await context.repositories.authorizationGrants.create(grant)
        } catch {
            context.logger.error("authorize: store failed", metadata: ["error": "\(error)"])
            return authorizationError(AuthorizationError(.serverError, "The request could not be stored"), target: target, state: request.state)
        }
        let continuation = Continuation.authorizationGrant(grant.id)
        if page.session == nil {
            if request.prompt.contains(.create) {
                return .redirect(Continuation.url("/register", continuation))
            }
            return .redirect(Continuation.url("/login", continuation, extra: request.loginHint.map { [("login_hint", $0)] } ?? []))
        }
        if request.prompt.contains(.login) {
            page.cookie.freshLoginGrantId = grant.id
            page.cookieChanged = true
            return .redirect(Continuation.url("/login", continuation))
        }
        return .redirect(continuation.target)
    }

    /// The error response at the client's redirect URI (RFC 6749 §4.1.2.1, RFC 9207 `iss`).
    func authorizationError(_ error: AuthorizationError, target: AuthorizationRequest.Target, state: String?) -> PageResponse {
        var parameters = [("error", error.code.rawValue), ("error_description", error.description)]
        if let state { parameters.append(("state", state)) }
        parameters.append(("iss", context.issuer))
        return authorizationResponse(target: target, parameters)
    }

    /// Delivers parameters to the client in its response mode: a 303 with a query or a fragment, or
    /// the form_post page (OAuth 2.0 Form Post Response Mode).
    func authorizationResponse(target: AuthorizationRequest.Target, _ parameters: [(String, String)]) -> PageResponse {
        var response: PageResponse
        switch target.responseMode {
        case .query:
            response = .redirect(FormURLEncoded.appendingQuery(to: target.redirectURI, parameters))
        case .fragment:
            response = .redirect(target.redirectURI + "#" + FormURLEncoded.encode(parameters))
        case .formPost:
            let fields = parameters.map { ["name": $0.0, "value": $0.1] }
            response = .page(.ok, context.render("form_post", ["redirect_uri": target.redirectURI, "fields": fields]))
            response.allowsScript = true
        }
        if let source = PageResponse.cspSource(for: target.redirectURI) { response.formActionSources.append(source) }
        return response
    }
}
