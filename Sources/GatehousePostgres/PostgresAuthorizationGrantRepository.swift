#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseStorage

/// ``AuthorizationGrantRepository`` on `oauth2_authorization_grants`. Every method is one
/// transaction; conditional UPDATEs decide each state change, as on SQLite.
public struct PostgresAuthorizationGrantRepository: AuthorizationGrantRepository {
    private let database: PostgresDatabase

    init(database: PostgresDatabase) {
        self.database = database
    }

    public func create(_ grant: AuthorizationGrant) async throws {
        try await database.mutate { db in
            try await db.execute(
                Columns.insert(into: "oauth2_authorization_grants", Columns.authorizationGrant),
                [
                    grant.id, grant.clientId, grant.redirectURI, grant.scope, grant.state, grant.nonce, grant.codeChallenge,
                    grant.responseMode.rawValue, grant.loginHint, grant.createdAt.storedMilliseconds, grant.userId, grant.browserSessionId,
                    grant.fulfilledAt.storedMilliseconds, grant.codeHash, grant.exchangedAt.storedMilliseconds, grant.sessionId,
                    grant.cancelledAt.storedMilliseconds,
                ])
        }
    }

    public func find(id: String) async throws -> AuthorizationGrant? {
        try await database.query { db in try await Self.fetch(db, where: "id = ?", id) }
    }

    /// - Throws: ``StorageError/conflict(_:)`` unless the grant is pending.
    public func fulfil(id: String, userId: String, browserSessionId: String, codeHash: String, at: Date) async throws {
        try await database.mutate { db in
            let changed = try await db.execute(
                """
                UPDATE oauth2_authorization_grants SET fulfilled_at = ?, user_id = ?, browser_session_id = ?, code_hash = ?
                WHERE id = ? AND fulfilled_at IS NULL AND cancelled_at IS NULL
                """,
                [at.storedMilliseconds, userId, browserSessionId, codeHash, id])
            guard changed == 1 else { throw StorageError.conflict("authorization grant \(id) is not pending") }
        }
    }

    /// - Throws: ``StorageError/conflict(_:)`` unless the grant is pending.
    public func cancel(id: String, at: Date) async throws {
        try await database.mutate { db in
            let changed = try await db.execute(
                "UPDATE oauth2_authorization_grants SET cancelled_at = ? WHERE id = ? AND fulfilled_at IS NULL AND cancelled_at IS NULL",
                [at.storedMilliseconds, id])
            guard changed == 1 else { throw StorageError.conflict("authorization grant \(id) is not pending") }
        }
    }

    /// Uses a code once; a replay also marks the grant cancelled (see the SQLite repository).
    public func redeem(codeHash: String, at: Date) async throws -> CodeRedemption {
        try await database.mutate { db in
            guard let grant = try await Self.fetch(db, where: "code_hash = ? AND fulfilled_at IS NOT NULL", codeHash) else { return .unknown }
            let time = at.storedMilliseconds
            if grant.exchangedAt != nil {
                try await db.execute(
                    "UPDATE oauth2_authorization_grants SET cancelled_at = ? WHERE id = ? AND cancelled_at IS NULL", [time, grant.id])
                var replayed = grant
                if replayed.cancelledAt == nil { replayed.cancelledAt = Date(storedMilliseconds: time) }
                return .replayed(replayed)
            }
            let changed = try await db.execute(
                "UPDATE oauth2_authorization_grants SET exchanged_at = ? WHERE id = ? AND exchanged_at IS NULL", [time, grant.id])
            guard changed == 1 else { return .replayed(grant) }
            var redeemed = grant
            redeemed.exchangedAt = Date(storedMilliseconds: time)
            return .redeemed(redeemed)
        }
    }

    public func release(id: String, redeemedAt: Date) async throws {
        try await database.mutate { db in
            try await db.execute(
                """
                UPDATE oauth2_authorization_grants SET exchanged_at = NULL
                WHERE id = ? AND exchanged_at = ? AND session_id IS NULL AND cancelled_at IS NULL
                """,
                [id, redeemedAt.storedMilliseconds])
        }
    }

    private static func fetch(_ db: PostgresTransaction, where condition: String, _ argument: String) async throws -> AuthorizationGrant? {
        try await db.fetchOne("SELECT \(Columns.select(Columns.authorizationGrant)) FROM oauth2_authorization_grants WHERE \(condition)", [argument])?
            .authorizationGrant()
    }
}
