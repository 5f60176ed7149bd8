#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseCore
import GatehouseIdentity
import GatehouseStorage
import NIOHTTP1

/// The account page at `account_management_uri` (`/account/`) and its MSC4191 deep links.
///
/// | path | GET | POST |
/// |---|---|---|
/// | `/account/` | profile and links; `?action=…` deep links | — |
/// | `/account/profile` | — | display name (Synapse `set_displayname`) |
/// | `/account/sessions` | every active session | — |
/// | `/account/sessions/end-others` | — | sign out everywhere else |
/// | `/account/sessions/{id}` | one session | rename its device |
/// | `/account/sessions/{id}/end` | confirmation | end it, delete its device |
/// | `/account/password` | form | change the password |
/// | `/account/cross-signing-reset` | confirmation | Synapse `allow_cross_signing_reset` |
///
/// Every change goes through ``AccountService`` (the admin API's service too); a session named in a
/// path is looked up among the signed-in user's own sessions only. Without a browser session every
/// page goes through the login page and back (a deep link keeps its action).
extension PagesResponder {
    func account(_ page: inout PageRequest, _ path: [String]) async throws(PageError) -> PageResponse {
        if page.path == "/account" {
            return .redirect(page.raw.target.query.map { "/account/?\($0)" } ?? "/account/")
        }
        guard let user = page.user, let session = page.session else { return .redirect(loginLink(page, path)) }
        guard let accounts = context.accounts else { throw .unavailable }
        let screen = AccountScreen(context: context, accounts: accounts, page: page, user: user, browserSession: session)
        switch (path.first ?? "", path.count, page.isPost) {
        case ("", 0, false): return try await screen.deepLinkOrOverview()
        case ("profile", 1, true): return try await screen.saveProfile()
        case ("sessions", 1, false): return try await screen.sessions()
        case ("sessions", 2, true) where path[1] == "end-others": return try await screen.endOthers()
        case ("sessions", 2, false): return try await screen.session(path[1])
        case ("sessions", 2, true): return try await screen.rename(path[1])
        case ("sessions", 3, false) where path[2] == "end": return try await screen.confirmEnd(path[1])
        case ("sessions", 3, true) where path[2] == "end": return try await screen.end(path[1])
        case ("password", 1, false): return screen.passwordForm(status: .ok, error: nil)
        case ("password", 1, true): return try await screen.changePassword(&page)
        case ("cross-signing-reset", 1, false): return screen.crossSigningForm()
        case ("cross-signing-reset", 1, true): return try await screen.allowCrossSigningReset()
        case ("profile", 1, false), ("sessions", 2, _), ("sessions", 3, _), ("password", 1, _), ("cross-signing-reset", 1, _):
            throw .methodNotAllowed
        default: throw .notFound
        }
    }

    /// The login page, continuing to this account page (a deep link keeps its action and device;
    /// the login page's default is the account page itself).
    private func loginLink(_ page: PageRequest, _ path: [String]) -> String {
        let action: String?
        switch path {
        case []: action = page.query("action")
        case ["sessions"]: action = "org.matrix.devices_list"
        case ["cross-signing-reset"]: action = "org.matrix.cross_signing_reset"
        default: action = nil
        }
        guard let action else { return "/login" }
        return Continuation.url("/login", .manageAccount(action: action, deviceId: path.isEmpty ? page.query("device_id") : nil))
    }
}

/// One signed-in request to the account pages: the user, the service, and the page builders.
struct AccountScreen {
    let context: PagesContext
    let accounts: AccountService
    let page: PageRequest
    let user: User
    let browserSession: BrowserSession

    /// The success notices a redirect may ask for (`?notice=…`): fixed texts, never echoed input.
    static let notices = [
        "profile-saved": "Your display name was saved.",
        "password-changed": "Your password was changed.",
        "password-changed-others-ended": "Your password was changed and every other session was signed out.",
        "session-ended": "The session was signed out and its device removed.",
        "others-ended": "Every other session was signed out.",
        "renamed": "The device was renamed.",
    ]

    // MARK: Overview and deep links

    /// `GET /account/[?action=…]`.
    func deepLinkOrOverview() async throws(PageError) -> PageResponse {
        guard let name = page.query("action") else { return try await overview() }
        switch AccountAction.parse(action: name, deviceId: page.query("device_id")) {
        case .unknown, .action(.profile): return try await overview()
        case .missingDeviceId: throw .badRequest("The link names no device (device_id is missing).")
        case .action(.devicesList): return .redirect("/account/sessions")
        case .action(.crossSigningReset): return .redirect("/account/cross-signing-reset")
        case .action(.deviceView(let deviceId)):
            return .redirect("/account/sessions/\(try await session(deviceId: deviceId).id)")
        case .action(.deviceDelete(let deviceId)):
            return .redirect("/account/sessions/\(try await session(deviceId: deviceId).id)/end")
        }
    }

