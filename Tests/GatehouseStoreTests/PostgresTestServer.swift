#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation
import GatehouseCore
import Logging
import PostgresNIO
#if canImport(Glibc)
import Glibc
#endif

/// The PostgreSQL server of the store tests: a private cluster this process starts once (Debian's
/// binaries under `/usr/lib/postgresql/*/bin`: `initdb` into a temporary directory, a loopback TCP
/// port, no Unix socket, run as the `postgres` system user when the tests run as root) and stops when
/// it exits; or, with `GATEHOUSE_TEST_POSTGRES_URL=postgresql://user:password@host:port/db`, an
/// existing server whose role may create databases. Every test gets a database of its own.
///
/// Missing binaries are an error naming `scripts/install-deps.sh`: the PostgreSQL cases fail, they
/// are never skipped.
actor PostgresTestServer {
    static let shared = PostgresTestServer()

    /// Where the cluster (or the given server) is, with the maintenance database.
    private var base: PostgresDatabaseConfiguration?
    private var startError: (any Error)?

    /// How many test databases may be in use at once: Swift Testing starts every test together, and
    /// a few hundred pools connecting at the same moment would make the run slow and flaky.
    private static let concurrentDatabases = 8
    private var inUse = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    /// A new empty database on the server (started on first use); waits while
    /// ``concurrentDatabases`` are in use. Give it back with ``dropDatabase(_:)``.
    /// - Returns: settings naming it.
    func createDatabase() async throws -> PostgresDatabaseConfiguration {
        if inUse >= Self.concurrentDatabases {
            // release() hands its slot straight to the first waiter.
            await withCheckedContinuation { waiting.append($0) }
        } else {
            inUse += 1
        }
        do {
            return try await makeDatabase()
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

    private func makeDatabase() async throws -> PostgresDatabaseConfiguration {
        let base = try await server()
        var settings = base
        settings.database = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try await Self.withConnection(base) { connection in
            // A name cannot be bound as a parameter; this one is generated above from hex digits only.
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(settings.database) TEMPLATE template0"), logger: Self.logger)
        }
        return settings
    }

    /// Drops a database made by ``createDatabase()``, disconnecting what is left of its sessions.
    func dropDatabase(_ settings: PostgresDatabaseConfiguration) async {
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

    static let logger = Logger(label: "gatehouse.tests.postgres")

    private static func withConnection<T: Sendable>(
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
