import ArgumentParser
import GatehouseSQLite

/// `gatehouse database migrate`: applies pending schema migrations (`serve` does it too at start).
struct DatabaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "database", abstract: "Store maintenance.", subcommands: [Migrate.self])

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
}
