import GatehouseCore
import GatehouseIdentity
import GatehouseStorage
import NIOHTTP1

/// `GET|POST /login` and `POST /logout`.
extension PagesResponder {
    /// The login form, or straight on to the continuation when already signed in (unless the
    /// continuation needs a fresh password check: `prompt=login`).
    func getLogin(_ page: inout PageRequest) async throws(PageError) -> PageResponse {
        let continuation = try continuationOfQuery(page)
        if page.session != nil, !(try await needsFreshLogin(page, continuation)) {
            return .redirect(continuation?.target ?? "/account/")
        }
        return try await loginForm(page, continuation: continuation, status: .ok, error: nil, username: prefilledUsername(page))
    }

    /// Checks the password; on success starts (or refreshes) the browser session and continues.
    func postLogin(_ page: inout PageRequest) async throws(PageError) -> PageResponse {
        let continuation = try continuationOfQuery(page)
        let username = page.field("username") ?? ""
        func again(_ status: HTTPResponseStatus, _ message: String) async throws(PageError) -> PageResponse {
            try await loginForm(page, continuation: continuation, status: status, error: message, username: username)
        }
        guard !username.isEmpty, let password = page.field("password"), !password.isEmpty else {
            return try await again(.badRequest, "Enter your username and password.")
        }
        let user: User
        do {
            user = try await context.passwords.authenticate(name: username, password: password, clientAddress: page.clientAddress)
        } catch {
            switch error {
            case .invalidCredentials: return try await again(.unauthorized, "Invalid username or password.")
            case .userLocked: return try await again(.unauthorized, "This account is locked.")
            case .disabled: return try await again(.badRequest, "Password sign-in is disabled on this server.")
            case .rateLimited(let retryAfter):
                var response = try await again(.tooManyRequests, "Too many attempts. Wait a moment and try again.")
                response.extraHeaders.append(("Retry-After", String((retryAfter + 999) / 1000)))
                return response
            case .overloaded: return try await again(.serviceUnavailable, "The server is busy. Try again in a moment.")
            case .internalError: throw .internalError
            }
        }
        try await signIn(&page, user: user)
        return .redirect(continuation?.target ?? "/account/")
    }

    /// Signs `user` in: the same user's session records a fresh password check, anyone else gets a
    /// new browser session (the previous one ends). The cookie always gets a new CSRF secret.
    func signIn(_ page: inout PageRequest, user: User) async throws(PageError) {
        let now = context.clock.now()
        var contents = context.cookie.fresh(at: now)
        contents.freshLoginGrantId = page.cookie.freshLoginGrantId
        if let session = page.session, session.userId == user.id {
            try await context.storage("reauthenticate") {
                try await context.repositories.browserSessions.reauthenticate(id: session.id, at: now)
            }
            contents.sessionId = session.id
        } else {
            if let previous = page.session {
                _ = try await context.storage("finish browser session") {
                    try await context.repositories.browserSessions.finish(id: previous.id, at: now)
                }
            }
            let session = BrowserSession(
                id: ULID.make(at: now, random: context.random), userId: user.id, createdAt: now, authenticatedAt: now,
                userAgent: page.userAgent)
            try await context.storage("create browser session") { try await context.repositories.browserSessions.create(session) }
            contents.sessionId = session.id
            page.session = session
        }
        page.session?.authenticatedAt = now
        page.user = user
        page.replaceCookie(contents)
    }

    /// `POST /logout`: ends the browser session and forgets it (a fresh cookie, no session).
    func postLogout(_ page: inout PageRequest) async throws(PageError) -> PageResponse {
        let now = context.clock.now()
        if let session = page.session {
            _ = try await context.storage("finish browser session") {
                try await context.repositories.browserSessions.finish(id: session.id, at: now)
            }
        }
        page.session = nil
        page.user = nil
        page.replaceCookie(context.cookie.fresh(at: now))
        return .redirect("/login")
    }

    // MARK: Helpers

    func continuationOfQuery(_ page: PageRequest) throws(PageError) -> Continuation? {
        if page.query("kind") == nil && page.query("id") == nil { return nil }
        guard let continuation = Continuation(query: page.query) else {
            throw .badRequest("The link you followed is not valid (kind and id).")
        }
        return continuation
    }

    /// Whether the continuation is an authorization grant that asked for `prompt=login` and has had
    /// no password check since it was created.
    func needsFreshLogin(_ page: PageRequest, _ continuation: Continuation?) async throws(PageError) -> Bool {
        guard case .authorizationGrant(let id) = continuation, page.cookie.freshLoginGrantId == id, let session = page.session else {
            return false
        }
        guard let grant = try await context.storage("find grant", { try await context.repositories.authorizationGrants.find(id: id) }) else {
            return false
        }
        return session.authenticatedAt < grant.createdAt
    }

    /// The username of `login_hint=mxid:@user:server` when it names this server.
    func prefilledUsername(_ page: PageRequest) -> String {
        guard let hint = page.query("login_hint"), hint.hasPrefix("mxid:") else { return "" }
        return Localpart.from(String(hint.dropFirst(5)), serverName: context.serverName).flatMap { $0.hasPrefix("@") ? nil : $0 } ?? ""
    }

    func loginForm(
        _ page: PageRequest, continuation: Continuation?, status: HTTPResponseStatus, error: String?, username: String
    ) async throws(PageError) -> PageResponse {
        var clientName: String?
        if case .authorizationGrant(let id) = continuation,
            let grant = try await context.storage("find grant", { try await context.repositories.authorizationGrants.find(id: id) }),
            let client = try await context.storage("find client", { try await context.repositories.clients.find(id: grant.clientId) })
        {
            clientName = ClientPresentation(client).name
        }
        let values = Self.loginValues(
            context, continuation: continuation, error: error, username: username, reauth: page.session != nil, clientName: clientName)
        return .page(status, context.render("login", values, csrf: page.csrf))
    }

    /// The values of the login template.
    static func loginValues(
        _ context: PagesContext, continuation: Continuation?, error: String?, username: String, reauth: Bool, clientName: String?
    ) -> [String: Any] {
        var values: [String: Any] = ["action": Continuation.url("/login", continuation)]
        // Absent rather than "": Mustache sections treat an empty string as true, and the template
        // puts the focus on the password field only when a username is filled in.
        if !username.isEmpty { values["username"] = username }
        if let error { values["error"] = error }
        if reauth { values["reauth"] = true }
        if context.registrationEnabled { values["register_link"] = Continuation.url("/register", continuation) }
        if let clientName { values["client_name"] = clientName }
        return values
    }
}
