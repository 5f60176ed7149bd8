#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GRDB
import GatehouseStorage

/// ``CompatSSOLoginRepository`` on `compat_sso_logins` (and `compat_login_tokens` for the token a
/// fulfilled login issues). Every method is one transaction.
public struct SQLiteCompatSSOLoginRepository: CompatSSOLoginRepository {
    private let pool: DatabasePool

    init(pool: DatabasePool) {
        self.pool = pool
    }

    /// Stores a login in progress.
    /// - Parameter login: an unfulfilled login.
    public func create(_ login: CompatSSOLogin) async throws {
        try await pool.mutate { db in
            try db.execute(
                sql: "INSERT INTO compat_sso_logins (\(Columns.select(Columns.compatSSOLogin))) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [
                    login.id, login.redirectURL, login.createdAt.storedMilliseconds, login.fulfilledAt.storedMilliseconds, login.userId,
                    login.loginTokenId,
                ])
        }
    }

    /// The login with this id.
    /// - Parameter id: the login.
    public func find(id: String) async throws -> CompatSSOLogin? {
        try await pool.query { db in
            try Row.fetchOne(db, sql: "SELECT \(Columns.select(Columns.compatSSOLogin)) FROM compat_sso_logins WHERE id = ?", arguments: [id])?
                .compatSSOLogin()
        }
    }

    /// Fulfils the login and stores its `m.login.token`, in one transaction.
    /// - Parameters:
    ///   - id: the login.
    ///   - userId: the user who confirmed.
    ///   - loginToken: the token to store (for `userId`).
    ///   - at: the time.
    /// - Throws: ``StorageError/notFound(_:)`` for an unknown login, ``StorageError/conflict(_:)`` when it
    ///   was fulfilled already.
    public func fulfil(id: String, userId: String, loginToken: CompatLoginToken, at: Date) async throws {
        try await pool.mutate { db in
            guard let login = try Row.fetchOne(db, sql: "SELECT fulfilled_at FROM compat_sso_logins WHERE id = ?", arguments: [id]) else {
                throw StorageError.notFound("no compat SSO login with id \(id)")
            }
            guard (login["fulfilled_at"] as Int64?) == nil else {
                throw StorageError.conflict("compat SSO login \(id) was fulfilled already")
            }
            try db.execute(
                sql: "INSERT INTO compat_login_tokens (\(Columns.select(Columns.compatLoginToken))) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [
                    loginToken.id, loginToken.userId, loginToken.tokenHash, loginToken.createdAt.storedMilliseconds,
                    loginToken.expiresAt.storedMilliseconds, loginToken.consumedAt.storedMilliseconds,
                ])
            try db.execute(
                sql: "UPDATE compat_sso_logins SET fulfilled_at = ?, user_id = ?, login_token_id = ? WHERE id = ? AND fulfilled_at IS NULL",
                arguments: [at.storedMilliseconds, userId, loginToken.id, id])
        }
    }
}
