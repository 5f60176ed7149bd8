#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseStorage

/// ``CompatSSOLoginRepository`` on `compat_sso_logins` (and `compat_login_tokens` for the token a
/// fulfilled login issues). Every method is one transaction.
public struct PostgresCompatSSOLoginRepository: CompatSSOLoginRepository {
    private let database: PostgresDatabase

    init(database: PostgresDatabase) {
        self.database = database
    }

    public func create(_ login: CompatSSOLogin) async throws {
        try await database.mutate { db in
            try await db.execute(
                Columns.insert(into: "compat_sso_logins", Columns.compatSSOLogin),
                [login.id, login.redirectURL, login.createdAt.storedMilliseconds, login.fulfilledAt.storedMilliseconds, login.userId, login.loginTokenId])
        }
    }

    public func find(id: String) async throws -> CompatSSOLogin? {
        try await database.query { db in
            try await db.fetchOne("SELECT \(Columns.select(Columns.compatSSOLogin)) FROM compat_sso_logins WHERE id = ?", [id])?.compatSSOLogin()
        }
    }

    /// - Throws: ``StorageError/notFound(_:)`` for an unknown login, ``StorageError/conflict(_:)`` when it
    ///   was fulfilled already.
    public func fulfil(id: String, userId: String, loginToken: CompatLoginToken, at: Date) async throws {
        try await database.mutate { db in
            guard let login = try await db.fetchOne("SELECT fulfilled_at FROM compat_sso_logins WHERE id = ?", [id]) else {
                throw StorageError.notFound("no compat SSO login with id \(id)")
            }
            guard try login.optionalInt64("fulfilled_at") == nil else {
                throw StorageError.conflict("compat SSO login \(id) was fulfilled already")
            }
            try await PostgresCompatSessionRepository.insert(db, loginToken)
            try await db.execute(
                "UPDATE compat_sso_logins SET fulfilled_at = ?, user_id = ?, login_token_id = ? WHERE id = ? AND fulfilled_at IS NULL",
                [at.storedMilliseconds, userId, loginToken.id, id])
        }
    }
}