    func overview(status: HTTPResponseStatus = .ok, error: String? = nil, displayName typed: String? = nil) async throws(PageError) -> PageResponse {
        var values = common(current: "profile")
        if let typed {
            values["display_name"] = typed
        } else {
            do {
                if let name = try await accounts.profile(userId: user.id)?.displayName { values["display_name"] = name }
            } catch {
                values["profile_unavailable"] = true
            }
        }
        if let error { values["error"] = error }
        return .page(status, context.render("account", values, csrf: page.csrf))
    }

    /// `POST /account/profile`.
    func saveProfile() async throws(PageError) -> PageResponse {
        let typed = page.field("displayname") ?? ""
        do {
            try await accounts.setDisplayName(userId: user.id, to: typed)
        } catch {
            if error.isInvalidDisplayName { return try await overview(status: .badRequest, error: "Display name: \(error)", displayName: typed) }
            throw map(error)
        }
        return .redirect("/account/?notice=profile-saved")
    }

    // MARK: Sessions

    /// `GET /account/sessions`.
    func sessions() async throws(PageError) -> PageResponse {
        let listed = try await call { () async throws(AccountError) in try await accounts.activeSessions(userId: user.id) }
        var values = common(current: "sessions")
        var clients: [String: String] = [:]
        var devices: [[String: Any]] = []
        for summary in listed.sessions { devices.append(try await describe(summary, clients: &clients)) }
        values["sessions"] = devices
        values["browsers"] = listed.browserSessions.map(describe)
        values["has_others"] = !listed.sessions.isEmpty || listed.browserSessions.contains { $0.id != browserSession.id }
        return .page(.ok, context.render("account_sessions", values, csrf: page.csrf))
    }

    /// `GET /account/sessions/{id}`. One of the user's own sessions that ended answers as its
    /// sign-out does (400 "already ended"); another user's, as an unknown id (404).
    func session(_ id: String, status: HTTPResponseStatus = .ok, error: String? = nil, typedName: String? = nil) async throws(PageError) -> PageResponse {
        var values = common(current: "sessions")
        var described: [String: Any]
        switch try await call({ () async throws(AccountError) in try await accounts.activeSession(id: id, userId: user.id) }) {
        case .device(let summary):
            var clients: [String: String] = [:]
            described = try await describe(summary, clients: &clients)
            if summary.deviceId != nil { described["renamable"] = true }
        case .browser(let browser):
            described = describe(browser)
        }
        if let typedName { described["display_name"] = typedName }
        values.merge(described) { _, new in new }
        if let error { values["error"] = error }
        return .page(status, context.render("account_session", values, csrf: page.csrf))
    }

    /// `POST /account/sessions/{id}`: renames the session's device.
    func rename(_ id: String) async throws(PageError) -> PageResponse {
        let typed = page.field("name") ?? ""
        do {
            try await accounts.renameSession(id: id, userId: user.id, to: typed)
        } catch {
            if error.isInvalidDisplayName { return try await session(id, status: .badRequest, error: "Device name: \(error)", typedName: typed) }
            throw map(error)
        }
        return .redirect("/account/sessions/\(id)?notice=renamed")
    }

    /// `GET /account/sessions/{id}/end`: the confirmation (the target of `org.matrix.device_delete`),
    /// with the same answers as the view for an ended or a foreign session.
    func confirmEnd(_ id: String) async throws(PageError) -> PageResponse {
        var values = common(current: "sessions")
        switch try await call({ () async throws(AccountError) in try await accounts.activeSession(id: id, userId: user.id) }) {
        case .device(let summary):
            var clients: [String: String] = [:]
            values.merge(try await describe(summary, clients: &clients)) { _, new in new }
        case .browser(let browser):
            // This browser signs out with the sign-out button, which also forgets the cookie.
            guard browser.id != browserSession.id else { return .redirect("/account/sessions/\(id)") }
            values.merge(describe(browser)) { _, new in new }
        }
        return .page(.ok, context.render("account_session_end", values, csrf: page.csrf))
    }

