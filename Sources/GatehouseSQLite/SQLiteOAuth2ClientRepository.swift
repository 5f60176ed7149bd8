#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GRDB
import GatehouseCore
import GatehouseStorage

/// ``OAuth2ClientRepository`` on the `oauth2_clients` table. Every method is one transaction.
public struct SQLiteOAuth2ClientRepository: OAuth2ClientRepository {
    private let pool: DatabasePool

    init(pool: DatabasePool) {
        self.pool = pool
    }

    static let columns = [
        "id", "origin", "application_type", "redirect_uris", "grant_types", "response_types", "token_endpoint_auth_method",
        "client_name", "client_uri", "logo_uri", "tos_uri", "policy_uri", "contacts", "client_secret_hash", "metadata_digest",
        "created_at", "id_token_signed_response_alg", "userinfo_signed_response_alg",
    ]
    private static let select = "SELECT \(columns.joined(separator: ", ")) FROM oauth2_clients"
    private static let insert = """
        INSERT INTO oauth2_clients (\(columns.joined(separator: ", "))) \
        VALUES (\(Array(repeating: "?", count: columns.count).joined(separator: ", ")))
        """

    /// Stores a dynamic client, or returns the dynamic client with the same digest.
    /// - Parameter client: a client of origin `dynamic` with a ``OAuth2Client/metadataDigest``.
    public func register(_ client: OAuth2Client) async throws -> OAuth2Client {
        try await pool.mutate { db in
            if let digest = client.metadataDigest,
                let existing = try Self.fetch(db, where: "origin = 'dynamic' AND metadata_digest = ?", [digest]).first
            {
                return existing
            }
            try db.execute(sql: Self.insert, arguments: try Self.arguments(client))
            return try Self.fetch(db, where: "id = ?", [client.id]).first ?? client
        }
    }

    /// Inserts a client.
    /// - Parameter client: the client; its id must be unused.
    /// - Throws: ``StorageError/conflict(_:)`` when the id is taken.
    public func add(_ client: OAuth2Client) async throws {
        try await pool.mutate { db in
            if try Self.fetch(db, where: "id = ?", [client.id]).first != nil {
                throw StorageError.conflict("a client with id \(client.id) already exists")
            }
            try db.execute(sql: Self.insert, arguments: try Self.arguments(client))
        }
    }

    /// The client with this id.
    /// - Parameter id: the `client_id`.
    public func find(id: String) async throws -> OAuth2Client? {
        try await pool.query { db in try Self.fetch(db, where: "id = ?", [id]).first }
    }

    /// Every client, oldest first.
    public func list() async throws -> [OAuth2Client] {
        try await pool.query { db in try Self.fetch(db, where: "1", []) }
    }

    /// Deletes the client with this id.
    /// - Parameter id: the `client_id`.
    public func remove(id: String) async throws -> Bool {
        try await pool.mutate { db in
            try db.execute(sql: "DELETE FROM oauth2_clients WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    /// Makes the `config` clients exactly `clients`.
    /// - Parameter clients: the clients of `clients[]`, origin `config`.
    public func syncConfigured(_ clients: [OAuth2Client]) async throws -> ClientSyncResult {
        try await pool.mutate { db in
            var result = ClientSyncResult()
            let existing = Dictionary(
                try Self.fetch(db, where: "1", []).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            let wanted = Set(clients.map(\.id))
            for client in clients {
                switch existing[client.id] {
                case nil:
                    try db.execute(sql: Self.insert, arguments: try Self.arguments(client))
                    result.added.append(client.id)
                case let current? where current.origin != .config:
                    let owner = current.origin == .cli ? "client added with `gatehouse clients add`" : "dynamically registered client"
                    throw StorageError.conflict("client \(client.id) of the configuration is already a \(owner)")
                case let current?:
                    guard current.metadata != client.metadata || current.secretHash != client.secretHash else { continue }
                    // Keep created_at: the client was registered then, only its settings changed.
                    try db.execute(sql: "DELETE FROM oauth2_clients WHERE id = ?", arguments: [client.id])
                    var updated = client
                    updated.createdAt = current.createdAt
                    try db.execute(sql: Self.insert, arguments: try Self.arguments(updated))
                    result.updated.append(client.id)
                }
            }
            for (id, client) in existing.sorted(by: { $0.key < $1.key }) where client.origin == .config && !wanted.contains(id) {
                try db.execute(sql: "DELETE FROM oauth2_clients WHERE id = ?", arguments: [id])
                result.removed.append(id)
            }
            return result
        }
    }

    // MARK: - Rows

    private static func fetch(_ db: Database, where condition: String, _ arguments: StatementArguments) throws -> [OAuth2Client] {
        try Row.fetchAll(db.cachedStatement(sql: "\(select) WHERE \(condition) ORDER BY created_at, id"), arguments: arguments).map(client)
    }

    private static func arguments(_ client: OAuth2Client) throws -> StatementArguments {
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

    private static func client(_ row: Row) throws -> OAuth2Client {
        let metadata = ClientMetadata(
            applicationType: ClientMetadata.ApplicationType(rawValue: row["application_type"]) ?? .web,
            redirectURIs: try ClientMetadataColumns.decodeList(row["redirect_uris"]), grantTypes: try ClientMetadataColumns.decodeList(row["grant_types"]),
            responseTypes: try ClientMetadataColumns.decodeList(row["response_types"]), tokenEndpointAuthMethod: row["token_endpoint_auth_method"],
            clientName: try ClientMetadataColumns.decodeLocalized(row["client_name"]), clientURI: try ClientMetadataColumns.decodeLocalized(row["client_uri"]),
            logoURI: try ClientMetadataColumns.decodeLocalized(row["logo_uri"]), tosURI: try ClientMetadataColumns.decodeLocalized(row["tos_uri"]),
            policyURI: try ClientMetadataColumns.decodeLocalized(row["policy_uri"]), contacts: try ClientMetadataColumns.decodeList(row["contacts"]),
            idTokenSignedResponseAlg: try ClientMetadataColumns.algorithm(row["id_token_signed_response_alg"]),
            userinfoSignedResponseAlg: try ClientMetadataColumns.algorithm(row["userinfo_signed_response_alg"]))
        return OAuth2Client(
            id: row["id"], origin: OAuth2Client.Origin(rawValue: row["origin"]) ?? .dynamic, metadata: metadata,
            secretHash: row["client_secret_hash"], metadataDigest: row["metadata_digest"],
            createdAt: Date(storedMilliseconds: row["created_at"]))
    }
}
