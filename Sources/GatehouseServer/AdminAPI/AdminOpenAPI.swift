/// `GET /api/spec.json`: the OpenAPI 3.1 document of the admin API, written from ``AdminEndpoint``
/// (paths, methods, filters, body members), so it lists exactly what the responder answers.
enum AdminOpenAPI {
    /// The document, built once.
    static let document: AdminJSON = build()

    private static func build() -> AdminJSON {
        var paths: [(String, [(String, AdminJSON)])] = []
        for endpoint in AdminEndpoint.allCases {
            let operation = (endpoint.method.rawValue.lowercased(), self.operation(endpoint))
            if let index = paths.firstIndex(where: { $0.0 == endpoint.path }) {
                paths[index].1.append(operation)
            } else {
                paths.append((endpoint.path, [operation]))
            }
        }
        return .object([
            ("openapi", .string("3.1.0")),
            ("info", .object([
                ("title", .string("Gatehouse admin API")),
                ("description", .string("Administration of users and sessions, in the shape of matrix-authentication-service's admin API.")),
                ("version", .string("v1")),
            ])),
            ("paths", .object(paths.map { ($0.0, AdminJSON.object($0.1)) })),
            ("components", .object([
                ("securitySchemes", .object([
                    ("oauth2", .object([
                        ("type", .string("oauth2")),
                        ("description", .string("An access token with the urn:mas:admin scope")),
                        ("flows", .object([
                            ("clientCredentials", .object([
                                ("tokenUrl", .string("/oauth2/token")),
                                ("scopes", .object([("urn:mas:admin", .string("Use the admin API"))])),
                            ]))
                        ])),
                    ]))
                ])),
                ("schemas", .object([("Error", errorSchema)])),
            ])),
            ("security", .array([.object([("oauth2", .array([.string("urn:mas:admin")]))])])),
        ])
    }

    private static func operation(_ endpoint: AdminEndpoint) -> AdminJSON {
        var parameters: [AdminJSON] = []
        if endpoint.path.contains("{id}") { parameters.append(parameter("id", in: "path", required: true, description: "A ULID")) }
        if endpoint.path.contains("{username}") { parameters.append(parameter("username", in: "path", required: true, description: "The localpart")) }
        if endpoint.isList {
            for name in ["first", "last"] {
                parameters.append(parameter("page[\(name)]", in: "query", required: false, description: "Page size, 1 to \(AdminListQuery.maximumPageSize)", type: "integer"))
            }
            for name in ["after", "before"] {
                parameters.append(parameter("page[\(name)]", in: "query", required: false, description: "A cursor: the id of a listed item"))
            }
            parameters.append(parameter("count", in: "query", required: false, description: "true (default), false or only"))
            for name in endpoint.filters {
                parameters.append(parameter("filter[\(name)]", in: "query", required: false, description: filterDescription(name)))
            }
        }
        var members: [(String, AdminJSON)] = [
            ("operationId", .string(endpoint.rawValue)), ("summary", .string(summary(endpoint))),
            ("tags", .array([.string(tag(endpoint))])),
        ]
        if !parameters.isEmpty { members.append(("parameters", .array(parameters))) }
        let body = endpoint.bodyMembers
        if !body.isEmpty {
            let schema = AdminJSON.object([
                ("type", .string("object")),
                ("properties", .object(body.map { ($0.name, AdminJSON.object([("type", .string($0.type))])) })),
                ("required", .array(body.filter(\.required).map { .string($0.name) })),
            ])
            members.append(("requestBody", .object([
                ("required", .bool(body.contains(where: \.required))),
                ("content", .object([("application/json", .object([("schema", schema)]))])),
            ])))
        }
        let success = endpoint == .addUser ? "201" : "200"
        let errorResponse = AdminJSON.object([
            ("description", .string("Refused")),
            ("content", .object([("application/json", .object([("schema", .object([("$ref", .string("#/components/schemas/Error"))]))]))])),
        ])
        members.append(("responses", .object([
            (success, .object([("description", .string("OK")), ("content", .object([("application/json", .object([]))]))])),
            ("400", errorResponse), ("401", errorResponse), ("404", errorResponse),
        ])))
        return .object(members)
    }

    private static func parameter(_ name: String, in location: String, required: Bool, description: String, type: String = "string") -> AdminJSON {
        .object([
            ("name", .string(name)), ("in", .string(location)), ("required", .bool(required)), ("description", .string(description)),
            ("schema", .object([("type", .string(type))])),
        ])
    }

    private static func filterDescription(_ name: String) -> String {
        switch name {
        case "admin": "true or false"
        case "status": "active, locked or deactivated (users); active or finished (sessions)"
        case "search": "Part of the username"
        case "user": "A user's id"
        case "client": "An OAuth 2.0 client's id"
        default: name
        }
    }

    private static func tag(_ endpoint: AdminEndpoint) -> String {
        let path = endpoint.path.dropFirst(AdminEndpoint.base.count + 1)
        return String(path.prefix { $0 != "/" })
    }

    private static func summary(_ endpoint: AdminEndpoint) -> String {
        switch endpoint {
        case .siteConfig: "Get the site's configuration"
        case .listUsers: "List users"
        case .addUser: "Create a user (and provision it in Synapse)"
        case .getUser: "Get a user"
        case .getUserByUsername: "Get a user by username"
        case .setPassword: "Set a user's password"
        case .setAdmin: "Allow or forbid a user the admin scopes"
        case .lockUser: "Lock a user (its sessions end)"
        case .unlockUser: "Unlock a user"
        case .deactivateUser: "Deactivate a user"
        case .reactivateUser: "Reactivate a user"
        case .listCompatSessions: "List compatibility sessions"
        case .getCompatSession: "Get a compatibility session"
        case .finishCompatSession: "End a compatibility session (its device is deleted)"
        case .listOAuth2Sessions: "List OAuth 2.0 sessions"
        case .getOAuth2Session: "Get an OAuth 2.0 session"
        case .finishOAuth2Session: "End an OAuth 2.0 session (its device is deleted)"
        case .listUserSessions: "List user (browser) sessions"
        case .getUserSession: "Get a user (browser) session"
        case .finishUserSession: "End a user (browser) session"
        case .listOAuth2Clients: "List OAuth 2.0 clients"
        case .getOAuth2Client: "Get an OAuth 2.0 client"
        }
    }

    private static let errorSchema = AdminJSON.object([
        ("type", .string("object")),
        ("properties", .object([
            ("errors", .object([
                ("type", .string("array")),
                ("items", .object([("type", .string("object")), ("properties", .object([("title", .object([("type", .string("string"))]))]))])),
            ]))
        ])),
    ])
}
