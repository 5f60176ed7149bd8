#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseCore
import GatehouseStorage

/// ``OAuth2ClientRepository`` on the `oauth2_clients` table (list-valued metadata as JSON text, as on
/// SQLite). Every method is one transaction.
public struct PostgresOAuth2ClientRepository: OAuth2ClientRepository {
    private let database: PostgresDatabase

    init(database: PostgresDatabase) {
        self.database = database
    }

    static let columns = [
        "id", "origin", "application_type", "redirect_uris", "grant_types", "response_types", "token_endpoint_auth_method",
        "client_name", "client_uri", "logo_uri", "tos_uri", "policy_uri", "contacts", "client_secret_hash", "metadata_digest",
        "created_at", "id_token_signed_response_alg", "userinfo_signed_response_alg",
    ]
    private static let select = "SELECT \(columns.joined(separator: ", ")) FROM oauth2_clients"
    private static let insert = Columns.insert(into: "oauth2_clients", columns)

    public func register(_ client: OAuth2Client) async throws -> OAuth2Client {
        try await database.mutate { db in
            if let digest = client.metadataDigest,
                let existing = try await Self.fetch(db, where: "origin = 'dynamic' AND metadata_digest = ?", [digest]).first
            {
                return existing
            }
            try await db.execute(Self.insert, try Self.arguments(client))
            return try await Self.fetch(db, where: "id = ?", [client.id]).first ?? client
        }
    }

    /// - Throws: ``StorageError/conflict(_:)`` when the id is taken.
    public func add(_ client: OAuth2Client) async throws {
        try await database.mutate { db in
            if try await Self.fetch(db, where: "id = ?", [client.id]).first != nil {
                throw StorageError.conflict("a client with id \(client.id) already exists")
            }
            try await db.execute(Self.insert, try Self.arguments(client))
        }
    }

    public func find(id: String) async throws -> OAuth2Client? {
        try await database.query { db in try await Self.fetch(db, where: "id = ?", [id]).first }
    }

    public func list() async throws -> [OAuth2Client] {
        try await database.query { db in try await Self.fetch(db, where: "TRUE", []) }
    }

    public func remove(id: String) async throws -> Bool {
        try await database.mutate { db in try await db.execute("DELETE FROM oauth2_clients WHERE id = ?", [id]) > 0 }
    }

    public func syncConfigured(_ clients: [OAuth2Client]) async throws -> ClientSyncResult {
        try await database.mutate { db in
            var result = ClientSyncResult()
            let existing = Dictionary(try await Self.fetch(db, where: "TRUE", []).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            let wanted = Set(clients.map(\.id))
            for client in clients {
                switch existing[client.id] {
                case nil:
                    try await db.execute(Self.insert, try Self.arguments(client))
                    result.added.append(client.id)
                case let current? where current.origin != .config:
                    let owner = current.origin == .cli ? "client added with `gatehouse clients add`" : "dynamically registered client"
                    throw StorageError.conflict("client \(client.id) of the configuration is already a \(owner)")
                case let current?:
                    guard current.metadata != client.metadata || current.secretHash != client.secretHash else { continue }
                    // Keep created_at: the client was registered then, only its settings changed.
                    try await db.execute("DELETE FROM oauth2_clients WHERE id = ?", [client.id])
                    var updated = client
                    updated.createdAt = current.createdAt
                    try await db.execute(Self.insert, try Self.arguments(updated))
                    result.updated.append(client.id)
                }
            }
            for (id, client) in existing.sorted(by: { $0.key < $1.key }) where client.origin == .config && !wanted.contains(id) {
                try await db.execute("DELETE FROM oauth2_clients WHERE id = ?", [id])
                result.removed.append(id)
            }
            return result
        }
    }

    // MARK: - Rows

    private static func fetch(_ db: PostgresTransaction, where condition: String, _ arguments: [any SQLArgument]) async throws -> [OAuth2Client] {
        try await db.fetchAll("\(select) WHERE \(condition) ORDER BY created_at, id", arguments).map(client)
    }

    private static func arguments(_ client: OAuth2Client) throws -> [any SQLArgument] {
        let metadata = client.metadata
        return [
            client.id, client.origin.rawValue, metadata.applicationType.rawValue, try json(metadata.redirectURIs),
            try json(metadata.grantTypes), try json(metadata.responseTypes), metadata.tokenEndpointAuthMethod,
            try localized(metadata.clientName), try localized(metadata.clientURI), try localized(metadata.logoURI),
            try localized(metadata.tosURI), try localized(metadata.policyURI), try json(metadata.contacts), client.secretHash,
            client.metadataDigest, client.createdAt.storedMilliseconds, metadata.idTokenSignedResponseAlg?.rawValue,
            metadata.userinfoSignedResponseAlg?.rawValue,
        ]
    }

    private static func client(_ row: SQLRow) throws -> OAuth2Client {
        let metadata = ClientMetadata(
            applicationType: ClientMetadata.ApplicationType(rawValue: try row.string("application_type")) ?? .web,
            redirectURIs: try decode(row.string("redirect_uris")), grantTypes: try decode(row.string("grant_types")),
            responseTypes: try decode(row.string("response_types")), tokenEndpointAuthMethod: try row.string("token_endpoint_auth_method"),
            clientName: try decodeLocalized(row.optionalString("client_name")), clientURI: try decodeLocalized(row.optionalString("client_uri")),
            logoURI: try decodeLocalized(row.optionalString("logo_uri")), tosURI: try decodeLocalized(row.optionalString("tos_uri")),
            policyURI: try decodeLocalized(row.optionalString("policy_uri")), contacts: try decode(row.string("contacts")),
            idTokenSignedResponseAlg: try algorithm(row.optionalString("id_token_signed_response_alg")),
            userinfoSignedResponseAlg: try algorithm(row.optionalString("userinfo_signed_response_alg")))
        return OAuth2Client(
            id: try row.string("id"), origin: OAuth2Client.Origin(rawValue: try row.string("origin")) ?? .dynamic, metadata: metadata,
            secretHash: try row.optionalString("client_secret_hash"), metadataDigest: try row.optionalString("metadata_digest"),
            createdAt: try row.date("created_at"))
    }

    /// A stored JWS algorithm name; one this build does not know is an error, never a silent default.
    private static func algorithm(_ name: String?) throws -> SigningAlgorithm? {
        guard let name else { return nil }
        guard let algorithm = SigningAlgorithm(rawValue: name) else {
            throw StorageError.schemaTooNew("a client's signing algorithm '\(name)' is unknown to this build; was it written by a newer Gatehouse?")
        }
        return algorithm
    }

    private static func json(_ values: [String]) throws -> String {
        String(decoding: try JSONEncoder().encode(values), as: UTF8.self)
    }

    private static func localized(_ values: ClientMetadata.Localized) throws -> String? {
        guard !values.isEmpty else { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(values), as: UTF8.self)
    }

    private static func decode(_ text: String) throws -> [String] {
        try JSONDecoder().decode([String].self, from: Data(text.utf8))
    }

    private static func decodeLocalized(_ text: String?) throws -> ClientMetadata.Localized {
        guard let text else { return [:] }
        return try JSONDecoder().decode([String: String].self, from: Data(text.utf8))
    }
}
