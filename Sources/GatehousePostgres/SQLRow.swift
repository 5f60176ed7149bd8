#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PostgresNIO

/// One result row, read by column name. Every integer column is `bigint`; dates are milliseconds
/// since the Unix epoch (see `Migration0001Initial`).
struct SQLRow {
    private let row: PostgresRandomAccessRow

    init(_ row: PostgresRandomAccessRow) {
        self.row = row
    }

    func string(_ column: String) throws -> String { try row[column].decode(String.self) }
    func optionalString(_ column: String) throws -> String? { try row[column].decode(String?.self) }
    func int64(_ column: String) throws -> Int64 { try row[column].decode(Int64.self) }
    func optionalInt64(_ column: String) throws -> Int64? { try row[column].decode(Int64?.self) }
    func optionalInt64(at index: Int) throws -> Int64? { try row[index].decode(Int64?.self) }
    func int(_ column: String) throws -> Int { Int(try int64(column)) }
    func bool(_ column: String) throws -> Bool { try row[column].decode(Bool.self) }
    func date(_ column: String) throws -> Date { Date(storedMilliseconds: try int64(column)) }
    func optionalDate(_ column: String) throws -> Date? { try optionalInt64(column).map(Date.init(storedMilliseconds:)) }
    /// Whether the column is SQL `NULL` (a LEFT JOIN that found nothing).
    func isNull(_ column: String) -> Bool { row[column].bytes == nil }
}

/// The on-disk date convention, the same as the SQLite store's: `bigint` milliseconds since
/// 1970-01-01T00:00:00Z, rounded to the nearest millisecond.
///
/// Why not `timestamptz`: it has microsecond precision, so a date would read back differently from
/// SQLite (the suite runs the same assertions against both), the conditional updates compare
/// exact stored values (`exchanged_at = ?` in the release methods), and `gatehouse database copy`
/// moves rows between the two backends without converting a column.
extension Date {
    /// Milliseconds since the Unix epoch, rounded to the nearest millisecond.
    var storedMilliseconds: Int64 {
        Int64((timeIntervalSince1970 * 1000).rounded())
    }

    /// The date stored as `milliseconds`.
    /// - Parameter storedMilliseconds: milliseconds since the Unix epoch.
    init(storedMilliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(storedMilliseconds) / 1000)
    }
}

extension Optional where Wrapped == Date {
    /// ``Date/storedMilliseconds`` or `NULL`.
    var storedMilliseconds: Int64? {
        self?.storedMilliseconds
    }
}
