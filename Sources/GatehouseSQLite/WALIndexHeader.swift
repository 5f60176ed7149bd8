import GRDBSQLite
import Synchronization

/// The header of a WAL-mode database's wal-index (its `-shm` file), read in the shared memory where
/// SQLite maps it for every process that has the database open.
///
/// A commit by any connection of any process rewrites this header before the commit is visible to
/// anyone (SQLite's `walIndexWriteHdr`: its change counter `iChange` is incremented, `mxFrame`
/// moves or the salts change, and its checksum with them), so a header equal to one seen before
/// means that nothing was committed in between, and what was read from the database then is still
/// what it holds. The layout is SQLite's file format (<https://www.sqlite.org/walformat.html>,
/// "The WAL-Index Header"): processes built against different SQLite versions share one `-shm`, so it
/// does not change between versions; ``attach(to:)`` checks its version number all the same.
struct WALIndexHeader {
    /// The 48 bytes of the header's first copy (the one a commit writes last), as six words.
    struct Snapshot: Equatable {
        fileprivate var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

        static func == (lhs: Snapshot, rhs: Snapshot) -> Bool {
            lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1 && lhs.words.2 == rhs.words.2
                && lhs.words.3 == rhs.words.3 && lhs.words.4 == rhs.words.4 && lhs.words.5 == rhs.words.5
        }
    }

    /// `WALINDEX_MAX_VERSION`, the only wal-index format SQLite has had since 3.7.0.
    private static let formatVersion: UInt32 = 3_007_000
    /// The size of a wal-index region, as every SQLite maps it (`WALINDEX_PGSZ`).
    private static let regionSize: Int32 = 32_768

    /// The start of region 0 of the wal-index; valid while the connection it came from is open.
    private let base: UnsafeRawPointer

    /// The wal-index header of `connection`'s main database, where SQLite already maps it; `nil` if the
    /// database is not in WAL mode, if its VFS has no shared memory, or if the connection has not
    /// opened the WAL yet (it does on its first read).
    ///
    /// Asks the VFS for a region it has already mapped (`xShmMap` without extending): SQLite's own
    /// mapping, never a second one (closing a second descriptor of the `-shm` file would release the
    /// POSIX locks SQLite holds on it for the whole process).
    /// - Parameter connection: an open connection that has read its database at least once; the
    ///   header must not outlive it.
    static func attach(to connection: OpaquePointer) -> WALIndexHeader? {
        var file: UnsafeMutablePointer<sqlite3_file>?
        guard sqlite3_file_control(connection, "main", SQLITE_FCNTL_FILE_POINTER, &file) == SQLITE_OK,
            let file, let methods = file.pointee.pMethods, methods.pointee.iVersion >= 2,
            let map = methods.pointee.xShmMap
        else { return nil }
        var region: UnsafeMutableRawPointer?
        let status = map(file, 0, regionSize, 0, &region)
        // SQLITE_READONLY: mapped read-only, still the shared memory every writer updates.
        guard status == SQLITE_OK || status == SQLITE_READONLY, let region else { return nil }
        let header = WALIndexHeader(base: UnsafeRawPointer(region))
        let isInitialised = header.base.load(fromByteOffset: 12, as: UInt8.self) == 1
        guard header.base.load(as: UInt32.self) == formatVersion, isInitialised else { return nil }
        return header
    }

    /// The header as it is now. A read torn by a concurrent commit differs from every header read
    /// before it, so it can only send the caller to the database, never hide a commit.
    func snapshot() -> Snapshot {
        let words = (
            base.load(fromByteOffset: 0, as: UInt64.self), base.load(fromByteOffset: 8, as: UInt64.self),
            base.load(fromByteOffset: 16, as: UInt64.self), base.load(fromByteOffset: 24, as: UInt64.self),
            base.load(fromByteOffset: 32, as: UInt64.self), base.load(fromByteOffset: 40, as: UInt64.self)
        )
        // What the caller reads from the database after this must not be read before the header.
        atomicMemoryFence(ordering: .acquiring)
        return Snapshot(words: words)
    }
}
