import GatehouseCore
import GatehouseIdentity
import GatehouseStorage
import NIOHTTP1

/// `GET|POST /register` (`prompt=create`; `account.password_registration_enabled`): creates the
/// account through ``AccountService`` (checked with Synapse's `is_localpart_available` and
/// provisioned there), signs the new user in and continues.
extension PagesResponder {
    func register(_ page: inout PageRequest) async throws(PageError) -> PageResponse {
        guard context.registrationEnabled, let accounts = context.accounts else { throw .registrationDisabled }
        let continuation = try continuationOfQuery(page)
        guard page.isPost else {
            return registerForm(page, continuation: continuation, status: .ok, error: nil, username: "")
        }
        let username = page.field("username") ?? ""
        let password = page.field("password") ?? ""
        func refuse(_ message: String, status: HTTPResponseStatus = .badRequest) -> PageResponse {
            registerForm(page, continuation: continuation, status: status, error: message, username: username)
        }
        if let problem = Localpart.validate(username, serverName: context.serverName) {
            return refuse("This username cannot be used: \(problem.description).")
        }
        guard password.count >= PagesContext.minimumPasswordLength else {
            return refuse("The password must have at least \(PagesContext.minimumPasswordLength) characters.")
        }
        guard page.field("password_confirm") == password else { return refuse("The two passwords differ.") }
        if context.branding.tosURI != nil, page.field("accept_terms") != "on" {
            return refuse("Accept the terms of service to create an account.")
        }
        if let retryAfter = context.registrationLimiter.check(page.clientAddress ?? "(no client address)").retryAfterMilliseconds {
            var response = refuse("Too many attempts. Wait a moment and try again.", status: .tooManyRequests)
            response.extraHeaders.append(("Retry-After", String((retryAfter + 999) / 1000)))
            return response
        }
        let user: User
        do {
            user = try await accounts.registerUser(username: username, password: password, admin: false, displayName: nil, emails: []).0
        } catch {
            if error.isUserExists || error.isTakenInSynapse { return refuse("This username is taken.") }
            if error.isInvalidUsername { return refuse("This username cannot be used.") }
            if error.isSynapseUnreachable { throw .unavailable }
            context.logger.error("register: failed", metadata: ["error": "\(error)"])
            throw .internalError
        }
        try await signIn(&page, user: user)
        return .redirect(continuation?.target ?? "/account/")
    }

    func registerForm(
        _ page: PageRequest, continuation: Continuation?, status: HTTPResponseStatus, error: String?, username: String
    ) -> PageResponse {
        var values: [String: Any] = [
            "action": Continuation.url("/register", continuation), "login_link": Continuation.url("/login", continuation),
            "username": username, "minimum_password_length": PagesContext.minimumPasswordLength,
        ]
        if let error { values["error"] = error }
        if let tos = context.branding.tosURI { values["tos_uri"] = tos }
        return .page(status, context.render("register", values, csrf: page.csrf))
    }
}
