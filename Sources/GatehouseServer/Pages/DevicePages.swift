#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseCore
import GatehouseIdentity
import GatehouseStorage
import NIOHTTP1

/// The user's side of the device authorization grant (RFC 8628 §3.3): `GET|POST /link` takes the
/// user code, `GET|POST /device/{grant}` asks for consent and records the decision.
extension PagesResponder {
    /// `GET|POST /link[?code=…]`: the code is matched however it is typed (``UserCode/normalized(_:)``);
    /// guesses are rate-limited per client address.
    func link(_ page: inout PageRequest) async throws(PageError) -> PageResponse {
        guard page.isPost else {
            return linkForm(page, status: .ok, error: nil, code: page.query("code") ?? "")
        }
        let typed = page.field("code") ?? ""
        guard !typed.trimmingCharacters(in: .whitespaces).isEmpty else {
            return linkForm(page, status: .badRequest, error: "Enter the code shown on your device.", code: typed)
        }
        if let retryAfter = context.userCodeLimiter.check(page.clientAddress ?? "(no client address)").retryAfterMilliseconds {
            var response = linkForm(page, status: .tooManyRequests, error: "Too many attempts. Wait a moment and try again.", code: typed)
            response.extraHeaders.append(("Retry-After", String((retryAfter + 999) / 1000)))
            return response
        }
        // However it is typed (case, dash, spaces); text that cannot be a code is not looked up.
        var found: DeviceCodeGrant?
        if let code = UserCode.normalized(typed) {
            found = try await context.storage("find device grant") { try await context.repositories.deviceGrants.findPending(userCode: code) }
        }
        guard let grant = found, grant.expiresAt > context.clock.now() else {
            return linkForm(page, status: .badRequest, error: "This code is not valid or has expired. Check it on your device.", code: typed)
        }
        return .redirect("/device/\(grant.id)")
    }

    func linkForm(_ page: PageRequest, status: HTTPResponseStatus, error: String?, code: String) -> PageResponse {
        var values: [String: Any] = ["code": code]
        if let error { values["error"] = error }
        return .page(status, context.render("link", values, csrf: page.csrf))
    }

    /// `GET|POST /device/{grant}`: consent for a pending device grant; after the decision, a page
    /// telling the user to go back to the device.
    func deviceConsent(_ page: inout PageRequest, grantId: String) async throws(PageError) -> PageResponse {
        guard let grant = try await context.storage("find device grant", { try await context.repositories.deviceGrants.find(id: grantId) }) else {
            throw .grantNotFound
        }
        guard let session = page.session, let user = page.user else {
            return .redirect(Continuation.url("/login", .deviceGrant(grantId)))
        }
        let now = context.clock.now()
        switch grant.status {
        case .pending:
            guard grant.expiresAt > now else { throw .deviceCodeExpired }
        case .approved, .exchanged:
            guard !page.isPost, grant.userId == user.id else { throw .grantAnswered }
            return .page(.ok, context.render("device_done", [
                "title": "Device allowed", "message": "You can now continue on your device.",
            ]))
        case .rejected:
            guard !page.isPost, grant.userId == user.id else { throw .grantAnswered }
            return .page(.ok, context.render("device_done", [
                "title": "Access denied", "message": "The device was not allowed to access your account.",
            ]))
        }
        guard let client = try await context.storage("find client", { try await context.repositories.clients.find(id: grant.clientId) }) else {
            throw .grantNotFound
        }
        let scope = AuthorizationScope.stored(grant.scope)
        if !scope.allows(administrator: user.isAdmin) { throw .adminScopeRefused }

        guard page.isPost else {
            let presentation = ClientPresentation(client)
            var values: [String: Any] = [
                "action": "/device/\(grant.id)", "client_name": presentation.name, "user_code": grant.userCode,
                "user_id": context.userId(user), "scopes": ClientPresentation.describe(scope, userId: context.userId(user)),
            ]
            if let uri = presentation.uri { values["client_uri"] = uri }
            if presentation.unverified { values["unverified"] = true }
            if let device = scope.deviceId { values["device_id"] = device }
            return .page(.ok, context.render("device_consent", values, csrf: page.csrf))
        }
        let approved: Bool
        switch page.field("action") {
        case "consent": approved = true
        case "reject": approved = false
        default: throw .badRequest("The form did not say whether to allow or deny.")
        }
        do {
            try await context.repositories.deviceGrants.decide(
                id: grant.id, approved: approved, userId: user.id, browserSessionId: session.id, at: now)
        } catch let error as StorageError where error.isConflict {
            throw .grantAnswered
        } catch {
            context.logger.error("device consent: store failed", metadata: ["error": "\(error)"])
            throw .internalError
        }
        return .redirect("/device/\(grant.id)")
    }
}
