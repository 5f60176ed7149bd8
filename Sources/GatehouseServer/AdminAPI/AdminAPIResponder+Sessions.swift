import GatehouseCore
import GatehouseIdentity
import GatehouseStorage

/// `/api/admin/v1/compat-sessions…`, `/oauth2-sessions…`, `/user-sessions…` and `/oauth2-clients…`.
/// An id of one kind never finds a session of another kind (404), and finishing goes through
/// ``AccountService/endSession(id:kinds:requestedBy:)``, the account page's way too: it deletes the
/// device in Synapse before answering, and its outcomes map to MAS's answers here (unknown: 404,
/// already finished: 400).
extension AdminAPIResponder {
    // MARK: Compat sessions

    /// GET /compat-sessions: `filter[user]`, `filter[status]` (`active`, `finished`).
    func listCompatSessions(_ request: LocalRequest) async throws(AdminAPIError) -> AdminJSON {
        let query = try AdminListQuery(request.target.query, allowedFilters: AdminEndpoint.listCompatSessions.filters)
        let filter = try await sessionFilter(query, clients: false)
        return try await list(
            query, path: AdminEndpoint.listCompatSessions.path, read: { try await store.adminListings.compatSessions(filter, page: $0) },
            count: { try await store.adminListings.countCompatSessions(filter) }, resource: AdminResource.compatSession)
    }

    func requireCompatSession(id: String) async throws(AdminAPIError) -> CompatSession {
        let id = try validID(id)
        guard let session = try await storage({ try await store.compatSessions.find(sessionId: id) }) else {
            throw .notFound("Compatibility session", id)
        }
        return session
    }

    /// POST /compat-sessions/{id}/finish: 400 when it already is (MAS), nothing changed.
    func finishCompatSession(id: String) async throws(AdminAPIError) -> AdminJSON {
        guard case .compat(let session) = try await endSession(id, kind: .compat) else { throw .internalError }
        return AdminResource.compatSession(session).document
    }

    // MARK: OAuth 2.0 sessions

    /// GET /oauth2-sessions: `filter[user]`, `filter[client]`, `filter[status]`.
    func listOAuth2Sessions(_ request: LocalRequest) async throws(AdminAPIError) -> AdminJSON {
        let query = try AdminListQuery(request.target.query, allowedFilters: AdminEndpoint.listOAuth2Sessions.filters)
        let filter = try await sessionFilter(query, clients: true)
        return try await list(
            query, path: AdminEndpoint.listOAuth2Sessions.path, read: { try await store.adminListings.oauth2Sessions(filter, page: $0) },
            count: { try await store.adminListings.countOAuth2Sessions(filter) }, resource: AdminResource.oauth2Session)
    }

    func requireOAuth2Session(id: String) async throws(AdminAPIError) -> OAuth2Session {
        let id = try validID(id)
        guard let session = try await storage({ try await store.oauth2Sessions.find(sessionId: id) }) else {
            throw .notFound("OAuth 2.0 session", id)
        }
        return session
    }

    /// POST /oauth2-sessions/{id}/finish
    func finishOAuth2Session(id: String) async throws(AdminAPIError) -> AdminJSON {
        guard case .oauth2(let session) = try await endSession(id, kind: .oauth2) else { throw .internalError }
        return AdminResource.oauth2Session(session).document
    }

    // MARK: User (browser) sessions

    /// GET /user-sessions: `filter[user]`, `filter[status]`.
    func listUserSessions(_ request: LocalRequest) async throws(AdminAPIError) -> AdminJSON {
        let query = try AdminListQuery(request.target.query, allowedFilters: AdminEndpoint.listUserSessions.filters)
        let filter = try await sessionFilter(query, clients: false)
        return try await list(
            query, path: AdminEndpoint.listUserSessions.path, read: { try await store.adminListings.browserSessions(filter, page: $0) },
            count: { try await store.adminListings.countBrowserSessions(filter) }, resource: AdminResource.userSession)
    }

    func requireUserSession(id: String) async throws(AdminAPIError) -> BrowserSession {
        let id = try validID(id)
        guard let (session, _) = try await storage({ try await store.browserSessions.find(id: id) }) else {
            throw .notFound("User session", id)
        }
        return session
    }

    /// POST /user-sessions/{id}/finish
    func finishUserSession(id: String) async throws(AdminAPIError) -> AdminJSON {
        guard case .browser(let session) = try await endSession(id, kind: .browser) else { throw .internalError }
        return AdminResource.userSession(session).document
    }

    // MARK: OAuth 2.0 clients

    /// GET /oauth2-clients: every client (static and dynamic), oldest first, paginated by id.
    func listOAuth2Clients(_ request: LocalRequest) async throws(AdminAPIError) -> AdminJSON {
        let query = try AdminListQuery(request.target.query, allowedFilters: AdminEndpoint.listOAuth2Clients.filters)
        // Clients are few (the admin's, and deduplicated dynamic registrations): read them all and
        // page in memory with the same cursor rules as the store.
        let all = try await storage { try await store.clients.list() }.sorted { $0.id < $1.id }
        let bounded = all.filter { client in
            (query.page.after.map { client.id > $0 } ?? true) && (query.page.before.map { client.id < $0 } ?? true)
        }
        let rows = query.page.direction == .forward ? Array(bounded.prefix(query.page.count + 1)) : Array(bounded.reversed().prefix(query.page.count + 1))
        return try await list(
            query, path: AdminEndpoint.listOAuth2Clients.path, read: { Page(reading: rows, for: $0) }, count: { all.count },
            resource: AdminResource.oauth2Client)
    }

    func requireClient(id: String) async throws(AdminAPIError) -> OAuth2Client {
        guard let client = try await storage({ try await store.clients.find(id: id) }) else { throw .notFound("OAuth 2.0 client", id) }
        return client
    }

    // MARK: Helpers

    /// Ends a session of one kind through the account service (tokens revoked, caches told, device
    /// deleted in Synapse or queued), mapping its outcomes to MAS's answers.
    /// - Returns: the session as it is now.
    private func endSession(_ id: String, kind: AccountService.EndableKind) async throws(AdminAPIError) -> AccountService.EndedSession {
        let id = try validID(id)
        let name =
            switch kind {
            case .compat: "Compatibility session"
            case .oauth2: "OAuth 2.0 session"
            case .browser: "User session"
            }
        do throws(AccountError) {
            return try await accounts.endSession(id: id, kinds: [kind], requestedBy: .administrator).0
        } catch where error.isSessionNotFound {
            throw .notFound(name, id)
        } catch where error.isSessionFinished {
            throw .alreadyFinished(name, id)
        } catch {
            throw .account(error)
        }
    }

    /// `filter[user]` (which must name a user: 404 otherwise, as in MAS), `filter[client]` (likewise)
    /// and `filter[status]`.
    private func sessionFilter(_ query: AdminListQuery, clients: Bool) async throws(AdminAPIError) -> SessionFilter {
        var filter = SessionFilter(status: try query.enumFilter("status", as: SessionFilter.Status.self))
        if let userId = try query.idFilter("user") {
            guard try await storage({ try await store.users.find(id: userId) }) != nil else { throw .notFound("User", userId) }
            filter.userId = userId
        }
        if clients, let clientId = try query.idFilter("client") {
            guard try await storage({ try await store.clients.find(id: clientId) }) != nil else { throw .notFound("OAuth 2.0 client", clientId) }
            filter.clientId = clientId
        }
        return filter
    }
}
