#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GRDB
import GatehouseStorage

/// ``DeviceCodeGrantRepository`` on `oauth2_device_code_grants`. Every method is one transaction;
/// each state change is a conditional UPDATE, so of two concurrent decisions (or exchanges) exactly
/// one wins.
public struct SQLiteDeviceCodeGrantRepository: DeviceCodeGrantRepository {
    private let pool: DatabasePool

    init(pool: DatabasePool) {
        self.pool = pool
    }

    /// Stores a new grant. A pending grant with the same user code that expired by
    /// `grant.createdAt` is deleted first: it can no longer be approved, and it must not keep the
    /// code from being given out again.
    /// - Parameter grant: a pending grant.
    /// - Throws: ``StorageError/conflict(_:)`` when a live pending grant has the same user code, or the
    ///   id or device code hash is taken.
    public func create(_ grant: DeviceCodeGrant) async throws {
        try await pool.mutate { db in
            try db.execute(
                sql: "DELETE FROM oauth2_device_code_grants WHERE user_code = ? AND status = 'pending' AND expires_at <= ?",
                arguments: [grant.userCode, grant.createdAt.storedMilliseconds])
            try db.execute(
                sql: "INSERT INTO oauth2_device_code_grants (\(Columns.select(Columns.deviceCodeGrant))) "
                    + "VALUES (\(Columns.placeholders(Columns.deviceCodeGrant)))",
                arguments: [
                    grant.id, grant.clientId, grant.scope, grant.deviceCodeHash, grant.userCode, grant.createdAt.storedMilliseconds,
                    grant.expiresAt.storedMilliseconds, grant.status.rawValue, grant.userId, grant.browserSessionId,
                    grant.decidedAt.storedMilliseconds, grant.lastPolledAt.storedMilliseconds, grant.exchangedAt.storedMilliseconds,
                    grant.sessionId,
                ])
        }
    }

    /// The grant with this id, whatever its state.
    /// - Parameter id: the grant.
    public func find(id: String) async throws -> DeviceCodeGrant? {
        try await pool.query { db in try Self.fetch(db, where: "id = ?", id) }
    }

    /// The pending grant with this user code, expired or not (the caller compares
    /// ``DeviceCodeGrant/expiresAt`` with its clock).
    /// - Parameter userCode: the code as stored (upper-case, normalised by the caller).
    public func findPending(userCode: String) async throws -> DeviceCodeGrant? {
        try await pool.query { db in try Self.fetch(db, where: "user_code = ? AND status = 'pending'", userCode) }
    }

    /// Records a poll. Not counted in the store revision: the poll time decides only `slow_down`,
    /// which no cache holds.
    /// - Parameters:
    ///   - deviceCodeHash: SHA-256 hex of the `device_code`.
    ///   - at: the time of the poll.
    /// - Returns: the grant as it was before this poll, or `nil` for an unknown code.
    public func poll(deviceCodeHash: String, at: Date) async throws -> DeviceCodeGrant? {
        try await pool.mutate(bumpsRevision: false) { db in
            guard let grant = try Self.fetch(db, where: "device_code_hash = ?", deviceCodeHash) else { return nil }
            try db.execute(
                sql: "UPDATE oauth2_device_code_grants SET last_polled_at = ? WHERE id = ?", arguments: [at.storedMilliseconds, grant.id])
            return grant
        }
    }

    /// Approves or rejects a pending, unexpired grant.
    /// - Parameters:
    ///   - id: the grant.
    ///   - approved: `true` to approve, `false` to reject.
    ///   - userId: the user deciding.
    ///   - browserSessionId: their browser session.
    ///   - at: the time; a grant expired by then is not pending any more.
    /// - Throws: ``StorageError/conflict(_:)`` unless the grant is pending and unexpired at `at`.
    public func decide(id: String, approved: Bool, userId: String, browserSessionId: String, at: Date) async throws {
        try await pool.mutate { db in
            let time = at.storedMilliseconds
            try db.execute(
                sql: """
                    UPDATE oauth2_device_code_grants SET status = ?, user_id = ?, browser_session_id = ?, decided_at = ?
                    WHERE id = ? AND status = 'pending' AND expires_at > ?
                    """,
                arguments: [approved ? "approved" : "rejected", userId, browserSessionId, time, id, time])
            guard db.changesCount == 1 else { throw StorageError.conflict("device code grant \(id) is not pending") }
        }
    }

    /// Marks an approved grant exchanged.
    /// - Parameters:
    ///   - id: the grant.
    ///   - at: the time of the exchange.
    /// - Throws: ``StorageError/conflict(_:)`` unless the grant is approved.
    public func exchange(id: String, at: Date) async throws {
        try await pool.mutate { db in
            try db.execute(
                sql: "UPDATE oauth2_device_code_grants SET status = 'exchanged', exchanged_at = ? WHERE id = ? AND status = 'approved'",
                arguments: [at.storedMilliseconds, id])
            guard db.changesCount == 1 else { throw StorageError.conflict("device code grant \(id) is not approved") }
        }
    }

    /// Undoes the exchange made at `exchangedAt`, unless a session was attached since.
    /// - Parameters:
    ///   - id: the grant.
    ///   - exchangedAt: the time given to ``exchange(id:at:)``.
    public func release(id: String, exchangedAt: Date) async throws {
        try await pool.mutate { db in
            try db.execute(
                sql: """
                    UPDATE oauth2_device_code_grants SET status = 'approved', exchanged_at = NULL
                    WHERE id = ? AND status = 'exchanged' AND exchanged_at = ? AND session_id IS NULL
                    """,
                arguments: [id, exchangedAt.storedMilliseconds])
        }
    }

    private static func fetch(_ db: Database, where condition: String, _ argument: String) throws -> DeviceCodeGrant? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(Columns.select(Columns.deviceCodeGrant)) FROM oauth2_device_code_grants WHERE \(condition)"),
            arguments: [argument]
        )?.deviceCodeGrant()
    }
}
