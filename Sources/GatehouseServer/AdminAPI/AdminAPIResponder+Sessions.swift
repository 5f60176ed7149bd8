import GatehouseCore
import GatehouseIdentity
import GatehouseStorage

/// `/api/admin/v1/compat-sessions…`, `/oauth2-sessions…`, `/user-sessions…` and `/oauth2-clients…`.
/// An id of one kind never finds a session of another kind (404), and finishing goes through
/// ``AccountService``, which deletes the device in Synapse before answering, as every other way of
/// ending a session does.
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
        let session = try await requireCompatSession(id: id)
        if session.finishedAt != nil { throw .alreadyFinished("Compatibility session", session.id) }
        try await endSession(session.id, kind: "Compatibility session")
        return AdminResource.compatSession(try await requireCompatSession(id: session.id)).document
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
        let session = try await requireOAuth2Session(id: id)
        if session.finishedAt != nil { throw .alreadyFinished("OAuth 2.0 session", session.id) }
        try await endSession(session.id, kind: "OAuth 2.0 session")
        return AdminResource.oauth2Session(try await requireOAuth2Session(id: session.id)).document
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
        let session = try await requireUserSession(id: id)
        if session.finishedAt != nil { throw .alreadyFinished("User session", session.id) }
        do throws(AccountError) {
            return AdminResource.userSession(try await accounts.endBrowserSession(id: session.id)).document
        } catch where error.isSessionFinished {
            throw .alreadyFinished("User session", session.id)
        } catch {
            throw .account(error)
        }
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

    /// Ends a compat or OAuth 2.0 session through the account service (tokens revoked, caches told,
    /// device deleted in Synapse or queued).
    private func endSession(_ id: String, kind: String) async throws(AdminAPIError) {
        do throws(AccountError) {
            _ = try await accounts.endSession(id: id)
        } catch where error.isSessionFinished {
            // Another request finished it between our read and this call.
            throw .alreadyFinished(kind, id)
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
