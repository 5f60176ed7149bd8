import ArgumentParser
import GatehouseCore
import GatehouseIdentity
import GatehouseSQLite

/// `gatehouse database migrate`: applies pending schema migrations (`serve` does it too at start).
/// `gatehouse database cleanup`: deletes rows past their retention now (`serve` does it hourly).
struct DatabaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "database", abstract: "Store maintenance.", subcommands: [Migrate.self, Cleanup.self])

    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Apply pending migrations to the store.")
        @OptionGroup var options: ConfigOption

        func run() throws {
            let path = try options.load().configuration.database.path
            do {
                let store = try SQLiteStore.openForMaintenance(path: path)
                let applied = try store.migrate()
                try store.close()
                print(applied.isEmpty ? "\(path): up to date" : "\(path): applied \(applied.joined(separator: ", "))")
            } catch {
                printError("cannot migrate \(path): \(error)")
                throw ExitCode(1)
            }
        }
    }

    struct Cleanup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete revoked, consumed, expired and finished rows past their retention (serve does this every hour).")
        @OptionGroup var options: ConfigOption

        func run() async throws {
            let path = try options.load().configuration.database.path
            do {
                let store = try SQLiteStore.open(path: path, migrate: false)
                let report = try await StoreCleanup(repository: store.retention, clock: SystemClock()).runOnce()
                try store.close()
                for entry in report.deleted {
                    print("\(entry.table): \(entry.rows) deleted")
                }
            } catch {
                printError("cannot clean up \(path): \(error)")
                throw ExitCode(1)
            }
        }
    }
}
