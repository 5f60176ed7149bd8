#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The order and the statements of a retention pass, for every store: a store's
/// ``RetentionRepository`` only runs each ``RetentionBatch`` in one write transaction that does not
/// move the store revision (every deleted row was already refused by every check, and an unknown
/// token is refused the same way, so no cache needs telling).
///
/// Tables are cleaned so that nothing is left referring to a deleted row: grants and legacy SSO logins
/// first (they refer to sessions and login tokens), then finished sessions with all their tokens, then
/// dead tokens of live sessions, then finished browser sessions nothing refers to any more, then
/// completed jobs. The statements are written once, with `?` and `?N` placeholders, in the SQL both
/// SQLite and PostgreSQL read; dates are the stores' milliseconds since the Unix epoch.
public struct RetentionPlan: Sendable {
    private let grants: Int64
    private let sessions: Int64
    private let revoked: Int64
    private let consumed: Int64
    private let expired: Int64
    private let completedJobs: Int64

    /// - Parameters:
    ///   - policy: the retention periods.
    ///   - now: the current time.
    public init(policy: RetentionPolicy, now: Date) {
        func cutoff(_ age: Duration) -> Int64 {
            now.storedMilliseconds - age.components.seconds * 1000 - age.components.attoseconds / 1_000_000_000_000_000
        }
        grants = cutoff(policy.grants)
        sessions = cutoff(policy.finishedSessions)
        revoked = cutoff(policy.revokedTokens)
        consumed = cutoff(policy.consumedRefreshTokens)
        expired = cutoff(policy.expiredAccessTokens)
        completedJobs = cutoff(policy.completedJobs)
    }