    /// `POST /account/sessions/{id}/end`: ends the session through the admin API's path
    /// (``AccountService/endSession(id:kinds:requestedBy:)``, as this user); its device is deleted in
    /// Synapse before the answer, and an error page says so when Synapse did not confirm. Another
    /// user's session answers as an unknown one (404); one of the user's own that already ended, 400.
    func end(_ id: String) async throws(PageError) -> PageResponse {
        guard id != browserSession.id else { throw .badRequest("Use the sign-out button to sign out of this browser.") }
        let (_, outcome) = try await call { () async throws(AccountError) in
            try await accounts.endSession(id: id, requestedBy: .user(id: user.id))
        }
        if case .queued = outcome { throw .deviceRemovalUnconfirmed }
        return .redirect("/account/sessions?notice=session-ended")
    }

    /// `POST /account/sessions/end-others`.
    func endOthers() async throws(PageError) -> PageResponse {
        let (_, outcome) = try await call { () async throws(AccountError) in
            try await accounts.endOtherSessions(userId: user.id, keepingBrowserSession: browserSession.id)
        }
        if case .queued = outcome { throw .deviceRemovalUnconfirmed }
        return .redirect("/account/sessions?notice=others-ended")
    }

    // MARK: Password

    func passwordForm(status: HTTPResponseStatus, error: String?) -> PageResponse {
        var values = common(current: "password")
        values["minimum_password_length"] = PagesContext.minimumPasswordLength
        if let error { values["error"] = error }
        return .page(status, context.render("account_password", values, csrf: page.csrf))
    }

    /// `POST /account/password`: the current password is checked as a login is (same rate limits).
    func changePassword(_ request: inout PageRequest) async throws(PageError) -> PageResponse {
        let current = page.field("current_password") ?? ""
        let new = page.field("new_password") ?? ""
        guard !current.isEmpty, !new.isEmpty else { return passwordForm(status: .badRequest, error: "Enter your current and your new password.") }
        guard new == page.field("new_password_confirm") else { return passwordForm(status: .badRequest, error: "The new passwords do not match.") }
        guard new.count >= PagesContext.minimumPasswordLength else {
            return passwordForm(status: .badRequest, error: "The new password must have at least \(PagesContext.minimumPasswordLength) characters.")
        }
        do {
            let checked = try await context.passwords.authenticate(name: user.username, password: current, clientAddress: page.clientAddress)
            guard checked.id == user.id else { return passwordForm(status: .unauthorized, error: "The current password is wrong.") }
        } catch {
            switch error {
            case .invalidCredentials: return passwordForm(status: .unauthorized, error: "The current password is wrong.")
            case .userLocked: return passwordForm(status: .unauthorized, error: "This account is locked.")
            case .disabled: return passwordForm(status: .badRequest, error: "Passwords are disabled on this server.")
            case .rateLimited(let retryAfter):
                var response = passwordForm(status: .tooManyRequests, error: "Too many attempts. Wait a moment and try again.")
                response.extraHeaders.append(("Retry-After", String((retryAfter + 999) / 1000)))
                return response
            case .overloaded: return passwordForm(status: .serviceUnavailable, error: "The server is busy. Try again in a moment.")
            case .internalError: throw .internalError
            }
        }
        let endOthers = page.field("end_others") == "on"
        let outcome: AccountService.SynapseOutcome
        do {
            outcome = try await accounts.changePassword(
                userId: user.id, to: new, minimumLength: PagesContext.minimumPasswordLength, endingOtherSessions: endOthers,
                keepingBrowserSession: browserSession.id)
        } catch {
            if error.isInvalidPassword { return passwordForm(status: .badRequest, error: "New password: \(error)") }
            throw map(error)
        }
        if case .queued = outcome { throw .deviceRemovalUnconfirmed }
        // A new CSRF secret: forms rendered before the change stop working (ASVS 3.3.1's spirit).
        var contents = context.cookie.fresh(at: context.clock.now(), sessionId: browserSession.id)
        contents.freshLoginGrantId = request.cookie.freshLoginGrantId
        request.replaceCookie(contents)
        return .redirect(endOthers ? "/account/?notice=password-changed-others-ended" : "/account/?notice=password-changed")
    }

    // MARK: Cross-signing reset

    func crossSigningForm() -> PageResponse {
        .page(.ok, context.render("account_cross_signing", common(current: "profile"), csrf: page.csrf))
    }

    /// `POST /account/cross-signing-reset`: Synapse's `allow_cross_signing_reset`.
    func allowCrossSigningReset() async throws(PageError) -> PageResponse {
        try await call { () async throws(AccountError) in try await accounts.allowCrossSigningReset(userId: user.id) }
        var values = common(current: "profile")
        values["title"] = "Identity reset allowed"
        values["message"] = "Go back to your Matrix client and finish the reset there within 10 minutes. After that, start again here."
        return .page(.ok, context.render("account_done", values, csrf: page.csrf))
    }

