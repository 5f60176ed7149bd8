#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOSSL
import PostgresNIO

/// Synapse's PostgreSQL database, read through postgres-nio (MAS's syn2mas reads the same tables).
///
/// One connection and one `REPEATABLE READ` transaction: every table comes from the same snapshot,
/// and the transaction is never committed (nothing is ever written to Synapse's database).
/// For a real import it first refuses when other sessions are connected to the database (Synapse keeps
/// a pool of connections open while it runs), then takes `SHARE` locks on the tables it reads so
/// nothing can write them meanwhile.
public struct PostgresSynapseDatabase: SynapseDatabase {
    /// Synapse's `database.args`.
    public let settings: PostgresConnectionSettings
    private let logger: Logger

    /// - Parameters:
    ///   - settings: from Synapse's `database.args`.
    ///   - logger: postgres-nio's logger (the CLI keeps it quiet).
    public init(settings: PostgresConnectionSettings, logger: Logger = Logger(label: "gatehouse.import-synapse")) {
        self.settings = settings
        self.logger = logger
    }

    public func read(progress: any ImportProgress, exclusive: Bool) async throws(SynapseImportError) -> SynapseSnapshot {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: try configuration(), id: 1, logger: logger)
        } catch {
            throw .cannotOpen("\(SynapseDatabaseSettings.postgres(settings).summary): \(Self.describe(error))")
        }
        do {
            let snapshot = try await readAll(connection, progress: progress, exclusive: exclusive)
            try? await connection.close()
            return snapshot
        } catch {
            try? await connection.close()
            if let error = error as? SynapseImportError { throw error }
            throw .readFailed(Self.describe(error))
        }
    }

    private func configuration() throws -> PostgresConnection.Configuration {
        if settings.isUnixSocket {
            return PostgresConnection.Configuration(
                unixSocketPath: settings.unixSocketPath, username: settings.user, password: settings.password, database: settings.database)
        }
        var client = TLSConfiguration.makeClientConfiguration()
        if let root = settings.rootCertificate { client.trustRoots = .file(root) }
        let tls: PostgresConnection.Configuration.TLS
        switch settings.tls {
        case .disable:
            tls = .disable
        case .prefer, .require:
            // libpq encrypts without checking the certificate in these modes.
            client.certificateVerification = .none
            tls = settings.tls == .prefer ? .prefer(try NIOSSLContext(configuration: client)) : .require(try NIOSSLContext(configuration: client))
        case .verifyCA:
            client.certificateVerification = .noHostnameVerification
            tls = .require(try NIOSSLContext(configuration: client))
        case .verifyFull:
            tls = .require(try NIOSSLContext(configuration: client))
        }
        return PostgresConnection.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: settings.password, database: settings.database,
            tls: tls)
    }

    private func readAll(_ connection: PostgresConnection, progress: any ImportProgress, exclusive: Bool) async throws -> SynapseSnapshot {
        if exclusive {
            let others = try await scalar(connection, SynapseQueries.otherConnections) ?? 0
            if others > 0 {
                throw SynapseImportError.synapseRunning(
                    "\(others) other session(s) are connected to database \(settings.database); Synapse keeps a pool of them open while it runs")
            }
        }
        let present = try await scalar(
            connection, "SELECT COUNT(*)::bigint FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('schema_version', 'users')")
        guard present == 2 else { throw SynapseImportError.notSynapse("no schema_version or users table in database \(settings.database)") }

        // Never committed: closing the connection ends the transaction (and releases the locks).
        try await execute(connection, "BEGIN ISOLATION LEVEL REPEATABLE READ")
        if exclusive {
            do {
                try await execute(connection, SynapseQueries.lockTables)
            } catch {
                throw SynapseImportError.synapseRunning("its tables are being written (\(Self.describe(error)))")
            }
        }
        guard let version = try await scalar(connection, SynapseQueries.schemaVersion(postgres: true)) else {
            throw SynapseImportError.notSynapse("schema_version is empty")
        }
        try SynapseSchema.check(version: Int(version))
        var snapshot = SynapseSnapshot(schemaVersion: Int(version))

        try await begin(.users, connection, progress)
        for try await (name, hash, admin, deactivated, locked, guest, appservice, created) in try await query(
            connection, SynapseQueries.users(postgres: true)
        ).decode((String, String?, Int64, Int64, Int64, Int64, String?, Int64?).self) {
            snapshot.users.append(SynapseUserRow(
                name: name, passwordHash: hash, isAdmin: admin != 0, isDeactivated: deactivated != 0, isLocked: locked != 0,
                isGuest: guest != 0, appserviceId: appservice, createdAt: created.map { Date(timeIntervalSince1970: Double($0)) }))
            tick(snapshot.users.count, progress)
        }
        progress.end(snapshot.users.count)

        try await begin(.userThreepids, connection, progress)
        for try await (user, medium, address, added) in try await query(connection, SynapseQueries.threepids).decode(
            (String, String, String, Int64?).self)
        {
            snapshot.threepids.append(SynapseThreepidRow(userId: user, medium: medium, address: address, addedAt: Self.milliseconds(added)))
            tick(snapshot.threepids.count, progress)
        }
        progress.end(snapshot.threepids.count)

        try await begin(.devices, connection, progress)
        for try await (user, device, name, seen, hidden) in try await query(connection, SynapseQueries.devices(postgres: true)).decode(
            (String, String, String?, Int64?, Int64).self)
        {
            snapshot.devices.append(SynapseDeviceRow(
                userId: user, deviceId: device, displayName: name, lastSeen: Self.milliseconds(seen), isHidden: hidden != 0))
            tick(snapshot.devices.count, progress)
        }
        progress.end(snapshot.devices.count)

        try await begin(.accessTokens, connection, progress)
        for try await (id, user, device, token, validUntil, puppets, refresh, used) in try await query(
            connection, SynapseQueries.accessTokens(postgres: true)
        ).decode((Int64, String, String?, String, Int64?, String?, Int64?, Int64).self) {
            snapshot.accessTokens.append(SynapseAccessTokenRow(
                id: id, userId: user, deviceId: device, token: token, validUntil: Self.milliseconds(validUntil), puppetsUserId: puppets,
                refreshTokenId: refresh, used: used != 0))
            tick(snapshot.accessTokens.count, progress)
        }
        progress.end(snapshot.accessTokens.count)

        try await begin(.refreshTokens, connection, progress)
        for try await (id, user, device, token, next) in try await query(connection, SynapseQueries.refreshTokens).decode(
            (Int64, String, String, String, Int64?).self)
        {
            snapshot.refreshTokens.append(SynapseRefreshTokenRow(id: id, userId: user, deviceId: device, token: token, nextTokenId: next))
            tick(snapshot.refreshTokens.count, progress)
        }
        progress.end(snapshot.refreshTokens.count)
        return snapshot
    }

    private func begin(_ table: SynapseTable, _ connection: PostgresConnection, _ progress: any ImportProgress) async throws {
        let estimate = try await scalar(connection, SynapseQueries.estimate(table)) ?? 0
        progress.begin(table.rawValue, expected: Int(max(0, estimate)))
    }

    private func tick(_ count: Int, _ progress: any ImportProgress) {
        if count % 1000 == 0 { progress.advance(to: count) }
    }

    private func query(_ connection: PostgresConnection, _ sql: String) async throws -> PostgresRowSequence {
        try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
    }

    private func execute(_ connection: PostgresConnection, _ sql: String) async throws {
        for try await _ in try await query(connection, sql) {}
    }

    private func scalar(_ connection: PostgresConnection, _ sql: String) async throws -> Int64? {
        for try await (value,) in try await query(connection, sql).decode((Int64?,).self) { return value }
        return nil
    }

    private static func milliseconds(_ value: Int64?) -> Date? {
        value.map { Date(timeIntervalSince1970: Double($0) / 1000) }
    }

    /// The server's message when there is one (postgres-nio's `description` hides it on purpose).
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            return "\(error.code)"
        }
        return "\(error)"
    }
}
