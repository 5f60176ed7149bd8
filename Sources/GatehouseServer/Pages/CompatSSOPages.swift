import GatehouseAuth
import GatehouseCore
import GatehouseStorage
import NIOHTTP1

/// `GET /_matrix/client/{version}/login/sso/redirect[/{idp}]?redirectUrl=…` (legacy SSO, MAS
/// `compat/login_sso_redirect.rs`): validates `redirectUrl`, stores a ``CompatSSOLogin`` and sends
/// the browser to `/complete-compat-sso/{id}` (with `action=register` when the client asked for
/// registration, MSC3824). Served by the `matrix-compat` service (its routes), answered with the
/// pages' error page when the URL is refused.
public struct CompatSSORedirectEndpoint: Sendable {
    let context: PagesContext

    /// Why a `redirectUrl` is refused; `nil` when it is usable. As MAS: it must parse, carry no user
    /// info, and an http(s) URL must have a host; stricter: no fragment (the login token goes into
    /// the query) and nothing outside printable ASCII.
    static func problem(with redirectURL: String) -> String? {
        guard case .success(let uri) = URIReference.parse(redirectURL) else { return "The redirectUrl is not a valid absolute URL." }
        if uri.hasUserInfo { return "The redirectUrl must not contain user information (user@host)." }
        if (uri.scheme == "http" || uri.scheme == "https") && (!uri.hasAuthority || uri.host.isEmpty) {
            return "An http(s) redirectUrl must name a host."
        }
        if uri.hasFragment { return "The redirectUrl must not contain a fragment (#)." }
        return nil
    }

    func respond(to request: LocalRequest) async -> LocalResponse {
        guard request.method == .GET || request.method == .HEAD else {
            return context.errorPage(.methodNotAllowed).localResponse(setCookie: nil)
        }
        let query = request.target.query.flatMap { FormURLEncoded.parse($0.utf8) } ?? []
        let redirectURL: String
        switch FormURLEncoded.single("redirectUrl", in: query) {
        case .absent: return context.errorPage(.invalidRedirectURL("Missing redirectUrl.")).localResponse(setCookie: nil)
        case .duplicate: return context.errorPage(.invalidRedirectURL("The redirectUrl is repeated.")).localResponse(setCookie: nil)
        case .value(let value): redirectURL = value
        }
        if let problem = Self.problem(with: redirectURL) {
            return context.errorPage(.invalidRedirectURL(problem)).localResponse(setCookie: nil)
        }
        let now = context.clock.now()
        let login = CompatSSOLogin(id: ULID.make(at: now, random: context.random), redirectURL: redirectURL, createdAt: now)
        do {
            try await context.repositories.compatSSOLogins.create(login)
        } catch {
            context.logger.error("sso redirect: store failed", metadata: ["error": "\(error)"])
            return context.errorPage(.internalError).localResponse(setCookie: nil)
        }
        // MSC3824: `action=register` (or its unstable name) asks for the registration page first.
        var action: [(String, String)] = []
        for name in ["action", "org.matrix.msc3824.action"] {
            if case .value(let value) = FormURLEncoded.single(name, in: query), value == "login" || value == "register" {
                action.append((name, value))
            }
        }
        return PageResponse.redirect(FormURLEncoded.appendingQuery(to: context.issuer + "complete-compat-sso/" + login.id, action))
            .localResponse(setCookie: nil)
    }
}

/// `GET|POST /complete-compat-sso/{id}`: names the redirect target and asks to confirm; consent
/// issues a single-use `m.login.token` valid 30 s and sends the browser to `redirectUrl?loginToken=…`.
extension PagesResponder {
    func completeCompatSSO(_ page: inout PageRequest, loginId: String) async throws(PageError) -> PageResponse {
        guard let login = try await context.storage("find sso login", { try await context.repositories.compatSSOLogins.find(id: loginId) }) else {
            throw .ssoLoginNotFound
        }
        guard login.fulfilledAt == nil else { throw .ssoLoginUsed }
        let now = context.clock.now()
        guard now.timeIntervalSince(login.createdAt) <= PagesContext.ssoLoginLifetime else { throw .ssoLoginExpired }
        guard page.session != nil, let user = page.user else {
            let wantsRegistration = page.query("action") == "register" || page.query("org.matrix.msc3824.action") == "register"
            return .redirect(Continuation.url(wantsRegistration && context.registrationEnabled ? "/register" : "/login", .compatSSOLogin(loginId)))
        }
        let host = (try? URIReference.parse(login.redirectURL).get()).map { $0.host.isEmpty ? $0.scheme + ":" : $0.host } ?? login.redirectURL
        guard page.isPost else {
            var response = PageResponse.page(.ok, context.render("sso_consent", [
                "action": "/complete-compat-sso/\(login.id)", "redirect_host": host, "redirect_url": login.redirectURL,
                "user_id": context.userId(user),
            ], csrf: page.csrf))
            if let source = PageResponse.cspSource(for: login.redirectURL) { response.formActionSources.append(source) }
            return response
        }
        switch page.field("action") {
        case "consent":
            let token = context.random.string(length: 32, alphabet: Alphabet.base62)
            let loginToken = CompatLoginToken(
                id: ULID.make(at: now, random: context.random), userId: user.id, tokenHash: TokenHasher.sha256Hex(token), createdAt: now,
                expiresAt: now.addingTimeInterval(PagesContext.ssoLoginTokenLifetime))
            do {
                try await context.repositories.compatSSOLogins.fulfil(id: login.id, userId: user.id, loginToken: loginToken, at: now)
            } catch let error as StorageError where error.isConflict {
                throw .ssoLoginUsed
            } catch {
                context.logger.error("sso: store failed", metadata: ["error": "\(error)"])
                throw .internalError
            }
            var response = PageResponse.redirect(FormURLEncoded.appendingQuery(to: login.redirectURL, [("loginToken", token)]))
            if let source = PageResponse.cspSource(for: login.redirectURL) { response.formActionSources.append(source) }
            return response
        case "reject":
            return .redirect("/account/")
        default:
            throw .badRequest("The form did not say whether to continue or cancel.")
        }
    }
}
