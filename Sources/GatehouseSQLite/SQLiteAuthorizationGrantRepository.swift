#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GRDB
import GatehouseStorage

/// ``AuthorizationGrantRepository`` on `oauth2_authorization_grants`. Every method is one
/// transaction; conditional UPDATEs are the single point of truth for each state change, so of two
/// concurrent requests exactly one wins.
public struct SQLiteAuthorizationGrantRepository: AuthorizationGrantRepository {
    private let pool: DatabasePool

    init(pool: DatabasePool) {
        self.pool = pool
    }

    /// Stores a new grant.
    /// - Parameter grant: a pending grant (or any state, for tests and imports).
    /// - Throws: ``StorageError/conflict(_:)`` when the id or code hash is taken.
    public func create(_ grant: AuthorizationGrant) async throws {
        try await pool.mutate { db in
            try db.execute(
                sql: "INSERT INTO oauth2_authorization_grants (\(Columns.select(Columns.authorizationGrant))) "
                    + "VALUES (\(Columns.placeholders(Columns.authorizationGrant)))",
                arguments: [
                    grant.id, grant.clientId, grant.redirectURI, grant.scope, grant.state, grant.nonce, grant.codeChallenge,
                    grant.responseMode.rawValue, grant.loginHint, grant.createdAt.storedMilliseconds, grant.userId, grant.browserSessionId,
                    grant.fulfilledAt.storedMilliseconds, grant.codeHash, grant.exchangedAt.storedMilliseconds, grant.sessionId,
                    grant.cancelledAt.storedMilliseconds,
                ])
        }
    }

    /// The grant with this id, whatever its state.
    /// - Parameter id: the grant.
    public func find(id: String) async throws -> AuthorizationGrant? {
        try await pool.query { db in try Self.fetch(db, where: "id = ?", id) }
    }

    /// Records consent on a pending grant.
    /// - Parameters:
    ///   - id: the grant.
    ///   - userId: the user who consented.
    ///   - browserSessionId: their browser session.
    ///   - codeHash: SHA-256 hex of the new authorization code.
    ///   - at: the time of consent (the code's lifetime starts here).
    /// - Throws: ``StorageError/conflict(_:)`` unless the grant is pending; ``StorageError/notFound(_:)``
    ///   for an unknown user or browser session.
    public func fulfil(id: String, userId: String, browserSessionId: String, codeHash: String, at: Date) async throws {
        try await pool.mutate { db in
            try db.execute(
                sql: """
                    UPDATE oauth2_authorization_grants SET fulfilled_at = ?, user_id = ?, browser_session_id = ?, code_hash = ?
                    WHERE id = ? AND fulfilled_at IS NULL AND cancelled_at IS NULL
                    """,
                arguments: [at.storedMilliseconds, userId, browserSessionId, codeHash, id])
            guard db.changesCount == 1 else { throw StorageError.conflict("authorization grant \(id) is not pending") }
        }
    }

    /// The user declined a pending grant.
    /// - Parameters:
    ///   - id: the grant.
    ///   - at: the time.
    /// - Throws: ``StorageError/conflict(_:)`` unless the grant is pending.
    public func cancel(id: String, at: Date) async throws {
        try await pool.mutate { db in
            try db.execute(
                sql: "UPDATE oauth2_authorization_grants SET cancelled_at = ? WHERE id = ? AND fulfilled_at IS NULL AND cancelled_at IS NULL",
                arguments: [at.storedMilliseconds, id])
            guard db.changesCount == 1 else { throw StorageError.conflict("authorization grant \(id) is not pending") }
        }
    }

    /// Uses a code once.
    ///
    /// A replay also marks the grant (`cancelled_at`), so a session still being created by the first
    /// exchange cannot attach to it (``OAuth2SessionRepository/create(session:accessToken:refreshToken:grantId:)``
    /// then fails with a conflict) and the code can no longer be released.
    /// - Parameters:
    ///   - codeHash: SHA-256 hex of the code presented.
    ///   - at: the time of the exchange.
    /// - Returns: ``CodeRedemption/redeemed(_:)`` with the grant as it is now (exchanged at `at`),
    ///   ``CodeRedemption/replayed(_:)`` with the grant of an earlier exchange, or
    ///   ``CodeRedemption/unknown``.
    public func redeem(codeHash: String, at: Date) async throws -> CodeRedemption {
        try await pool.mutate { db in
            guard let grant = try Self.fetch(db, where: "code_hash = ? AND fulfilled_at IS NOT NULL", codeHash) else { return .unknown }
            let time = at.storedMilliseconds
            if grant.exchangedAt != nil {
                try db.execute(
                    sql: "UPDATE oauth2_authorization_grants SET cancelled_at = ? WHERE id = ? AND cancelled_at IS NULL",
                    arguments: [time, grant.id])
                var replayed = grant
                if replayed.cancelledAt == nil { replayed.cancelledAt = Date(storedMilliseconds: time) }
                return .replayed(replayed)
            }
            try db.execute(
                sql: "UPDATE oauth2_authorization_grants SET exchanged_at = ? WHERE id = ? AND exchanged_at IS NULL",
                arguments: [time, grant.id])
            guard db.changesCount == 1 else { return .replayed(grant) }
            var redeemed = grant
            redeemed.exchangedAt = Date(storedMilliseconds: time)
            return .redeemed(redeemed)
        }
    }

    /// Undoes the redemption made at `redeemedAt`, unless a session was attached or the code was
    /// replayed since (then nothing changes).
    /// - Parameters:
    ///   - id: the grant.
    ///   - redeemedAt: the time given to ``redeem(codeHash:at:)``.
    public func release(id: String, redeemedAt: Date) async throws {
        try await pool.mutate { db in
            try db.execute(
                sql: """
                    UPDATE oauth2_authorization_grants SET exchanged_at = NULL
                    WHERE id = ? AND exchanged_at = ? AND session_id IS NULL AND cancelled_at IS NULL
                    """,
                arguments: [id, redeemedAt.storedMilliseconds])
        }
    }

    private static func fetch(_ db: Database, where condition: String, _ argument: String) throws -> AuthorizationGrant? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(Columns.select(Columns.authorizationGrant)) FROM oauth2_authorization_grants WHERE \(condition)"),
            arguments: [argument]
        )?.authorizationGrant()
    }
}
