import GatehouseCore
import GatehouseStorage

/// `gatehouse import-synapse`: reads a stopped Synapse's database and writes its accounts, emails,
/// devices and tokens into Gatehouse's store (MAS's `syn2mas migrate`).
///
/// Order: refuse what cannot work (another homeserver, passwords that would not verify, Synapse
/// still running, an unknown schema), read every table in one snapshot, plan row by row
/// (``SynapseImportPlanner``), then write everything in one transaction, so a failure at any point
/// leaves the store as it was, and running it again is always safe. A dry run does all of it but the
/// write, and may run while Synapse is up.
public struct SynapseImporter: Sendable {
    /// What to import into and how.
    public struct Settings: Sendable {
        /// Gatehouse's `matrix.homeserver`.
        public var serverName: String
        /// Synapse's `server_name`.
        public var synapseServerName: String?
        /// The bcrypt scheme of `passwords.schemes`, if any.
        public var bcryptScheme: PasswordSchemeConfiguration?
        /// Synapse's `password_config.pepper`.
        public var synapsePepper: String?
        /// Synapse's `GET /health` on its client listener: answered means Synapse runs.
        public var synapseHealthURL: String?

        /// - Parameters:
        ///   - serverName: Gatehouse's homeserver name.
        ///   - synapseServerName: Synapse's `server_name`.
        ///   - bcryptScheme: the configured bcrypt scheme.
        ///   - synapsePepper: Synapse's pepper.
        ///   - synapseHealthURL: where to ask whether Synapse runs.
        public init(
            serverName: String, synapseServerName: String?, bcryptScheme: PasswordSchemeConfiguration?, synapsePepper: String?,
            synapseHealthURL: String?
        ) {
            self.serverName = serverName
            self.synapseServerName = synapseServerName
            self.bcryptScheme = bcryptScheme
            self.synapsePepper = synapsePepper
            self.synapseHealthURL = synapseHealthURL
        }
    }

    /// Names, password scheme and the Synapse health URL.
    public let settings: Settings
    /// Synapse's database.
    public let database: any SynapseDatabase
    /// `nil` for a dry run against a store that does not exist yet (nothing to compare with).
    public let store: (any AccountImportRepository)?
    /// Asks Synapse's health endpoint (`nil`: not asked).
    public let probe: (any HTTPProbing)?
    /// The import time.
    public let clock: any WallClock
    /// For the ids of new rows.
    public let random: any RandomSource

    /// - Parameters:
    ///   - settings: names, password scheme and the Synapse health URL.
    ///   - database: Synapse's database.
    ///   - store: Gatehouse's store.
    ///   - probe: asks Synapse's health endpoint (`nil`: not asked).
    ///   - clock: the import time.
    ///   - random: for new ids.
    public init(
        settings: Settings, database: any SynapseDatabase, store: (any AccountImportRepository)?, probe: (any HTTPProbing)?,
        clock: any WallClock, random: any RandomSource
    ) {
        self.settings = settings
        self.database = database
        self.store = store
        self.probe = probe
        self.clock = clock
        self.random = random
    }

    /// Runs the import (or the dry run).
    /// - Parameters:
    ///   - dryRun: read and plan, write nothing.
    ///   - progress: the progress line.
    /// - Returns: the report.
    /// - Throws: ``SynapseImportError``.
    public func run(dryRun: Bool, progress: any ImportProgress) async throws(SynapseImportError) -> ImportReport {
        if let synapse = settings.synapseServerName, synapse != settings.serverName {
            throw .serverNameMismatch(gatehouse: settings.serverName, synapse: synapse)
        }
        if let scheme = settings.bcryptScheme, scheme.pepper != settings.synapsePepper {
            throw .pepperMismatch
        }
        if !dryRun, let probe, let url = settings.synapseHealthURL,
            case .success(let response) = await probe.get(url, headers: []), response.status == 200
        {
            throw .synapseRunning("it answers GET \(url)")
        }
        let snapshot = try await database.read(progress: progress, exclusive: !dryRun)
        if settings.bcryptScheme == nil, snapshot.users.contains(where: { $0.passwordHash?.hasPrefix("$2") == true && !$0.isGuest }) {
            throw .noBcryptScheme
        }
        let baseline: ImportBaseline
        do {
            baseline = try await store?.baseline() ?? ImportBaseline()
        } catch {
            throw .writeFailed("\(error)")
        }
        let planner = SynapseImportPlanner(
            serverName: settings.serverName, bcryptVersion: settings.bcryptScheme?.version, clock: clock, random: random)
        let (batch, report) = planner.plan(snapshot, baseline: baseline)
        guard !dryRun, let store, !batch.isEmpty else { return report }
        progress.begin("writing", expected: batch.rowCount)
        do {
            try await store.write(batch) { written in progress.advance(to: written) }
        } catch {
            throw .writeFailed("\(error)")
        }
        progress.end(batch.rowCount)
        return report
    }
}
