import GatehouseCore
import GatehouseStorage

/// One resource of the admin API in MAS's JSON:API-like shape:
/// `{"type","id","attributes",  "links":{"self"}, "meta":{"page":{"cursor"}}}` (the cursor only in lists).
/// The attribute names and order are MAS's (`crates/handlers/src/admin/model.rs`), so MAS's tools read them.
struct AdminResource {
    var type: String
    var id: String
    var attributes: [(String, AdminJSON)]
    /// The resource's canonical path (`/api/admin/v1/users/{id}`).
    var selfPath: String

    /// The resource object; with `cursor`, as an item of a page.
    func json(cursor: Bool) -> AdminJSON {
        var members: [(String, AdminJSON)] = [
            ("type", .string(type)), ("id", .string(id)), ("attributes", .object(attributes)),
            ("links", .object([("self", .string(selfPath))])),
        ]
        if cursor { members.append(("meta", .object([("page", .object([("cursor", .string(id))]))]))) }
        return .object(members)
    }

    /// The single-resource answer: `{"data":…, "links":{"self"}}`.
    var document: AdminJSON { document(selfPath: selfPath) }

    /// The single-resource answer to a path other than the resource's own (`/users/by-username/…`):
    /// the answer's link is that path, the resource keeps its canonical one.
    /// - Parameter path: the path the request asked for.
    func document(selfPath path: String) -> AdminJSON {
        .object([("data", json(cursor: false)), ("links", .object([("self", .string(path))]))])
    }

    static func user(_ user: User) -> AdminResource {
        AdminResource(
            type: "user", id: user.id,
            attributes: [
                ("username", .string(user.username)), ("created_at", .date(user.createdAt)), ("locked_at", .date(user.lockedAt)),
                ("deactivated_at", .date(user.deactivatedAt)), ("admin", .bool(user.isAdmin)), ("legacy_guest", .bool(false)),
            ],
            selfPath: "\(AdminEndpoint.base)/users/\(user.id)")
    }

    static func compatSession(_ session: CompatSession) -> AdminResource {
        AdminResource(
            type: "compat-session", id: session.id,
            attributes: [
                ("user_id", .string(session.userId)), ("device_id", .string(session.deviceId)), ("user_session_id", .null),
                ("redirect_uri", .null), ("created_at", .date(session.createdAt)), ("user_agent", .null),
                ("last_active_at", .date(session.lastActiveAt)), ("last_active_ip", .string(session.lastActiveAddress)),
                ("finished_at", .date(session.finishedAt)), ("human_name", .string(session.displayName)),
            ],
            selfPath: "\(AdminEndpoint.base)/compat-sessions/\(session.id)")
    }

    static func oauth2Session(_ session: OAuth2Session) -> AdminResource {
        AdminResource(
            type: "oauth2-session", id: session.id,
            attributes: [
                ("created_at", .date(session.createdAt)), ("finished_at", .date(session.finishedAt)), ("user_id", .string(session.userId)),
                ("user_session_id", .string(session.browserSessionId)), ("client_id", .string(session.clientId)),
                ("scope", .string(session.scope)), ("user_agent", .null), ("last_active_at", .date(session.lastActiveAt)),
                ("last_active_ip", .string(session.lastActiveAddress)), ("human_name", .string(session.humanName)),
            ],
            selfPath: "\(AdminEndpoint.base)/oauth2-sessions/\(session.id)")
    }

    static func userSession(_ session: BrowserSession) -> AdminResource {
        AdminResource(
            type: "user-session", id: session.id,
            attributes: [
                ("created_at", .date(session.createdAt)), ("finished_at", .date(session.finishedAt)), ("user_id", .string(session.userId)),
                ("user_agent", .string(session.userAgent)), ("last_active_at", .date(session.lastActiveAt)),
                ("last_active_ip", .string(session.lastActiveAddress)),
            ],
            selfPath: "\(AdminEndpoint.base)/user-sessions/\(session.id)")
    }

    static func oauth2Client(_ client: OAuth2Client) -> AdminResource {
        let metadata = client.metadata
        return AdminResource(
            type: "oauth2-client", id: client.id,
            attributes: [
                ("client_id", .string(client.id)), ("client_name", .string(metadata.clientName[""])),
                ("client_uri", .string(metadata.clientURI[""])), ("logo_uri", .string(metadata.logoURI[""])),
                ("tos_uri", .string(metadata.tosURI[""])), ("policy_uri", .string(metadata.policyURI[""])),
                ("redirect_uris", .array(metadata.redirectURIs.map(AdminJSON.string))),
                ("grant_types", .array(metadata.grantTypes.map(AdminJSON.string))),
                ("token_endpoint_auth_method", .string(metadata.tokenEndpointAuthMethod)),
                ("application_type", .string(metadata.applicationType.rawValue)), ("created_at", .date(client.createdAt)),
                // Gatehouse's own: where the client comes from (`dynamic`, `config`, `cli`).
                ("origin", .string(client.origin.rawValue)),
            ],
            selfPath: "\(AdminEndpoint.base)/oauth2-clients/\(client.id)")
    }
}
