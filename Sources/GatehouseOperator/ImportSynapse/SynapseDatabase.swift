/// A Synapse database an import reads: SQLite (``SQLiteSynapseDatabase``) or PostgreSQL
/// (``PostgresSynapseDatabase``).
public protocol SynapseDatabase: Sendable {
    /// Reads every table of ``SynapseTable`` in ONE read transaction (a consistent snapshot), after
    /// checking the schema version with ``SynapseSchema/check(version:)``.
    /// - Parameters:
    ///   - progress: told when each table starts (with an estimate of its rows) and how far it got.
    ///   - exclusive: `true` for a real import: also make sure Synapse is not writing to the database
    ///     (where the engine can tell) and keep it from doing so while reading. `false` for a dry run,
    ///     which may run next to a live Synapse.
    /// - Throws: ``SynapseImportError``.
    func read(progress: any ImportProgress, exclusive: Bool) async throws(SynapseImportError) -> SynapseSnapshot
}

/// The Synapse schema versions whose tables an import knows.
public enum SynapseSchema {
    /// `users.locked`, the newest column an import reads, exists from schema 80 on.
    public static let oldestKnown = 80
    /// Synapse 1.163's `SCHEMA_VERSION`; newer schemas are refused until checked.
    public static let newestKnown = 94

    /// Refuses a schema outside ``oldestKnown``...``newestKnown``.
    /// - Parameter version: `schema_version.version` of the database.
    public static func check(version: Int) throws(SynapseImportError) {
        guard (oldestKnown...newestKnown).contains(version) else { throw .unknownSchema(version) }
    }
}

/// Told how far reading and writing got; the terminal progress line (``TerminalProgress``) or nothing.
public protocol ImportProgress: Sendable {
    /// A table (or the write) starts.
    /// - Parameters:
    ///   - name: what is being done, e.g. `users`.
    ///   - expected: how many rows to expect (an estimate; 0 when unknown).
    func begin(_ name: String, expected: Int)
    /// Rows done so far in the current step.
    func advance(to done: Int)
    /// The current step is done, with `done` rows.
    func end(_ done: Int)
}

/// Progress that goes nowhere (not a terminal, tests).
public struct SilentProgress: ImportProgress {
    public init() {}
    public func begin(_ name: String, expected: Int) {}
    public func advance(to done: Int) {}
    public func end(_ done: Int) {}
}
