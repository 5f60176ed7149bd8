#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How long rows that no longer decide anything are kept before they are deleted for good.
///
/// Ending a session, revoking or rotating a token and finishing a grant only mark the row; the store
/// would otherwise grow with every refresh and every abandoned login page. The periods are MAS's
/// (its `docs/development/cleanup-jobs.md`) except one: a consumed refresh token is kept a day, not an
/// hour, because its row is what turns a replay of a stolen refresh token into the end of the session
/// (RFC 9700 §4.14); after a day a replay is only refused.
public struct RetentionPolicy: Sendable, Equatable {
    /// Revoked access and refresh tokens (MAS: 1 hour).
    public var revokedTokens: Duration
    /// Refresh tokens that were exchanged for new ones.
    public var consumedRefreshTokens: Duration
    /// Access tokens past their expiry (MAS: 30 days).
    public var expiredAccessTokens: Duration
    /// Compat, OAuth 2.0 and browser sessions after they finished, with all their tokens (MAS: 30 days).
    public var finishedSessions: Duration
    /// Authorization and device code grants, legacy SSO logins and `m.login.token`s after they were
    /// created (MAS: 7 days); they are useless minutes after that.
    public var grants: Duration
    /// Completed jobs of the job queue (MAS: 30 days). Jobs not yet done are never deleted.
    public var completedJobs: Duration

    public init(
        revokedTokens: Duration = .seconds(3600), consumedRefreshTokens: Duration = .seconds(86_400),
        expiredAccessTokens: Duration = .seconds(30 * 86_400), finishedSessions: Duration = .seconds(30 * 86_400),
        grants: Duration = .seconds(7 * 86_400), completedJobs: Duration = .seconds(30 * 86_400)
    ) {
        self.revokedTokens = revokedTokens
        self.consumedRefreshTokens = consumedRefreshTokens
        self.expiredAccessTokens = expiredAccessTokens
        self.finishedSessions = finishedSessions
        self.grants = grants
        self.completedJobs = completedJobs
    }

    /// The defaults above.
    public static let standard = RetentionPolicy()
}

/// What one cleanup pass deleted, per table, in the order the tables were cleaned.
public struct CleanupReport: Sendable, Equatable {
    /// `(table, rows deleted)`, every cleaned table listed, zeros included.
    public private(set) var deleted: [(table: String, rows: Int)] = []

    public init() {}

    /// Adds `rows` to `table`'s count.
    public mutating func record(_ rows: Int, in table: String) {
        if let index = deleted.firstIndex(where: { $0.table == table }) {
            deleted[index].rows += rows
        } else {
            deleted.append((table, rows))
        }
    }

    /// Rows deleted from `table`.
    public func rows(in table: String) -> Int {
        deleted.first { $0.table == table }?.rows ?? 0
    }

    /// Rows deleted in all.
    public var total: Int { deleted.reduce(0) { $0 + $1.rows } }

    /// `table=rows` pairs for a log line, zeros left out.
    public var summary: String {
        let nonzero = deleted.filter { $0.rows > 0 }
        return nonzero.isEmpty ? "nothing to delete" : nonzero.map { "\($0.table)=\($0.rows)" }.joined(separator: " ")
    }

    public static func == (lhs: CleanupReport, rhs: CleanupReport) -> Bool {
        lhs.deleted.elementsEqual(rhs.deleted) { $0.table == $1.table && $0.rows == $1.rows }
    }
}

/// Deletes rows that ``RetentionPolicy`` no longer keeps.
///
/// Only rows that cannot change any decision are deleted: revoked, consumed, expired or finished ones,
/// never a row that a kept row still refers to (a consumed refresh token whose predecessor is kept,
/// a finished browser session that a kept OAuth 2.0 session came from). A deleted token is unknown,
/// which every check treats like a revoked one, so no cache needs telling.
public protocol RetentionRepository: Sendable {
    /// Deletes at most `batchSize` rows of one table per transaction, as many batches as needed, so a
    /// large backlog never holds the write lock for long.
    /// - Parameters:
    ///   - policy: the retention periods.
    ///   - now: the current time.
    ///   - batchSize: rows per transaction.
    /// - Returns: the rows deleted per table.
    func deleteExpired(policy: RetentionPolicy, now: Date, batchSize: Int) async throws -> CleanupReport
}