    /// Runs the pass, at most `batchSize` rows of a table per batch, as many batches as needed.
    /// - Parameters:
    ///   - batchSize: rows per transaction (more than zero).
    ///   - execute: runs one batch in one write transaction and returns its statements' row counts,
    ///     or nothing when its selection found no row (``RetentionBatch``).
    /// - Returns: the rows deleted per table.
    public func run(batchSize: Int, _ execute: (RetentionBatch) async throws -> [Int]) async throws -> CleanupReport {
        precondition(batchSize > 0, "batchSize must be positive")
        let limit = StoreStatement.Argument.integer(Int64(batchSize))
        var report = CleanupReport()

        /// Rows of `table` matching `condition`, `batchSize` per transaction.
        func deleteRows(_ table: String, where condition: String, _ arguments: [Int64]) async throws {
            let statement = StoreStatement(
                "DELETE FROM \(table) WHERE id IN (SELECT id FROM \(table) WHERE \(condition) LIMIT ?)",
                arguments.map(StoreStatement.Argument.integer) + [limit])
            while true {
                let deleted = try await execute(RetentionBatch(selection: nil) { _ in [statement] }).first ?? 0
                report.record(deleted, in: table)
                if deleted < batchSize { return }
            }
        }

        /// Sessions finished before the cutoff, with every token of theirs. A session that a kept row
        /// still refers to (`referredToBy` tables' `session_id`) waits for that row to go first.
        func deleteFinishedSessions(_ table: String, tokens: (access: String, refresh: String), referredToBy: [String]) async throws {
            let kept = referredToBy.map { "AND NOT EXISTS (SELECT 1 FROM \($0) g WHERE g.session_id = \(table).id)" }.joined(separator: " ")
            let selection = StoreStatement(
                "SELECT id FROM \(table) WHERE finished_at < ? \(kept) LIMIT ?", [.integer(sessions), limit])
            while true {
                let counts = try await execute(
                    RetentionBatch(selection: selection) { ids in
                        let list = Self.placeholders(ids.count)
                        let values = ids.map(StoreStatement.Argument.text)
                        return [
                            .init("DELETE FROM \(tokens.refresh) WHERE session_id IN \(list)", values),
                            .init("DELETE FROM \(tokens.access) WHERE session_id IN \(list)", values),
                            .init("DELETE FROM \(table) WHERE id IN \(list)", values),
                        ]
                    })
                let (refresh, access, deleted) = counts.count == 3 ? (counts[0], counts[1], counts[2]) : (0, 0, 0)
                report.record(deleted, in: table)
                report.record(access, in: tokens.access)
                report.record(refresh, in: tokens.refresh)
                if deleted < batchSize { return }
            }
        }

        /// Refresh tokens revoked or consumed before their cutoffs.
        ///
        /// Refresh tokens form chains (`next_refresh_token_id` names the successor). A token is deleted
        /// only when no kept token names it; a dead predecessor left for a later batch has its pointer
        /// cleared first, which changes nothing for it (a consumed token without a successor is
        /// refused, as a replay, exactly like one with a used successor).
        func deleteDeadRefreshTokens(_ table: String) async throws {
            let selection = StoreStatement(
                """
                SELECT id FROM \(table) WHERE (revoked_at < ?1 OR consumed_at < ?2)
                AND NOT EXISTS (SELECT 1 FROM \(table) p WHERE p.next_refresh_token_id = \(table).id
                    AND NOT (p.revoked_at < ?1 OR p.consumed_at < ?2))
                LIMIT ?3
                """,
                [.integer(revoked), .integer(consumed), limit])
            while true {
                let counts = try await execute(
                    RetentionBatch(selection: selection) { ids in
                        let list = Self.placeholders(ids.count)
                        let values = ids.map(StoreStatement.Argument.text)
                        return [
                            .init("UPDATE \(table) SET next_refresh_token_id = NULL WHERE next_refresh_token_id IN \(list) AND id NOT IN \(list)",
                                values + values),
                            .init("DELETE FROM \(table) WHERE id IN \(list)", values),
                        ]
                    })
                let deleted = counts.last ?? 0
                report.record(deleted, in: table)
                if deleted < batchSize { return }
            }
        }

        for table in ["oauth2_authorization_grants", "oauth2_device_code_grants", "compat_sso_logins"] {
            try await deleteRows(table, where: "created_at < ?", [grants])
        }
        try await deleteRows(
            "compat_login_tokens",
            where: "created_at < ? AND NOT EXISTS (SELECT 1 FROM compat_sso_logins s WHERE s.login_token_id = compat_login_tokens.id)",
            [grants])

        try await deleteFinishedSessions("compat_sessions", tokens: ("compat_access_tokens", "compat_refresh_tokens"), referredToBy: [])
        try await deleteFinishedSessions(
            "oauth2_sessions", tokens: ("oauth2_access_tokens", "oauth2_refresh_tokens"),
            referredToBy: ["oauth2_authorization_grants", "oauth2_device_code_grants"])

        for (access, refresh) in [("compat_access_tokens", "compat_refresh_tokens"), ("oauth2_access_tokens", "oauth2_refresh_tokens")] {
            try await deleteDeadRefreshTokens(refresh)
            try await deleteRows(
                access,
                where: "(revoked_at < ? OR expires_at < ?) AND NOT EXISTS (SELECT 1 FROM \(refresh) r WHERE r.access_token_id = \(access).id)",
                [revoked, expired])
        }

        try await deleteRows(
            "browser_sessions",
            where: """
                finished_at < ?
                AND NOT EXISTS (SELECT 1 FROM oauth2_sessions o WHERE o.browser_session_id = browser_sessions.id)
                AND NOT EXISTS (SELECT 1 FROM oauth2_authorization_grants g WHERE g.browser_session_id = browser_sessions.id)
                AND NOT EXISTS (SELECT 1 FROM oauth2_device_code_grants d WHERE d.browser_session_id = browser_sessions.id)
                """,
            [sessions])
        try await deleteRows("jobs", where: "completed_at < ?", [completedJobs])
        return report
    }

    /// `(?,?,…)` for `count` values.
    private static func placeholders(_ count: Int) -> String {
        "(" + Array(repeating: "?", count: count).joined(separator: ",") + ")"
    }
}

/// One write transaction of a ``RetentionPlan``: the store runs ``selection`` (when there is one),
/// and, unless it found no row, every statement of ``statements`` for the ids it found, in order,
/// returning each statement's count of changed rows.
public struct RetentionBatch: Sendable {
    /// A `SELECT id …` whose ids the statements are about; `nil`: the statements need none.
    public var selection: StoreStatement?
    /// The statements for the selected ids (empty when there is no selection).
    public var statements: @Sendable ([String]) -> [StoreStatement]
}
