#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GRDB
import GatehouseStorage

/// ``RetentionRepository`` on the SQLite store.
///
/// Tables are cleaned so that nothing is left referring to a deleted row: grants and legacy SSO logins
/// first (they refer to sessions and login tokens), then finished sessions with all their tokens, then
/// dead tokens of live sessions, then finished browser sessions nothing refers to any more, then
/// completed jobs. Each batch is its own write transaction and does not move the store revision:
/// every deleted row was already refused by every check, and an unknown token is refused the same way.
public struct SQLiteRetentionRepository: RetentionRepository {
    private let pool: DatabasePool

    init(pool: DatabasePool) {
        self.pool = pool
    }

    public func deleteExpired(policy: RetentionPolicy, now: Date, batchSize: Int) async throws -> CleanupReport {
        precondition(batchSize > 0, "batchSize must be positive")
        let grants = Self.cutoff(now, policy.grants)
        let sessions = Self.cutoff(now, policy.finishedSessions)
        let revoked = Self.cutoff(now, policy.revokedTokens)
        let consumed = Self.cutoff(now, policy.consumedRefreshTokens)
        let expired = Self.cutoff(now, policy.expiredAccessTokens)
        var report = CleanupReport()

        for table in ["oauth2_authorization_grants", "oauth2_device_code_grants", "compat_sso_logins"] {
            report.record(try await deleteRows(table, where: "created_at < ?", [grants], batchSize: batchSize), in: table)
        }
        report.record(
            try await deleteRows(
                "compat_login_tokens",
                where: "created_at < ? AND NOT EXISTS (SELECT 1 FROM compat_sso_logins s WHERE s.login_token_id = compat_login_tokens.id)",
                [grants], batchSize: batchSize),
            in: "compat_login_tokens")

        try await deleteFinishedSessions(
            "compat_sessions", tokens: ("compat_access_tokens", "compat_refresh_tokens"), referredToBy: [],
            before: sessions, batchSize: batchSize, into: &report)
        try await deleteFinishedSessions(
            "oauth2_sessions", tokens: ("oauth2_access_tokens", "oauth2_refresh_tokens"),
            referredToBy: ["oauth2_authorization_grants", "oauth2_device_code_grants"],
            before: sessions, batchSize: batchSize, into: &report)

        for (access, refresh) in [("compat_access_tokens", "compat_refresh_tokens"), ("oauth2_access_tokens", "oauth2_refresh_tokens")] {
            report.record(try await deleteDeadRefreshTokens(refresh, revokedBefore: revoked, consumedBefore: consumed, batchSize: batchSize), in: refresh)
            report.record(
                try await deleteRows(
                    access,
                    where: "(revoked_at < ? OR expires_at < ?) AND NOT EXISTS (SELECT 1 FROM \(refresh) r WHERE r.access_token_id = \(access).id)",
                    [revoked, expired], batchSize: batchSize),
                in: access)
        }

        report.record(
            try await deleteRows(
                "browser_sessions",
                where: """
                    finished_at < ?
                    AND NOT EXISTS (SELECT 1 FROM oauth2_sessions o WHERE o.browser_session_id = browser_sessions.id)
                    AND NOT EXISTS (SELECT 1 FROM oauth2_authorization_grants g WHERE g.browser_session_id = browser_sessions.id)
                    AND NOT EXISTS (SELECT 1 FROM oauth2_device_code_grants d WHERE d.browser_session_id = browser_sessions.id)
                    """,
                [sessions], batchSize: batchSize),
            in: "browser_sessions")
        report.record(
            try await deleteRows("jobs", where: "completed_at < ?", [Self.cutoff(now, policy.completedJobs)], batchSize: batchSize), in: "jobs")
        return report
    }

    // MARK: Steps

    /// Deletes rows of `table` matching `condition`, `batchSize` per transaction.
    private func deleteRows(_ table: String, where condition: String, _ arguments: [Int64], batchSize: Int) async throws -> Int {
        var total = 0
        while true {
            let deleted = try await pool.mutate(bumpsRevision: false) { db in
                try db.execute(
                    sql: "DELETE FROM \(table) WHERE id IN (SELECT id FROM \(table) WHERE \(condition) LIMIT ?)",
                    arguments: StatementArguments(arguments + [Int64(batchSize)]))
                return db.changesCount
            }
            total += deleted
            if deleted < batchSize { return total }
        }
    }

