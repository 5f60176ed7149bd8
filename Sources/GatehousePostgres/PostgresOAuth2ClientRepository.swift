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
            client.id, client.origin.rawValue, metadata.applicationType.rawValue, try ClientMetadataColumns.encode(metadata.redirectURIs),
            try ClientMetadataColumns.encode(metadata.grantTypes), try ClientMetadataColumns.encode(metadata.responseTypes), metadata.tokenEndpointAuthMethod,
            try ClientMetadataColumns.encode(metadata.clientName), try ClientMetadataColumns.encode(metadata.clientURI), try ClientMetadataColumns.encode(metadata.logoURI),
            try ClientMetadataColumns.encode(metadata.tosURI), try ClientMetadataColumns.encode(metadata.policyURI), try ClientMetadataColumns.encode(metadata.contacts), client.secretHash,
            client.metadataDigest, client.createdAt.storedMilliseconds, metadata.idTokenSignedResponseAlg?.rawValue,
            metadata.userinfoSignedResponseAlg?.rawValue,
        ]
    }

    private static func client(_ row: SQLRow) throws -> OAuth2Client {
        let metadata = ClientMetadata(
            applicationType: ClientMetadata.ApplicationType(rawValue: try row.string("application_type")) ?? .web,
            redirectURIs: try ClientMetadataColumns.decodeList(row.string("redirect_uris")), grantTypes: try ClientMetadataColumns.decodeList(row.string("grant_types")),
            responseTypes: try ClientMetadataColumns.decodeList(row.string("response_types")), tokenEndpointAuthMethod: try row.string("token_endpoint_auth_method"),
            clientName: try ClientMetadataColumns.decodeLocalized(row.optionalString("client_name")), clientURI: try ClientMetadataColumns.decodeLocalized(row.optionalString("client_uri")),
            logoURI: try ClientMetadataColumns.decodeLocalized(row.optionalString("logo_uri")), tosURI: try ClientMetadataColumns.decodeLocalized(row.optionalString("tos_uri")),
            policyURI: try ClientMetadataColumns.decodeLocalized(row.optionalString("policy_uri")), contacts: try ClientMetadataColumns.decodeList(row.string("contacts")),
            idTokenSignedResponseAlg: try ClientMetadataColumns.algorithm(row.optionalString("id_token_signed_response_alg")),
            userinfoSignedResponseAlg: try ClientMetadataColumns.algorithm(row.optionalString("userinfo_signed_response_alg")))
        return OAuth2Client(
            id: try row.string("id"), origin: OAuth2Client.Origin(rawValue: try row.string("origin")) ?? .dynamic, metadata: metadata,
            secretHash: try row.optionalString("client_secret_hash"), metadataDigest: try row.optionalString("metadata_digest"),
            createdAt: try row.date("created_at"))
    }
}
