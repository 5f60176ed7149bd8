import GatehouseCore
import GatehouseIdentity
import GatehouseStorage

/// `/api/admin/v1/users…`: reads from the store, changes through ``AccountService``: the operations
/// `gatehouse manage` calls, addressed by the path's user id (never by a username re-derived from it:
/// a user imported from Synapse may have capitals in its localpart).
extension AdminAPIResponder {
    /// GET /users: `filter[admin]`, `filter[status]` (`active`, `locked`, `deactivated`), `filter[search]`.
    func listUsers(_ request: LocalRequest) async throws(AdminAPIError) -> AdminJSON {
        let query = try AdminListQuery(request.target.query, allowedFilters: AdminEndpoint.listUsers.filters)
        let search = query.filter("search")
        if search?.isEmpty == true { throw .invalidParameter("filter[search]", "must not be empty") }
        let filter = UserFilter(admin: try query.boolFilter("admin"), status: try query.enumFilter("status", as: UserFilter.Status.self), search: search)
        return try await list(
            query, path: AdminEndpoint.listUsers.path, read: { try await store.adminListings.users(filter, page: $0) },
            count: { try await store.adminListings.countUsers(filter) }, resource: AdminResource.user)
    }

    /// POST /users `{"username", "skip_homeserver_check"?}`: registers the user and provisions it in
    /// Synapse, as `gatehouse manage register-user` does.
    func addUser(_ request: LocalRequest) async throws(AdminAPIError) -> AdminJSON {
        let body = try bodyObject(request, optional: false)
        guard let username = try string("username", in: body), !username.isEmpty else { throw .invalidBody("`username` is required") }
        let skipCheck = try bool("skip_homeserver_check", in: body) ?? false
        let (user, _) = try await account { () async throws(AccountError) in
            try await accounts.registerUser(
                username: username, password: nil, admin: false, displayName: nil, emails: [], checkHomeserver: !skipCheck)
        }
        return AdminResource.user(user).document
    }

    /// GET /users/by-username/{username}, found as MAS finds it (`find_by_username`): ignoring ASCII
    /// case, so `bob` finds a user imported from Synapse as `Bob`; when several users differ only in
    /// case, the one spelled exactly as asked, or none (404) when none is. The answer's own link is the
    /// path asked, the user's link its id, as in MAS.
    func userByUsername(_ username: String) async throws(AdminAPIError) -> AdminJSON {
        guard let user = try await storage({ try await store.users.find(usernameIgnoringCase: username) }) else {
            throw .userNotFound(username: username)
        }
        if user.username != username, try await !isOnlySpelling(of: username) { throw .userNotFound(username: username) }
        let path = "\(AdminEndpoint.base)/users/by-username/\(FormURLEncoded.percentEncode(username))"
        return AdminResource.user(user).document(selfPath: path)
    }

    /// Whether exactly one user has a username equal to `username` ignoring ASCII case. Asked only
    /// when no user has the exact spelling; registration refuses a name that differs from another
    /// only in case, so more than one means users imported from Synapse.
    private func isOnlySpelling(of username: String) async throws(AdminAPIError) -> Bool {
        let folded = username.lowercased()
        var matching = 0
        var page = Pagination(count: 100)
        while true {
            let read = try await storage { try await store.adminListings.users(UserFilter(search: username), page: page) }
            matching += read.items.count(where: { $0.username.lowercased() == folded })
            guard matching <= 1, read.hasNextPage, let last = read.items.last else { return matching == 1 }
            page.after = last.id
        }
    }

    /// POST /users/{id}/set-password `{"password", "skip_password_check"?}`.
    func setPassword(id: String, _ request: LocalRequest) async throws(AdminAPIError) -> AdminJSON {
        let id = try await requireUserModel(id: id).id
        let body = try bodyObject(request, optional: false)
        guard let password = try string("password", in: body), !password.isEmpty else { throw .invalidBody("`password` is required") }
        // Gatehouse has no password complexity policy yet, so `skip_password_check` changes nothing.
        _ = try bool("skip_password_check", in: body)
        try await account { () async throws(AccountError) in try await accounts.setPassword(id: id, password: password) }
        return try await requireUser(id: id).document
    }

    /// POST /users/{id}/set-admin `{"admin": bool}`.
    func setAdmin(id: String, _ request: LocalRequest) async throws(AdminAPIError) -> AdminJSON {
        let id = try await requireUserModel(id: id).id
        guard let admin = try bool("admin", in: try bodyObject(request, optional: false)) else { throw .invalidBody("`admin` is required") }
        let updated = try await account { () async throws(AccountError) in try await accounts.setAdmin(id: id, admin) }
        return AdminResource.user(updated).document
    }

    /// POST /users/{id}/lock: every session ends and its device goes (see ``AccountService/lockUser(id:)``).
    func lock(id: String) async throws(AdminAPIError) -> AdminJSON {
        let id = try await requireUserModel(id: id).id
        _ = try await account { () async throws(AccountError) in try await accounts.lockUser(id: id) }
        return try await requireUser(id: id).document
    }

    /// POST /users/{id}/unlock
    func unlock(id: String) async throws(AdminAPIError) -> AdminJSON {
        let id = try await requireUserModel(id: id).id
        _ = try await account { () async throws(AccountError) in try await accounts.unlockUser(id: id) }
        return try await requireUser(id: id).document
    }

    /// POST /users/{id}/deactivate `{"skip_erase"?}`: Synapse erases the account unless `skip_erase`, as in MAS.
    func deactivate(id: String, _ request: LocalRequest) async throws(AdminAPIError) -> AdminJSON {
        let id = try await requireUserModel(id: id).id
        let skipErase = try bool("skip_erase", in: try bodyObject(request, optional: true)) ?? false
        _ = try await account { () async throws(AccountError) in try await accounts.deactivateUser(id: id, erase: !skipErase) }
        return try await requireUser(id: id).document
    }

    /// POST /users/{id}/reactivate
    func reactivate(id: String) async throws(AdminAPIError) -> AdminJSON {
        let id = try await requireUserModel(id: id).id
        _ = try await account { () async throws(AccountError) in try await accounts.reactivateUser(id: id) }
        return try await requireUser(id: id).document
    }

    /// The user of a path id as a resource.
    func requireUser(id: String) async throws(AdminAPIError) -> AdminResource {
        AdminResource.user(try await requireUserModel(id: id))
    }

    /// The user of a path id: 400 for a malformed id, 404 for an unknown one.
    func requireUserModel(id: String) async throws(AdminAPIError) -> User {
        let id = try validID(id)
        guard let user = try await account({ () async throws(AccountError) in try await accounts.user(id: id) }) else {
            throw .notFound("User", id)
        }
        return user
    }
}
