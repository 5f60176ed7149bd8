#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The state changes of a session's token family, shared by compat and OAuth 2.0 sessions and by both
/// stores: the tables have the same columns (`compat_*` from migrations 0001/0003, `oauth2_*` from
/// 0005), and single use must mean exactly the same for both families and on both stores.
///
/// Each store runs these statements inside the caller's write transaction, after the caller has read
/// and checked the rows (their types differ per family) and inserted any new pair. The conditional
/// UPDATEs are the single point of truth: of two concurrent transactions only one sees its change, and
/// the other throws ``StorageError/conflict(_:)`` (``StoreStatement/requirement``), rolling its
/// transaction back.
public struct TokenFamilyTables: Sendable {
    public let sessions: String
    public let accessTokens: String
    public let refreshTokens: String

    public static let compat = TokenFamilyTables(sessions: "compat_sessions", accessTokens: "compat_access_tokens", refreshTokens: "compat_refresh_tokens")
    public static let oauth2 = TokenFamilyTables(sessions: "oauth2_sessions", accessTokens: "oauth2_access_tokens", refreshTokens: "oauth2_refresh_tokens")

    /// Rotation: `refreshTokenId` is consumed with `successorId` (already inserted) as its successor,
    /// and the access token issued with it dies.
    public func consumeStatements(refreshTokenId: String, accessTokenId: String, successorId: String, at: Date) -> [StoreStatement] {
        [
            StoreStatement(
                "UPDATE \(refreshTokens) SET consumed_at = ?, next_refresh_token_id = ? WHERE id = ? AND consumed_at IS NULL",
                [.integer(at.storedMilliseconds), .text(successorId), .text(refreshTokenId)],
                requiring: 1, conflict: "refresh token \(refreshTokenId) was already used"),
            revokeAccessToken(id: accessTokenId, at: at),
        ]
    }

    /// The lost-response retry, before the replacement pair is inserted: the replayed token gets no
    /// second retry, and the successor its first use issued (never received by the client) dies with
    /// its access token. After the insert, ``linkStatement(replayed:newRefreshTokenId:)`` makes the
    /// replacement the replayed token's successor.
    public func reissueStatements(
        replayed refreshTokenId: String, successorId: String, successorAccessTokenId: String, sessionId: String, at: Date
    ) -> [StoreStatement] {
        let time = StoreStatement.Argument.integer(at.storedMilliseconds)
        return [
            StoreStatement(
                """
                UPDATE \(refreshTokens) SET revoked_at = ? WHERE id = ? AND session_id = ? AND next_refresh_token_id = ?
                AND consumed_at IS NOT NULL AND revoked_at IS NULL
                """,
                [time, .text(refreshTokenId), .text(sessionId), .text(successorId)],
                requiring: 1, conflict: "refresh token \(refreshTokenId) is not the used predecessor of \(successorId)"),
            StoreStatement(
                "UPDATE \(refreshTokens) SET revoked_at = ? WHERE id = ? AND consumed_at IS NULL AND revoked_at IS NULL",
                [time, .text(successorId)],
                requiring: 1, conflict: "refresh token \(successorId) was used or revoked"),
            revokeAccessToken(id: successorAccessTokenId, at: at),
        ]
    }

    /// The last step of the lost-response retry (``reissueStatements(replayed:successorId:successorAccessTokenId:sessionId:at:)``).
    public func linkStatement(replayed refreshTokenId: String, newRefreshTokenId: String) -> StoreStatement {
        StoreStatement("UPDATE \(refreshTokens) SET next_refresh_token_id = ? WHERE id = ?", [.text(newRefreshTokenId), .text(refreshTokenId)])
    }

    /// Ends a session (`finish`: it changes no row when the session was finished already, and then
    /// nothing else is run) and revokes all its tokens (`revoke`).
    public func finishStatements(sessionId: String, at: Date) -> (finish: StoreStatement, revoke: [StoreStatement]) {
        let time = StoreStatement.Argument.integer(at.storedMilliseconds)
        return (
            StoreStatement("UPDATE \(sessions) SET finished_at = ? WHERE id = ? AND finished_at IS NULL", [time, .text(sessionId)]),
            [accessTokens, refreshTokens].map {
                StoreStatement("UPDATE \($0) SET revoked_at = ? WHERE session_id = ? AND revoked_at IS NULL", [time, .text(sessionId)])
            }
        )
    }

    private func revokeAccessToken(id: String, at: Date) -> StoreStatement {
        StoreStatement("UPDATE \(accessTokens) SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [.integer(at.storedMilliseconds), .text(id)])
    }
}
