import ArgumentParser
import GatehouseCore
import GatehouseIdentity
import GatehouseStorage

/// `gatehouse database migrate`: applies pending schema migrations (`serve` does it too at start).
/// `gatehouse database status`: lists applied and pending migrations without changing anything.
/// `gatehouse database cleanup`: deletes rows past their retention now (`serve` does it hourly).
/// Each works on the SQLite file or the PostgreSQL database `database` names.
/// `gatehouse database copy`: moves a SQLite store into PostgreSQL (``DatabaseCopyCommand``).
struct DatabaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "database", abstract: "Store maintenance.", subcommands: [Migrate.self, Status.self, Cleanup.self, DatabaseCopyCommand.self])

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Apply pending migrations to the store.")
        @OptionGroup var options: ConfigOption

        func run() async throws {
            let database = try options.load().configuration.database
            do {
                let store = try await OpenedStore.open(database, migrations: .leavePending)
                let applied: [String]
                do {
                    applied = try await store.migrate()
                    await store.close()
                } catch {
                    await store.close()
                    throw error
                }
                print(applied.isEmpty ? "\(store.summary): up to date" : "\(store.summary): applied \(applied.joined(separator: ", "))")
            } catch {
                printError("cannot migrate \(database.summary): \(error)")
                throw ExitCode(1)
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show which migrations the store has applied and which are pending (exit 2 when some are pending).")
        @OptionGroup var options: ConfigOption

        func run() async throws {
            let database = try options.load().configuration.database
            let pending: [String]
            let known: [String]
            let kind: String
            do {
                let store = try await OpenedStore.open(database, migrations: .leavePending)
                do {
                    pending = try await store.pendingMigrations()
                    known = store.knownMigrations
                    kind = store.kind
                    await store.close()
                } catch {
                    await store.close()
                    throw error
                }
            } catch {
                printError("cannot read the schema of \(database.summary): \(error)")
                throw ExitCode(1)
            }
            print("\(database.summary) (\(kind))")
            for identifier in known {
                print("  \(pending.contains(identifier) ? "pending" : "applied")  \(identifier)")
            }
            if !pending.isEmpty {
                print("\(pending.count) pending; run `gatehouse database migrate`")
                throw ExitCode(2)
            }
        }
    }

    struct Cleanup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete revoked, consumed, expired and finished rows past their retention (serve does this every hour).")
        @OptionGroup var options: ConfigOption

        func run() async throws {
            let database = try options.load().configuration.database
            do {
                let store = try await OpenedStore.open(database, migrations: .requireCurrent)
                let report: CleanupReport
                do {
                    report = try await StoreCleanup(repository: store.store.retention, clock: SystemClock()).runOnce()
                    await store.close()
                } catch {
                    await store.close()
                    throw error
                }
                for entry in report.deleted {
                    print("\(entry.table): \(entry.rows) deleted")
                }
            } catch {
                printError("cannot clean up \(database.summary): \(error)")
                throw ExitCode(1)
            }
        }
    }
}
