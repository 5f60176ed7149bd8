#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseStorage

/// ``DeviceCodeGrantRepository`` on `oauth2_device_code_grants`. Every method is one transaction;
/// each state change is a conditional UPDATE, as on SQLite.
public struct PostgresDeviceCodeGrantRepository: DeviceCodeGrantRepository {
    private let database: PostgresDatabase

    init(database: PostgresDatabase) {
        self.database = database
    }

    /// Deletes an expired pending grant with the same user code first (see the SQLite repository).
    public func create(_ grant: DeviceCodeGrant) async throws {
        try await database.mutate { db in
            try await db.execute(
                "DELETE FROM oauth2_device_code_grants WHERE user_code = ? AND status = 'pending' AND expires_at <= ?",
                [grant.userCode, grant.createdAt.storedMilliseconds])
            try await db.execute(
                Columns.insert(into: "oauth2_device_code_grants", Columns.deviceCodeGrant),
                [
                    grant.id, grant.clientId, grant.scope, grant.deviceCodeHash, grant.userCode, grant.createdAt.storedMilliseconds,
                    grant.expiresAt.storedMilliseconds, grant.status.rawValue, grant.userId, grant.browserSessionId,
                    grant.decidedAt.storedMilliseconds, grant.lastPolledAt.storedMilliseconds, grant.exchangedAt.storedMilliseconds,
                    grant.sessionId,
                ])
        }
    }

    public func find(id: String) async throws -> DeviceCodeGrant? {
        try await database.query { db in try await Self.fetch(db, where: "id = ?", id) }
    }

    public func findPending(userCode: String) async throws -> DeviceCodeGrant? {
        try await database.query { db in try await Self.fetch(db, where: "user_code = ? AND status = 'pending'", userCode) }
    }

    /// Records a poll (not counted in the store revision) and returns the grant as it was before.
    public func poll(deviceCodeHash: String, at: Date) async throws -> DeviceCodeGrant? {
        try await database.mutate(bumpsRevision: false) { db in
            guard let grant = try await Self.fetch(db, where: "device_code_hash = ? FOR UPDATE", deviceCodeHash) else { return nil }
            try await db.execute("UPDATE oauth2_device_code_grants SET last_polled_at = ? WHERE id = ?", [at.storedMilliseconds, grant.id])
            return grant
        }
    }

    /// - Throws: ``StorageError/conflict(_:)`` unless the grant is pending and unexpired at `at`.
    public func decide(id: String, approved: Bool, userId: String, browserSessionId: String, at: Date) async throws {
        try await database.mutate { db in
            let time = at.storedMilliseconds
            let changed = try await db.execute(
                """
                UPDATE oauth2_device_code_grants SET status = ?, user_id = ?, browser_session_id = ?, decided_at = ?
                WHERE id = ? AND status = 'pending' AND expires_at > ?
                """,
                [approved ? "approved" : "rejected", userId, browserSessionId, time, id, time])
            guard changed == 1 else { throw StorageError.conflict("device code grant \(id) is not pending") }
        }
    }

    /// - Throws: ``StorageError/conflict(_:)`` unless the grant is approved.
    public func exchange(id: String, at: Date) async throws {
        try await database.mutate { db in
            let changed = try await db.execute(
                "UPDATE oauth2_device_code_grants SET status = 'exchanged', exchanged_at = ? WHERE id = ? AND status = 'approved'",
                [at.storedMilliseconds, id])
            guard changed == 1 else { throw StorageError.conflict("device code grant \(id) is not approved") }
        }
    }

    public func release(id: String, exchangedAt: Date) async throws {
        try await database.mutate { db in
            try await db.execute(
                """
                UPDATE oauth2_device_code_grants SET status = 'approved', exchanged_at = NULL
                WHERE id = ? AND status = 'exchanged' AND exchanged_at = ? AND session_id IS NULL
                """,
                [id, exchangedAt.storedMilliseconds])
        }
    }

    private static func fetch(_ db: PostgresTransaction, where condition: String, _ argument: String) async throws -> DeviceCodeGrant? {
        try await db.fetchOne("SELECT \(Columns.select(Columns.deviceCodeGrant)) FROM oauth2_device_code_grants WHERE \(condition)", [argument])?
            .deviceCodeGrant()
    }
}