    /// Sessions finished before `cutoff`, with every token of theirs. A session that a kept row still
    /// refers to (`referredToBy` tables' `session_id`) waits for that row to go first.
    private func deleteFinishedSessions(
        _ table: String, tokens: (access: String, refresh: String), referredToBy: [String], before cutoff: Int64, batchSize: Int,
        into report: inout CleanupReport
    ) async throws {
        let kept = referredToBy.map { "AND NOT EXISTS (SELECT 1 FROM \($0) g WHERE g.session_id = \(table).id)" }.joined(separator: " ")
        while true {
            let (sessions, access, refresh) = try await pool.mutate(bumpsRevision: false) { db in
                let ids = try String.fetchAll(
                    db, sql: "SELECT id FROM \(table) WHERE finished_at < ? \(kept) LIMIT ?", arguments: [cutoff, Int64(batchSize)])
                guard !ids.isEmpty else { return (0, 0, 0) }
                let list = "(" + Array(repeating: "?", count: ids.count).joined(separator: ",") + ")"
                let arguments = StatementArguments(ids)
                try db.execute(sql: "DELETE FROM \(tokens.refresh) WHERE session_id IN \(list)", arguments: arguments)
                let refresh = db.changesCount
                try db.execute(sql: "DELETE FROM \(tokens.access) WHERE session_id IN \(list)", arguments: arguments)
                let access = db.changesCount
                try db.execute(sql: "DELETE FROM \(table) WHERE id IN \(list)", arguments: arguments)
                return (db.changesCount, access, refresh)
            }
            report.record(sessions, in: table)
            report.record(access, in: tokens.access)
            report.record(refresh, in: tokens.refresh)
            if sessions < batchSize { return }
        }
    }

    /// Refresh tokens revoked before `revokedBefore` or consumed before `consumedBefore`.
    ///
    /// Refresh tokens form chains (`next_refresh_token_id` names the successor). A token is deleted only
    /// when no kept token names it; a dead predecessor left for a later batch has its pointer cleared
    /// first, which changes nothing for it (a consumed token without a successor is refused, as a
    /// replay, exactly like one with a used successor).
    private func deleteDeadRefreshTokens(_ table: String, revokedBefore: Int64, consumedBefore: Int64, batchSize: Int) async throws -> Int {
        let dead = "(revoked_at < ?1 OR consumed_at < ?2)"
        let deadPredecessor = "(p.revoked_at < ?1 OR p.consumed_at < ?2)"
        var total = 0
        while true {
            let deleted = try await pool.mutate(bumpsRevision: false) { db in
                let ids = try String.fetchAll(
                    db,
                    sql: """
                        SELECT id FROM \(table) WHERE \(dead)
                        AND NOT EXISTS (SELECT 1 FROM \(table) p WHERE p.next_refresh_token_id = \(table).id AND NOT \(deadPredecessor))
                        LIMIT ?3
                        """,
                    arguments: [revokedBefore, consumedBefore, Int64(batchSize)])
                guard !ids.isEmpty else { return 0 }
                let list = "(" + Array(repeating: "?", count: ids.count).joined(separator: ",") + ")"
                try db.execute(
                    sql: "UPDATE \(table) SET next_refresh_token_id = NULL WHERE next_refresh_token_id IN \(list) AND id NOT IN \(list)",
                    arguments: StatementArguments(ids + ids))
                try db.execute(sql: "DELETE FROM \(table) WHERE id IN \(list)", arguments: StatementArguments(ids))
                return db.changesCount
            }
            total += deleted
            if deleted < batchSize { return total }
        }
    }

    private static func cutoff(_ now: Date, _ age: Duration) -> Int64 {
        now.storedMilliseconds - age.components.seconds * 1000 - age.components.attoseconds / 1_000_000_000_000_000
    }
}
