#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The on-disk date convention of both stores: integer milliseconds since 1970-01-01T00:00:00Z
/// (SQLite `INTEGER`, PostgreSQL `bigint`).
///
/// Integers keep comparisons in SQL exact (`run_at <= ?`, `lease_until > ?`) and are easy to read with
/// the `sqlite3` shell (`datetime(created_at / 1000, 'unixepoch')`). Dates are rounded to the nearest
/// millisecond when stored, so a value read back equals the stored one only to that precision.
///
/// Why not PostgreSQL's `timestamptz`: it has microsecond precision, so a date would read back
/// differently from SQLite (the suite runs the same assertions against both), the conditional updates
/// compare exact stored values (`exchanged_at = ?` in the release methods), and `gatehouse database
/// copy` moves rows between the two backends without converting a column.
extension Date {
    /// Milliseconds since the Unix epoch, rounded to the nearest millisecond.
    package var storedMilliseconds: Int64 {
        Int64((timeIntervalSince1970 * 1000).rounded())
    }

    /// The date stored as `milliseconds`.
    /// - Parameter storedMilliseconds: milliseconds since the Unix epoch.
    package init(storedMilliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(storedMilliseconds) / 1000)
    }
}

extension Optional where Wrapped == Date {
    /// ``Date/storedMilliseconds`` or `NULL`.
    package var storedMilliseconds: Int64? {
        self?.storedMilliseconds
    }
}
