import ArgumentParser
import Foundation
import GatehouseCore
import GatehousePostgres
import GatehouseSQLite
import GatehouseStorage
import Logging

/// `gatehouse database copy --from SQLITE_FILE --to POSTGRESQL_URI`: moves a SQLite deployment into
/// PostgreSQL without losing a session; a thin adapter over ``StoreCopy``.
struct DatabaseCopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy every row of a SQLite store into a PostgreSQL database (to move a deployment to several instances).",
        discussion: """
            Applies the target's migrations first (as `database migrate` does), then copies every table (users, passwords, \
            sessions, tokens, browser sessions, clients, grants, jobs) in one transaction: a failure or a refusal leaves \
            every table of the target as it was. Running it again \
            copies only rows the target lacks and reports "nothing new" when there are none. A target holding other rows \
            (another deployment's, or sessions made after an earlier copy) is refused, never merged. The source is read from \
            one snapshot; stop Gatehouse before the copy so that no session made afterwards is left behind. \
            Exit status: 0 copied or nothing new, 1 refused or failed.
            """)

    @Option(name: .long, help: "The SQLite file (`database.path` of the current configuration).")
    var from: String

    @Option(name: .long, help: "postgresql://user@host:port/database[?sslmode=…] (the new `database.uri`).")
    var to: String

    @Option(name: .long, help: "A file holding the PostgreSQL password, when --to has none (keeps it out of the process list).")
    var toPasswordFile: String?

    func run() async throws {
        var settings: PostgresDatabaseConfiguration
        do {
            settings = try PostgresDatabaseConfiguration(uri: to)
        } catch {
            printError("--to: \(error.message)")
            throw ExitCode(1)
        }
        if let toPasswordFile {
            guard let data = FileManager.default.contents(atPath: toPasswordFile) else {
                printError("--to-password-file: cannot read \(toPasswordFile)")
                throw ExitCode(1)
            }
            settings.password = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard FileManager.default.fileExists(atPath: from) else {
            printError("--from: \(from) does not exist")
            throw ExitCode(1)
        }

        let source: SQLiteStore
        do {
            source = try SQLiteStore.open(path: from, migrate: false)
        } catch {
            printError("cannot open \(from): \(error)")
            throw ExitCode(1)
        }
        defer { try? source.close() }

        var logger = Logger(label: "gatehouse.postgres")
        logger.logLevel = .critical
        let target: PostgresStore
        do {
            target = try await PostgresStore.openForMaintenance(settings, logger: logger)
        } catch {
            printError("cannot open \(settings.summary): \(error)")
            throw ExitCode(1)
        }
        do {
            let applied = try await target.migrate()
            if !applied.isEmpty { print("\(settings.summary): applied \(applied.joined(separator: ", "))") }
            print("copying \(from) into \(settings.summary)")
            let copy = StoreCopy(source: try source.copySource(), target: target.copyTarget, progress: Self.printProgress)
            let report = try await copy.run()
            await target.close()
            Self.printSummary(report)
        } catch {
            await target.close()
            printError("copy refused, no row of \(settings.summary) changed: \(error)")
            throw ExitCode(1)
        }
    }

    /// One line per table as it finishes, and one per 10 000 rows of a large one.
    @Sendable private static func printProgress(_ progress: StoreCopy.Progress) {
        switch progress {
        case .started, .advanced(_, _, 0): break
        case .advanced(let table, let done, let rows):
            if done % 10_000 < 500 && done < rows { print("  \(table): \(done)/\(rows)") }
        case .finished(let table):
            print("  \(table.name): \(table.sourceRows) rows, \(table.copied) copied, \(table.alreadyPresent) already there")
        }
    }

    private static func printSummary(_ report: StoreCopyReport) {
        let copied = report.tables.reduce(0) { $0 + $1.copied }
        let rows = report.tables.reduce(0) { $0 + $1.sourceRows }
        if report.copiedAnything {
            print("done: \(copied) rows copied (\(rows) in the source, every one now in the target)")
        } else {
            print("nothing new: the target already holds all \(rows) rows of the source; nothing was changed")
        }
    }
}
