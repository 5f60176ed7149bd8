#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseStorage

/// ``RetentionRepository`` on the PostgreSQL store: the SQLite store's order and rules (its doc
/// comment explains them). Each batch is its own transaction and does not move the store revision, so
/// a cleanup never waits for, nor delays, the writes that decide anything.
public struct PostgresRetentionRepository: RetentionRepository {
    private let database: PostgresDatabase

    init(database: PostgresDatabase) {
        self.database = database
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

    private func deleteRows(_ table: String, where condition: String, _ arguments: [Int64], batchSize: Int) async throws -> Int {
        var total = 0
        while true {
            let deleted = try await database.mutate(bumpsRevision: false) { db in
                try await db.execute(
                    "DELETE FROM \(table) WHERE id IN (SELECT id FROM \(table) WHERE \(condition) LIMIT ?)", arguments + [Int64(batchSize)])
            }
            total += deleted
            if deleted < batchSize { return total }
        }
    }

    private func deleteFinishedSessions(
        _ table: String, tokens: (access: String, refresh: String), referredToBy: [String], before cutoff: Int64, batchSize: Int,
        into report: inout CleanupReport
    ) async throws {
        let kept = referredToBy.map { "AND NOT EXISTS (SELECT 1 FROM \($0) g WHERE g.session_id = \(table).id)" }.joined(separator: " ")
        while true {
            let (sessions, access, refresh) = try await database.mutate(bumpsRevision: false) { db in
                let ids = try await db.fetchAll("SELECT id FROM \(table) WHERE finished_at < ? \(kept) LIMIT ?", [cutoff, Int64(batchSize)])
                    .map { try $0.string("id") }
                guard !ids.isEmpty else { return (0, 0, 0) }
                let list = Self.list(ids.count)
                let refresh = try await db.execute("DELETE FROM \(tokens.refresh) WHERE session_id IN \(list)", ids)
                let access = try await db.execute("DELETE FROM \(tokens.access) WHERE session_id IN \(list)", ids)
                return (try await db.execute("DELETE FROM \(table) WHERE id IN \(list)", ids), access, refresh)
            }
            report.record(sessions, in: table)
            report.record(access, in: tokens.access)
            report.record(refresh, in: tokens.refresh)
            if sessions < batchSize { return }
        }
    }

    private func deleteDeadRefreshTokens(_ table: String, revokedBefore: Int64, consumedBefore: Int64, batchSize: Int) async throws -> Int {
        let dead = "(revoked_at < ?1 OR consumed_at < ?2)"
        let deadPredecessor = "(p.revoked_at < ?1 OR p.consumed_at < ?2)"
        var total = 0
        while true {
            let deleted = try await database.mutate(bumpsRevision: false) { db in
                let ids = try await db.fetchAll(
                    """
                    SELECT id FROM \(table) WHERE \(dead)
                    AND NOT EXISTS (SELECT 1 FROM \(table) p WHERE p.next_refresh_token_id = \(table).id AND NOT \(deadPredecessor))
                    LIMIT ?3
                    """,
                    [revokedBefore, consumedBefore, Int64(batchSize)]
                ).map { try $0.string("id") }
                guard !ids.isEmpty else { return 0 }
                let list = Self.list(ids.count)
                try await db.execute(
                    "UPDATE \(table) SET next_refresh_token_id = NULL WHERE next_refresh_token_id IN \(list) AND id NOT IN \(list)", ids + ids)
                return try await db.execute("DELETE FROM \(table) WHERE id IN \(list)", ids)
            }
            total += deleted
            if deleted < batchSize { return total }
        }
    }

    /// `(?, ?, …)` for `count` values.
    private static func list(_ count: Int) -> String {
        "(" + Array(repeating: "?", count: count).joined(separator: ",") + ")"
    }

    private static func cutoff(_ now: Date, _ age: Duration) -> Int64 {
        now.storedMilliseconds - age.components.seconds * 1000 - age.components.attoseconds / 1_000_000_000_000_000
    }
}
