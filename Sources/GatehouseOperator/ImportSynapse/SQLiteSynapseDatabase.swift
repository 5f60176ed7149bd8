#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GRDB

#if canImport(Glibc)
import Glibc
#endif

/// Synapse's SQLite file, opened read-only with the system libsqlite3 (through GRDB, as Gatehouse's
/// own store).
///
/// Everything is read in one read transaction. Synapse runs SQLite in WAL mode, where every
/// connection holds a shared POSIX lock on one byte of the `-shm` file for as long as it is open
/// (SQLite's "DMS" lock): for a real import, such a lock held by another process means Synapse is
/// still running, and the import refuses. (A database in rollback-journal mode shows no such sign
/// while idle; the importer's health check of Synapse's listener covers that case.)
public struct SQLiteSynapseDatabase: SynapseDatabase {
    /// The database file (`database.args.database`).
    public let path: String

    /// - Parameter path: Synapse's database file.
    public init(path: String) {
        self.path = path
    }

    public func read(progress: any ImportProgress, exclusive: Bool) async throws(SynapseImportError) -> SynapseSnapshot {
        guard FileManager.default.fileExists(atPath: path) else { throw .cannotOpen("\(path) does not exist") }
        if exclusive, Self.isOpenInAnotherProcess(path) {
            throw .synapseRunning("another process has \(path) open")
        }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.label = "synapse"
        configuration.busyMode = .timeout(2)
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            throw .cannotOpen("\(path): \(error)")
        }
        defer { try? queue.close() }
        do {
            return try await queue.read { db in try Self.readAll(db, progress: progress) }
        } catch let error as SynapseImportError {
            throw error
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
            throw .synapseRunning("\(path) is locked by another process")
        } catch {
            throw .readFailed("\(error)")
        }
    }

    /// Whether another process holds SQLite's shared-memory "DMS" lock of the WAL-mode database
    /// `path`: byte 128 of `path-shm` (`UNIX_SHM_DMS` in SQLite's `os_unix.c`), read-locked by every
    /// open connection. Asked with `F_GETLK`, which takes no lock; locks of this process never count.
    /// - Parameter path: the database file.
    static func isOpenInAnotherProcess(_ path: String) -> Bool {
        let fd = open(path + "-shm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = 128
        lock.l_len = 1
        guard fcntl(fd, F_GETLK, &lock) == 0 else { return false }
        return lock.l_type != Int16(F_UNLCK)
    }

    private static func readAll(_ db: Database, progress: any ImportProgress) throws -> SynapseSnapshot {
        guard try db.tableExists("schema_version"), try db.tableExists("users") else {
            throw SynapseImportError.notSynapse("no schema_version or users table")
        }
        guard let version = try Int.fetchOne(db, sql: SynapseQueries.schemaVersion(postgres: false)) else {
            throw SynapseImportError.notSynapse("schema_version is empty")
        }
        try SynapseSchema.check(version: version)
        var snapshot = SynapseSnapshot(schemaVersion: version)
        snapshot.users = try rows(db, .users, SynapseQueries.users(postgres: false), progress) { row in
            SynapseUserRow(
                name: row[0], passwordHash: row[1], isAdmin: row[2] as Int64 != 0, isDeactivated: row[3] as Int64 != 0,
                isLocked: row[4] as Int64 != 0, isGuest: row[5] as Int64 != 0, appserviceId: row[6],
                createdAt: (row[7] as Int64?).map { Date(timeIntervalSince1970: Double($0)) })
        }
        snapshot.threepids = try rows(db, .userThreepids, SynapseQueries.threepids, progress) { row in
            SynapseThreepidRow(userId: row[0], medium: row[1], address: row[2], addedAt: milliseconds(row[3]))
        }
        snapshot.devices = try rows(db, .devices, SynapseQueries.devices(postgres: false), progress) { row in
            SynapseDeviceRow(userId: row[0], deviceId: row[1], displayName: row[2], lastSeen: milliseconds(row[3]), isHidden: row[4] as Int64 != 0)
        }
        snapshot.accessTokens = try rows(db, .accessTokens, SynapseQueries.accessTokens(postgres: false), progress) { row in
            SynapseAccessTokenRow(
                id: row[0], userId: row[1], deviceId: row[2], token: row[3], validUntil: milliseconds(row[4]), puppetsUserId: row[5],
                refreshTokenId: row[6], used: row[7] as Int64 != 0)
        }
        snapshot.refreshTokens = try rows(db, .refreshTokens, SynapseQueries.refreshTokens, progress) { row in
            SynapseRefreshTokenRow(id: row[0], userId: row[1], deviceId: row[2], token: row[3], nextTokenId: row[4])
        }
        return snapshot
    }

    private static func rows<T>(
        _ db: Database, _ table: SynapseTable, _ sql: String, _ progress: any ImportProgress, _ decode: (Row) -> T
    ) throws -> [T] {
        progress.begin(table.rawValue, expected: try Int.fetchOne(db, sql: SynapseQueries.count(table)) ?? 0)
        var result: [T] = []
        let cursor = try Row.fetchCursor(db, sql: sql)
        while let row = try cursor.next() {
            result.append(decode(row))
            if result.count % 1000 == 0 { progress.advance(to: result.count) }
        }
        progress.end(result.count)
        return result
    }

    private static func milliseconds(_ value: Int64?) -> Date? {
        value.map { Date(timeIntervalSince1970: Double($0) / 1000) }
    }
}
