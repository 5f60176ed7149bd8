import GatehouseAuth
import GatehouseCore
import GatehouseStorage
import NIOHTTP1

/// The `pages` local service: Gatehouse's HTML pages and `GET /authorize`.
///
/// Every answer carries the security headers of ``PageResponse``. Each request opens the session
/// cookie (an invalid one counts as none), loads the signed-in browser session, and for a POST
/// checks the form's `csrf` field against the cookie before any handler runs.
struct PagesResponder: LocalResponder {
    let context: PagesContext
    /// The login page of an anonymous visitor, rendered once (only its CSRF token varies).
    let anonymousLogin: PrerenderedPage

    init(context: PagesContext) {
        self.context = context
        anonymousLogin = PrerenderedPage { csrf in
            let values = Self.loginValues(context, continuation: nil, error: nil, username: "", reauth: false, clientName: nil)
            return context.render("login", values, csrf: csrf)
        }
    }

    /// Assets, and the anonymous login page (the most viewed page) on the event loop: no session to
    /// look up, so no task hop.
    func immediateResponse(to request: LocalRequest) -> LocalResponse? {
        let path = request.target.canonicalPath
        if path.hasPrefix("/assets/") { return PageAssets.respond(to: request) }
        guard path == "/login", request.method == .GET || request.method == .HEAD, request.target.query == nil else { return nil }
        let now = context.clock.now()
        var contents: SessionCookieContents
        var changed = false
        if let value = SessionCookie.value(in: request.headers["cookie"]), let opened = context.cookie.open(value, now: now) {
            // A signed-in visitor's session must be looked up: the asynchronous path.
            guard opened.sessionId == nil else { return nil }
            contents = opened
        } else {
            contents = context.cookie.fresh(at: now)
            changed = true
        }
        let html = anonymousLogin.render(csrf: SessionCookie.csrfToken(for: contents))
        return PageResponse.page(.ok, html).localResponse(setCookie: changed ? context.cookie.setCookie(contents) : nil)
    }

    func respond(to request: LocalRequest) async -> LocalResponse {
        if let response = immediateResponse(to: request) { return response }
        var page = await prepare(request)
        let response: PageResponse
        do {
            response = try await route(&page)
        } catch {
            response = context.errorPage(error)
        }
        return response.localResponse(setCookie: page.cookieChanged ? context.cookie.setCookie(page.cookie) : nil)
    }

    /// Opens the cookie and finds the browser session.
    private func prepare(_ request: LocalRequest) async -> PageRequest {
        let now = context.clock.now()
        let query = request.target.query.flatMap { FormURLEncoded.parse($0.utf8) } ?? []
        let opened = SessionCookie.value(in: request.headers["cookie"]).flatMap { context.cookie.open($0, now: now) }
        var page = PageRequest(
            raw: request, query: query, cookie: opened ?? context.cookie.fresh(at: now), hadCookie: opened != nil, cookieChanged: opened == nil,
            clientAddress: ClientAddress.resolve(
                peer: request.peerAddress, forwardedFor: request.headers["x-forwarded-for"], trustedProxies: context.trustedProxies))
        if let sessionId = page.cookie.sessionId {
            let found: (BrowserSession, User)?
            do {
                found = try await context.repositories.browserSessions.find(id: sessionId)
            } catch {
                // The visitor continues as signed out; the store's failure is the admin's to see.
                context.logger.error("pages: store failed", metadata: ["operation": "find browser session", "error": "\(error)"])
                found = nil
            }
            if let (session, user) = found, session.finishedAt == nil, user.isActive {
                page.session = session
                page.user = user
                context.activity?.record(.browser, sessionId: session.id, at: now, address: page.clientAddress)
            } else {
                // Signed out elsewhere, ended by an admin, user locked: the cookie no longer signs in.
                page.cookie.sessionId = nil
                page.cookieChanged = true
            }
        }
        return page
    }

    private func route(_ page: inout PageRequest) async throws(PageError) -> PageResponse {
        let method = page.raw.method
        guard method == .GET || method == .HEAD || method == .POST else { throw .methodNotAllowed }
        if method == .POST {
            try checkForm(&page)
        }
        let segments = page.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        switch (segments.first ?? "", segments.count) {
        case ("login", 1): return page.isPost ? try await postLogin(&page) : try await getLogin(&page)
        case ("logout", 1):
            guard page.isPost else { throw .methodNotAllowed }
            return try await postLogout(&page)
        case ("account", _): return try await account(&page, Array(segments.dropFirst()))
        case ("authorize", 1):
            guard !page.isPost else { throw .methodNotAllowed }
            return try await authorize(&page)
        case ("consent", 2): return try await consent(&page, grantId: segments[1])
        case ("register", 1): return try await register(&page)
        case ("link", 1): return try await link(&page)
        case ("device", 2): return try await deviceConsent(&page, grantId: segments[1])
        case ("complete-compat-sso", 2): return try await completeCompatSSO(&page, loginId: segments[1])
        default: throw .notFound
        }
    }

    /// Parses a POST's form and checks its CSRF token (403 without a cookie or with a wrong token).
    private func checkForm(_ page: inout PageRequest) throws(PageError) {
        if let type = page.raw.headers.first(name: "content-type"),
            !type.lowercased().hasPrefix("application/x-www-form-urlencoded")
        {
            throw .badRequest("Forms must be sent as application/x-www-form-urlencoded.")
        }
        guard let form = FormURLEncoded.parse(page.raw.body.readableBytesView) else {
            throw .badRequest("The form could not be read.")
        }
        page.form = form
        guard page.hadCookie, SessionCookie.csrfMatches(page.field("csrf"), page.cookie) else { throw .csrf }
    }
}
