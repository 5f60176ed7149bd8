#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseStorage

/// ``TokenFamilyTables``' statements run in a PostgreSQL transaction.
extension TokenFamilyTables {
    /// Rotation (``consumeStatements(refreshTokenId:accessTokenId:successorId:at:)``).
    func consume(_ db: PostgresTransaction, refreshTokenId: String, accessTokenId: String, successorId: String, at: Date) async throws {
        try await db.run(consumeStatements(refreshTokenId: refreshTokenId, accessTokenId: accessTokenId, successorId: successorId, at: at))
    }

    /// The lost-response retry; `insertNewPair` stores the replacement pair.
    func reissue(
        _ db: PostgresTransaction, replayed refreshTokenId: String, successorId: String, successorAccessTokenId: String, sessionId: String,
        newRefreshTokenId: String, at: Date, insertNewPair: () async throws -> Void
    ) async throws {
        try await db.run(reissueStatements(
            replayed: refreshTokenId, successorId: successorId, successorAccessTokenId: successorAccessTokenId, sessionId: sessionId, at: at))
        try await insertNewPair()
        try await db.run(linkStatement(replayed: refreshTokenId, newRefreshTokenId: newRefreshTokenId))
    }

    /// Ends a session and revokes all its tokens.
    /// - Returns: `false` when the session was finished already (nothing changed).
    @discardableResult
    func finish(_ db: PostgresTransaction, sessionId: String, at: Date) async throws -> Bool {
        let (finish, revoke) = finishStatements(sessionId: sessionId, at: at)
        guard try await db.run(finish) == 1 else { return false }
        try await db.run(revoke)
        return true
    }
}