    // MARK: Helpers

    /// The values every account page has: the user, the navigation, a notice.
    private func common(current: String) -> [String: Any] {
        var values: [String: Any] = ["user_id": context.userId(user), "nav_\(current)": true]
        if let key = page.query("notice"), let notice = Self.notices[key] { values["notice"] = notice }
        return values
    }

    private func session(deviceId: String) async throws(PageError) -> SessionSummary {
        try await call { () async throws(AccountError) in try await accounts.activeSession(deviceId: deviceId, userId: user.id) }
    }

    /// A compat or OAuth 2.0 session for the templates.
    private func describe(_ summary: SessionSummary, clients: inout [String: String]) async throws(PageError) -> [String: Any] {
        var values: [String: Any] = ["id": summary.id, "created": Self.time(summary.createdAt), "created_iso": Self.iso(summary.createdAt)]
        var clientName: String?
        if let clientId = summary.clientId {
            if let known = clients[clientId] {
                clientName = known
            } else {
                let client = try await context.storage("find client") { try await context.repositories.clients.find(id: clientId) }
                clientName = client.map { ClientPresentation($0).name } ?? clientId
                clients[clientId] = clientName
            }
        }
        switch summary.kind {
        case .compat: values["kind"] = "App signed in with a password (legacy login)"
        case .oauth2: values["kind"] = "App signed in through this page (OAuth 2.0)"
        }
        if let clientName { values["client_name"] = clientName }
        if let deviceId = summary.deviceId { values["device_id"] = deviceId }
        if let name = summary.displayName { values["display_name"] = name }
        values["name"] = summary.displayName ?? clientName ?? summary.deviceId.map { "Device \($0)" } ?? "Session"
        addActivity(&values, id: summary.id, at: summary.lastActiveAt, address: summary.lastActiveAddress)
        return values
    }

    /// A browser session for the templates.
    private func describe(_ browser: BrowserSession) -> [String: Any] {
        var values: [String: Any] = [
            "id": browser.id, "kind": "Browser signed in to this page", "created": Self.time(browser.createdAt),
            "created_iso": Self.iso(browser.createdAt), "name": browser.userAgent.map(Self.browserName) ?? "Browser",
        ]
        if let agent = browser.userAgent { values["user_agent"] = agent }
        if browser.id == browserSession.id { values["current"] = true }
        addActivity(&values, id: browser.id, at: browser.lastActiveAt, address: browser.lastActiveAddress)
        return values
    }

    /// The last use, from the store or, newer, from the recorder that has not flushed yet.
    private func addActivity(_ values: inout [String: Any], id: String, at stored: Date?, address storedAddress: String?) {
        var at = stored
        var address = storedAddress
        if let pending = context.activity?.pending(sessionId: id), pending.lastActiveAt > (stored ?? .distantPast) {
            at = pending.lastActiveAt
            address = pending.address ?? address
        }
        if let at {
            values["last_active"] = Self.time(at)
            values["last_active_iso"] = Self.iso(at)
        }
        if let address { values["last_address"] = address }
    }

    /// A short name for a browser from its `User-Agent`.
    static func browserName(_ agent: String) -> String {
        for (token, name) in [("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari")] where agent.contains(token) {
            return name
        }
        return "Browser"
    }

    static func iso(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    /// `2026-11-30 18:06 UTC`.
    static func time(_ date: Date) -> String {
        let iso = date.formatted(.iso8601)
        return String(iso.prefix(10)) + " " + String(iso.dropFirst(11).prefix(5)) + " UTC"
    }

    private func call<T>(_ body: () async throws(AccountError) -> T) async throws(PageError) -> T {
        do {
            return try await body()
        } catch {
            throw map(error)
        }
    }

    /// The one mapping from the account service's errors to the pages'.
    private func map(_ error: AccountError) -> PageError {
        if error.isSessionNotFound { return .sessionNotFound }
        if error.isSessionFinished { return .sessionAlreadyEnded }
        if error.isDeviceNotFound { return .deviceNotFound(page.query("device_id") ?? "") }
        if error.isSynapseUnreachable { return .homeserverUnavailable }
        if error.isSynapseRefused {
            context.logger.warning("account: Synapse refused a change", metadata: ["user": "\(user.username)", "error": "\(error)"])
            return .homeserverRefused
        }
        if error.isInvalidDisplayName || error.isInvalidPassword { return .badRequest("\(error)") }
        if error.isPasswordsDisabled { return .badRequest("Passwords are disabled on this server.") }
        context.logger.error("account: operation failed", metadata: ["user": "\(user.username)", "error": "\(error)"])
        return .internalError
    }
}
