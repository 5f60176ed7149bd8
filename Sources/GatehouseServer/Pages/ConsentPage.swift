import GatehouseAuth
import GatehouseCore
import GatehouseIdentity
import GatehouseStorage

/// How the consent pages present a client.
struct ClientPresentation {
    var name: String
    var uri: String?
    var host: String
    /// Registered dynamically: nobody vouches for its name (OWASP ASVS 10.4.7).
    var unverified: Bool

    init(_ client: OAuth2Client) {
        let uri = client.metadata.clientURI[""] ?? client.metadata.clientURI.values.sorted().first
        let host = uri.flatMap { if case .success(let parsed) = URIReference.parse($0) { parsed.host } else { nil } }
        self.uri = uri
        self.host = host ?? client.id
        self.name = client.metadata.clientName[""] ?? client.metadata.clientName.values.sorted().first ?? host ?? client.id
        self.unverified = client.origin == .dynamic
    }

    /// The access a scope grants, in words.
    static func describe(_ scope: AuthorizationScope, userId: String) -> [String] {
        var lines: [String] = []
        if scope.requestsOpenID { lines.append("See your Matrix ID (\(userId))") }
        if scope.requestsEmail { lines.append("See your email address") }
        if scope.requestsClientAPI { lines.append("Read and send messages and use every feature of your Matrix account") }
        if scope.requestsAdmin { lines.append("Administer the server (Synapse admin API)") }
        if lines.isEmpty { lines.append("Know that you signed in (no access to your account)") }
        return lines
    }
}

/// `GET|POST /consent/{grant}`: the user allows or refuses an authorization grant.
extension PagesResponder {
    func consent(_ page: inout PageRequest, grantId: String) async throws(PageError) -> PageResponse {
        let continuation = Continuation.authorizationGrant(grantId)
        guard let grant = try await context.storage("find grant", { try await context.repositories.authorizationGrants.find(id: grantId) }) else {
            throw .grantNotFound
        }
        guard grant.fulfilledAt == nil, grant.cancelledAt == nil else { throw .grantAnswered }
        guard let session = page.session, let user = page.user else {
            return .redirect(Continuation.url("/login", continuation, extra: grant.loginHint.map { [("login_hint", $0)] } ?? []))
        }
        if page.cookie.freshLoginGrantId == grant.id, session.authenticatedAt < grant.createdAt {
            return .redirect(Continuation.url("/login", continuation))
        }
        guard let client = try await context.storage("find client", { try await context.repositories.clients.find(id: grant.clientId) }) else {
            throw .invalidAuthorizationRequest(AuthorizationRequest.TargetProblem.unknownClient.description)
        }
        let scope = AuthorizationScope.stored(grant.scope)
        if !scope.allows(administrator: user.isAdmin) { throw .adminScopeRefused }
        let target = AuthorizationRequest.Target(redirectURI: grant.redirectURI, responseMode: grant.responseMode)

        guard page.isPost else {
            let presentation = ClientPresentation(client)
            var values: [String: Any] = [
                "action": "/consent/\(grant.id)", "client_name": presentation.name, "client_host": presentation.host,
                "user_id": context.userId(user), "scopes": ClientPresentation.describe(scope, userId: context.userId(user)),
            ]
            if let uri = presentation.uri { values["client_uri"] = uri }
            if presentation.unverified { values["unverified"] = true }
            if let device = scope.deviceId { values["device_id"] = device }
            var response = PageResponse.page(.ok, context.render("consent", values, csrf: page.csrf))
            // The consent form is answered with a 303 to the client: the CSP must let the form go there.
            if let source = PageResponse.cspSource(for: grant.redirectURI) { response.formActionSources.append(source) }
            return response
        }

        let now = context.clock.now()
        switch page.field("action") {
        case "consent":
            // 32 alphanumeric characters (~190 bits), as MAS; only the hash is stored.
            let code = context.random.string(length: 32, alphabet: Alphabet.base62)
            do {
                try await context.repositories.authorizationGrants.fulfil(
                    id: grant.id, userId: user.id, browserSessionId: session.id, codeHash: TokenHasher.sha256Hex(code), at: now)
            } catch let error as StorageError where error.isConflict {
                throw .grantAnswered
            } catch {
                context.logger.error("consent: store failed", metadata: ["error": "\(error)"])
                throw .internalError
            }
            var parameters = [("code", code)]
            if let state = grant.state { parameters.append(("state", state)) }
            parameters.append(("iss", context.issuer))
            return authorizationResponse(target: target, parameters)
        case "reject":
            do {
                try await context.repositories.authorizationGrants.cancel(id: grant.id, at: now)
            } catch let error as StorageError where error.isConflict {
                throw .grantAnswered
            } catch {
                context.logger.error("consent: store failed", metadata: ["error": "\(error)"])
                throw .internalError
            }
            return authorizationError(AuthorizationError(.accessDenied, "The user declined"), target: target, state: grant.state)
        default:
            throw .badRequest("The form did not say whether to allow or cancel.")
        }
    }
}
