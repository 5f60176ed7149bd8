#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GRDB
import GatehouseStorage

/// ``TokenFamilyTables``' statements run in a SQLite write transaction.
extension TokenFamilyTables {
    /// Rotation (``consumeStatements(refreshTokenId:accessTokenId:successorId:at:)``).
    func consume(_ db: Database, refreshTokenId: String, accessTokenId: String, successorId: String, at: Date) throws {
        try db.run(consumeStatements(refreshTokenId: refreshTokenId, accessTokenId: accessTokenId, successorId: successorId, at: at))
    }

    /// The lost-response retry; `insertNewPair` stores the replacement pair.
    func reissue(
        _ db: Database, replayed refreshTokenId: String, successorId: String, successorAccessTokenId: String, sessionId: String,
        newRefreshTokenId: String, at: Date, insertNewPair: () throws -> Void
    ) throws {
        try db.run(reissueStatements(
            replayed: refreshTokenId, successorId: successorId, successorAccessTokenId: successorAccessTokenId, sessionId: sessionId, at: at))
        try insertNewPair()
        try db.run(linkStatement(replayed: refreshTokenId, newRefreshTokenId: newRefreshTokenId))
    }

    /// Ends a session and revokes all its tokens.
    /// - Returns: `false` when the session was finished already (nothing changed).
    @discardableResult
    func finish(_ db: Database, sessionId: String, at: Date) throws -> Bool {
        let (finish, revoke) = finishStatements(sessionId: sessionId, at: at)
        guard try db.run(finish) == 1 else { return false }
        try db.run(revoke)
        return true
    }
}
