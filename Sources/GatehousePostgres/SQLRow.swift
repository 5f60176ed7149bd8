#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseStorage
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
