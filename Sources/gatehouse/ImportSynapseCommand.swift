import ArgumentParser
import Foundation
import GatehouseCore
import GatehouseOperator
import GatehouseStorage
import Logging
import NIOPosix

/// `gatehouse import-synapse -c GATEHOUSE_CONFIG --synapse-config HOMESERVER_YAML [--dry-run]`: a thin
/// adapter over ``SynapseImporter`` (what MAS calls `syn2mas migrate`).
struct ImportSynapseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-synapse",
        abstract: "Import Synapse's users, passwords, emails, devices and tokens into Gatehouse's store.",
        discussion: """
            Reads the database named in Synapse's homeserver.yaml (SQLite or PostgreSQL), read-only, in one snapshot, and \
            writes everything in one transaction: a failure leaves Gatehouse's store as it was. Stop Synapse first (the import \
            refuses while it runs); --dry-run reads and reports without writing and may run next to a live Synapse. \
            Running it again imports only what is new. A user that already exists in Gatehouse keeps its password, admin flag \
            and lock state; its emails, devices and tokens not yet in Gatehouse are added. Exit status: 0 done, 1 refused or failed.
            """)

    @OptionGroup var options: ConfigOption

    @Option(name: .long, help: "Synapse's homeserver.yaml (its database section names the database).")
    var synapseConfig: String

    @Flag(name: .long, help: "Read and report, write nothing.")
    var dryRun = false

    func run() async throws {
        let configuration = try options.load().configuration
        guard let data = FileManager.default.contents(atPath: synapseConfig) else {
            printError("cannot read \(synapseConfig)")
            throw ExitCode(1)
        }
        let homeserver: HomeserverConfig
        let source: SynapseDatabaseSettings
        do {
            homeserver = try HomeserverConfig(text: String(decoding: data, as: UTF8.self))
            source = try homeserver.databaseSettings()
        } catch {
            printError("\(synapseConfig): \(error)")
            throw ExitCode(1)
        }

        let store: OpenedStore?
        do {
            store = try await openTarget(configuration.database)
        } catch {
            printError("cannot open Gatehouse's store \(configuration.database.summary): \(error)")
            throw ExitCode(1)
        }

        var logger = Logger(label: "gatehouse.import-synapse")
        logger.logLevel = .critical
        let database: any SynapseDatabase =
            switch source {
            case .sqlite(let path): SQLiteSynapseDatabase(path: path)
            case .postgres(let settings): PostgresSynapseDatabase(settings: settings, logger: logger)
            }
        let probe = AsyncHTTPProbe(group: MultiThreadedEventLoopGroup.singleton, timeout: .seconds(3))
        let importer = SynapseImporter(
            settings: .init(
                serverName: configuration.matrix.homeserver, synapseServerName: homeserver.serverName,
                bcryptScheme: configuration.passwords.schemes.first { $0.algorithm == .bcrypt },
                synapsePepper: homeserver.passwords.pepper,
                synapseHealthURL: homeserver.clientListenerURL.map { $0 + "health" }),
            database: database, store: store?.accountImport, probe: probe, clock: SystemClock(), random: SystemRandom())
        let result: Result<ImportReport, SynapseImportError>
        do {
            result = .success(try await importer.run(dryRun: dryRun, progress: TerminalProgress.make()))
        } catch {
            result = .failure(error)
        }
        await probe.shutdown()
        await store?.close()
        switch result {
        case .success(let report):
            print(report.rendered(source: source.summary, dryRun: dryRun))
        case .failure(let error):
            printError("import-synapse: \(error)")
            throw ExitCode(1)
        }
    }

    /// The store to import into. A dry run never creates or migrates it: against a missing SQLite
    /// file or an empty PostgreSQL database it reports everything as new (`nil`).
    private func openTarget(_ database: DatabaseConfiguration) async throws -> OpenedStore? {
        guard dryRun else { return try await OpenedStore.open(database) }
        if let path = database.sqlitePath, !FileManager.default.fileExists(atPath: path) { return nil }
        let store = try await OpenedStore.open(database, migrations: .leavePending)
        let pending = try await store.pendingMigrations()
        if pending.isEmpty { return store }
        await store.close()
        if pending == store.knownMigrations { return nil }
        throw StorageError.unavailable("the store needs migrations \(pending.joined(separator: ", ")); run `gatehouse database migrate`")
    }
}
