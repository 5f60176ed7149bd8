#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation
import GatehouseCore
import GatehousePostgres
import Logging
import PostgresNIO
#if canImport(Glibc)
import Glibc
#endif

/// The PostgreSQL server of the store and service tests: a private cluster this process starts once
/// (Debian's binaries under `/usr/lib/postgresql/*/bin`: `initdb` into a temporary directory, a
/// loopback TCP port, no Unix socket, run as the `postgres` system user when the tests run as root)
/// and stops when it exits; or, with `GATEHOUSE_TEST_POSTGRES_URL=postgresql://user:password@host:port/db`,
/// an existing server whose role may create databases. Every test gets a database of its own,
/// copied from a template migrated once per run (`template_…`: on an existing server it is left
/// behind when the process exits, like the database of a test that crashed; drop them at will).
///
/// Missing binaries are an error naming `scripts/install-deps.sh`: the PostgreSQL cases fail, they
/// are never skipped.
public actor PostgresTestServer {
    public static let shared = PostgresTestServer()

    /// Where the cluster (or the given server) is, with the maintenance database.
    private var base: PostgresDatabaseConfiguration?
    private var startError: (any Error)?
    /// Makes (once) the database every migrated test database is copied from.
    private var template: Task<String, any Error>?

    /// How many test databases may be in use at once: Swift Testing starts every test together, and
    /// a few hundred pools connecting at the same moment would make the run slow and flaky.
    private static let concurrentDatabases = 12
    private var inUse = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    /// A new database on the server (started on first use); waits while ``concurrentDatabases``
    /// are in use. Give it back with ``dropDatabase(_:)``.
    /// - Parameter migrated: `true` copies a database that holds the current schema (migrated once
    ///   per run: a copy costs a fraction of running every migration), so opening a store on it finds
    ///   nothing to do; `false` gives an empty database, for tests of the migrations themselves.
    /// - Returns: settings naming it.
    public func createDatabase(migrated: Bool = false) async throws -> PostgresDatabaseConfiguration {
        if inUse >= Self.concurrentDatabases {
            // release() hands its slot straight to the first waiter.
            await withCheckedContinuation { waiting.append($0) }
        } else {
            inUse += 1
        }
        do {
            return try await makeDatabase(migrated: migrated)
        } catch {
            release()
            throw error
        }
    }

    private func release() {
        if waiting.isEmpty {
            inUse -= 1
        } else {
            waiting.removeFirst().resume()
        }
    }

    private func makeDatabase(migrated: Bool) async throws -> PostgresDatabaseConfiguration {
        let base = try await server()
        let source = migrated ? try await migratedTemplate(base) : "template0"
        var settings = base
        settings.database = Self.newName("test")
        // A name cannot be bound as a parameter; these are generated from hex digits only.
        try await Self.create(settings.database, from: source, on: base)
        return settings
    }

    /// The migrated template, made by the first caller; the others wait for it.
    private func migratedTemplate(_ base: PostgresDatabaseConfiguration) async throws -> String {
        if let template { return try await template.value }
        let task = Task {
            var settings = base
            settings.database = Self.newName("template")
            try await Self.create(settings.database, from: "template0", on: base)
            await (try await PostgresStore.open(settings, logger: Self.logger)).close()
            return settings.database
        }
        template = task
        return try await task.value
    }

    private static func newName(_ prefix: String) -> String {
        prefix + "_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    /// `CREATE DATABASE`, retried while the template still has a session: the server ends the
    /// backends of a closed store's connections a moment after the client has gone.
    private static func create(_ name: String, from template: String, on base: PostgresDatabaseConfiguration) async throws {
        var attempt = 0
        while true {
            do {
                try await withConnection(base) { connection in
                    _ = try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name) TEMPLATE \(template)"), logger: logger)
                }
                return
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "55006" && attempt < 100 {
                attempt += 1
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    /// Drops a database made by ``createDatabase(migrated:)``, disconnecting what is left of its sessions.
    public func dropDatabase(_ settings: PostgresDatabaseConfiguration) async {
        defer { release() }
        guard let base else { return }
        try? await Self.withConnection(base) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(settings.database) WITH (FORCE)"), logger: Self.logger)
        }
    }

    private func server() async throws -> PostgresDatabaseConfiguration {
        if let base { return base }
        if let startError { throw startError }
        do {
            let settings: PostgresDatabaseConfiguration
            if let url = ProcessInfo.processInfo.environment["GATEHOUSE_TEST_POSTGRES_URL"], !url.isEmpty {
                settings = try PostgresDatabaseConfiguration(uri: url)
            } else {
                settings = try PrivateCluster.start()
            }
            base = settings
            return settings
        } catch {
            startError = error
            throw error
        }
    }

    public static let logger = Logger(label: "gatehouse.tests.postgres")

    /// One plain connection to `settings`' database, closed after `body` (also for tests that
    /// stand in for another program on the database).
    public static func withConnection<T: Sendable>(
        _ settings: PostgresDatabaseConfiguration, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        let configuration = PostgresConnection.Configuration(
            host: settings.host, port: settings.port, username: settings.username, password: settings.password, database: settings.database,
            tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        do {
            let value = try await body(connection)
            try await connection.close()
            return value
        } catch {
            try? await connection.close()
            throw error
        }
    }
}

/// Why the private cluster could not start.
struct PostgresTestServerError: Error, CustomStringConvertible {
    let description: String
}

/// A throw-away cluster: `initdb` into a private directory, a loopback TCP port only (`trust`: the
/// suite opens hundreds of connections at once, and SCRAM's key stretching on both sides of each
/// would dominate its run time), stopped (and its directory removed) when the test process exits.
enum PrivateCluster {
    /// What `atexit` stops; set once.
    nonisolated(unsafe) private static var running: (bin: String, directory: String, asUser: [String])?

    static func start() throws -> PostgresDatabaseConfiguration {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard
            let bin = versions.sorted(by: { Int($0) ?? 0 < Int($1) ?? 0 }).map({ "/usr/lib/postgresql/\($0)/bin" })
                .last(where: { FileManager.default.isExecutableFile(atPath: $0 + "/initdb") })
        else {
            throw PostgresTestServerError(
                description: "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin; run scripts/install-deps.sh "
                    + "(Debian's `postgresql` package), or point GATEHOUSE_TEST_POSTGRES_URL at a server")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-pg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var asUser: [String] = []
        if geteuid() == 0 {
            // initdb refuses to run as root.
            guard let owner = getpwnam("postgres") else {
                throw PostgresTestServerError(description: "running as root but there is no `postgres` system user; run scripts/install-deps.sh")
            }
            chown(directory, owner.pointee.pw_uid, owner.pointee.pw_gid)
            asUser = ["runuser", "-u", "postgres", "--"]
        }
        let password = UUID().uuidString
        let passwordFile = directory + "/pwfile"
        FileManager.default.createFile(atPath: passwordFile, contents: Data((password + "\n").utf8), attributes: [.posixPermissions: 0o600])
        if let owner = getpwnam("postgres"), geteuid() == 0 { chown(passwordFile, owner.pointee.pw_uid, owner.pointee.pw_gid) }
        try run(
            asUser + [
                bin + "/initdb", "-D", directory + "/data", "-U", "gatehouse", "--pwfile=\(passwordFile)", "--auth-local=scram-sha-256", "--auth-host=trust",
                "--encoding=UTF8", "--locale=C", "--no-sync",
            ], in: directory)
        try? FileManager.default.removeItem(atPath: passwordFile)
        let port = try freePort()
        let options =
            "-c listen_addresses=127.0.0.1 -c port=\(port) -c unix_socket_directories='' -c fsync=off -c synchronous_commit=off "
            + "-c full_page_writes=off -c max_connections=600"
        try run(asUser + [bin + "/pg_ctl", "-D", directory + "/data", "-l", directory + "/postgres.log", "-o", options, "-w", "start"], in: directory)
        running = (bin, directory, asUser)
        atexit {
            guard let (bin, directory, asUser) = PrivateCluster.running else { return }
            try? PrivateCluster.run(asUser + [bin + "/pg_ctl", "-D", directory + "/data", "-m", "immediate", "-w", "stop"], in: directory)
            try? FileManager.default.removeItem(atPath: directory)
        }
        return PostgresDatabaseConfiguration(
            host: "127.0.0.1", port: port, username: "gatehouse", password: password, database: "postgres", sslMode: .disable, maxConnections: 4)
    }

    /// Runs a command to completion; its output goes into the error when it fails. The output goes
    /// to a file, not a pipe (the server `pg_ctl start` leaves running would hold a pipe open), and
    /// the child is spawned and reaped with posix_spawn/waitpid: Foundation's `Process` waits through
    /// a run loop that a test's task may never turn.
    static func run(_ arguments: [String], in directory: String) throws {
        let outputFile = NSTemporaryDirectory() + "gatehouse-pg-command-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: outputFile) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputFile, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of the test process goes to the child: the server `pg_ctl start` leaves running
        // would otherwise keep every descriptor open at that moment, and NIO accepts sockets without
        // close-on-exec, so a connection another test's gateway closed stayed open in postgres (its
        // client never saw the close; EdgeLimitsTests' trickling upload failed so whenever a
        // PostgreSQL test started alongside it).
        try closeFrom(3, in: &actions)
        // In `directory` (the postgres user may not enter the test's working directory).
        let command = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory] + arguments
        var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, command[0], &actions, nil, &argv, environ)
        guard spawned == 0 else {
            throw PostgresTestServerError(description: "cannot run \(arguments[0]): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exitCode = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        guard exitCode == 0 else {
            let text = (try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? ""
            let log = (try? String(contentsOfFile: directory + "/postgres.log", encoding: .utf8)) ?? ""
            throw PostgresTestServerError(
                description: "\(arguments.joined(separator: " ")) failed (status \(exitCode)):\n" + text + log.suffix(2000))
        }
    }

    /// Adds "close every descriptor from `lowest` up" to `actions`: glibc's
    /// `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), looked up at run time because
    /// Swift's Glibc module does not declare it.
    private static func closeFrom(_ lowest: Int32, in actions: inout posix_spawn_file_actions_t) throws {
        typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else {
            throw PostgresTestServerError(description: "posix_spawn_file_actions_addclosefrom_np is missing (glibc 2.34 or later is needed)")
        }
        let addCloseFrom = unsafeBitCast(symbol, to: AddCloseFrom.self)
        let result = addCloseFrom(&actions, lowest)
        guard result == 0 else {
            throw PostgresTestServerError(description: "posix_spawn_file_actions_addclosefrom_np failed: \(String(cString: strerror(result)))")
        }
    }

    /// A TCP port on 127.0.0.1 that nothing listens on now, below the kernel's ephemeral range
    /// (32768 and up on Linux): other tests take ports with `bind(0)` and may release one and
    /// expect it to stay closed, which a server started on a port just released would break.
    private static func freePort() throws -> Int {
        for _ in 0..<200 {
            let port = Int.random(in: 20_000..<32_000)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            close(fd)
            if bound { return port }
        }
        throw PostgresTestServerError(description: "cannot find a free TCP port on 127.0.0.1 between 20000 and 32000")
    }
}
