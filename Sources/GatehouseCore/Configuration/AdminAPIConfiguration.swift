/// `admin_api`: the administration API (`/api/admin/v1/…`, MAS's shape), off unless a listener is
/// named here.
///
/// MAS turns its admin API on with the `adminapi` resource of a listener and lets clients hold
/// `urn:mas:admin` through `policy.data.admin_clients`; Gatehouse keeps both decisions in this one
/// section, so reading it says who can administer the server and where.
public struct AdminAPIConfiguration: Sendable, Equatable {
    /// `admin_api.listeners`: names of `http.listeners[]` that answer `/api/admin/v1/…` and
    /// `/api/spec.json`; every other listener answers them `404`. Empty (the default): the API is off.
    public var listeners: [String]
    /// `admin_api.clients`: `client_id`s (ULIDs) of static confidential clients that may obtain
    /// `urn:mas:admin` with the `client_credentials` grant (MAS `policy.data.admin_clients`).
    public var clients: [String]

    /// - Parameters:
    ///   - listeners: the listeners that serve the API.
    ///   - clients: the clients allowed `urn:mas:admin` through `client_credentials`.
    public init(listeners: [String] = [], clients: [String] = []) {
        self.listeners = listeners
        self.clients = clients
    }

    /// Whether the listener named `listener` serves the API.
    /// - Parameter listener: `http.listeners[].name`.
    public func isServed(on listener: String) -> Bool { listeners.contains(listener) }
}

extension AdminAPIConfiguration {
    /// Reads `admin_api`; absent: off. Listener names must exist, client ids must be ULIDs, and a
    /// client declared in `clients[]` must have a secret (only confidential clients use
    /// `client_credentials`).
    static func read(_ node: ConfigNode?, listeners: [ListenerConfiguration], clients: [StaticClientConfiguration]) throws -> AdminAPIConfiguration {
        guard let node else { return AdminAPIConfiguration() }
        let map = try node.mapping(allowed: ["listeners", "clients"])
        var configuration = AdminAPIConfiguration()
        let names = listeners.map(\.name)
        for item in try map["listeners"]?.sequence() ?? [] {
            let name = try item.string()
            guard names.contains(name) else {
                throw item.error("no listener is named '\(name)'", fix: "Use one of: \(names.joined(separator: ", ")) (`http.listeners[].name`)")
            }
            if !configuration.listeners.contains(name) { configuration.listeners.append(name) }
        }
        for item in try map["clients"]?.sequence() ?? [] {
            let id = try item.string()
            guard ULID.isValid(id) else {
                throw item.error("'\(id)' is not a ULID", fix: "Name the `client_id` of a static client (`clients[]` or `gatehouse clients add`)")
            }
            if let declared = clients.first(where: { $0.clientId == id }), !declared.authMethod.usesSecret {
                throw item.error(
                    "client \(id) has `client_auth_method: none` and cannot use the client_credentials grant",
                    fix: "Give it `client_auth_method: client_secret_basic` (or _post) and a secret")
            }
            if !configuration.clients.contains(id) { configuration.clients.append(id) }
        }
        return configuration
    }
}
