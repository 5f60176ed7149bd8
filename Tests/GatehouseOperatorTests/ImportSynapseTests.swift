import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseSQLite
import GatehouseStorage
import Testing

@testable import GatehouseOperator

/// `gatehouse import-synapse` on a Synapse-shaped SQLite fixture, into a real Gatehouse store.
@Suite(.serialized)
struct ImportSynapseTests {
    static let bcrypt = PasswordSchemeConfiguration(
        version: 1, algorithm: .bcrypt, cost: 4, pepper: SynapseFixture.pepper, unicodeNormalization: true)

    /// A Synapse fixture, a fresh store and an importer over them.
    final class Setup {
        let clock = ManualClock()
        let synapse: SynapseFixture
        let storeDirectory: String
        let store: SQLiteStore

        init(schemaVersion: Int = 94) throws {
            synapse = try SynapseFixture(schemaVersion: schemaVersion, now: clock.now())
            storeDirectory = synapse.directory + "/gatehouse"
            try FileManager.default.createDirectory(atPath: storeDirectory, withIntermediateDirectories: true)
            store = try SQLiteStore.open(path: storeDirectory + "/gatehouse.db")
        }

        deinit {
            try? store.close()
            synapse.remove()
        }

        func importer(
            settings: SynapseImporter.Settings = ImportSynapseTests.settings(), probe: (any HTTPProbing)? = nil,
            store: (any AccountImportRepository)?? = nil
        ) -> SynapseImporter {
            SynapseImporter(
                settings: settings, database: SQLiteSynapseDatabase(path: synapse.path), store: store ?? self.store.accountImport,
                probe: probe, clock: clock, random: SystemRandom())
        }
    }

    static func settings(
        serverName: String = SynapseFixture.serverName, bcrypt: PasswordSchemeConfiguration? = Self.bcrypt,
        pepper: String? = SynapseFixture.pepper
    ) -> SynapseImporter.Settings {
        .init(
            serverName: serverName, synapseServerName: SynapseFixture.serverName, bcryptScheme: bcrypt, synapsePepper: pepper,
            synapseHealthURL: "http://127.0.0.1:8008/health")
    }

    @Test func importsAccountsEmailsDevicesAndTokens() async throws {
        let setup = try Setup()
        let report = try await setup.importer().run(dryRun: false, progress: SilentProgress())

        #expect(report[.users].imported == 4)
        #expect(report[.users].skipped == [SkipReason.guest.rawValue: 1, SkipReason.appservice.rawValue: 1, SkipReason.otherServer.rawValue: 1])
        #expect(report[.passwords].imported == 2)
        #expect(report[.passwords].skipped == [
            SkipReason.noPassword.rawValue: 1, SkipReason.notBcrypt.rawValue: 1, SkipReason.userNotImported.rawValue: 3,
        ])
        #expect(report[.emails].imported == 1)
        #expect(report[.emails].skipped == [SkipReason.notEmail.rawValue: 1, SkipReason.userNotImported.rawValue: 1])
        #expect(report[.devices].imported == 3)
        #expect(report[.devices].skipped == [SkipReason.hiddenDevice.rawValue: 1, SkipReason.userNotImported.rawValue: 1])
        #expect(report[.accessTokens].imported == 3)
        #expect(report[.accessTokens].skipped == [
            SkipReason.superseded.rawValue: 1, SkipReason.expired.rawValue: 1, SkipReason.puppet.rawValue: 1,
            SkipReason.notSynapseToken.rawValue: 1, SkipReason.noDevice.rawValue: 1, SkipReason.userNotImported.rawValue: 1,
            SkipReason.deviceNotImported.rawValue: 1,
        ])
        #expect(report[.refreshTokens].imported == 1)
        #expect(report[.refreshTokens].skipped == [SkipReason.superseded.rawValue: 1])

        let store = setup.store
        let alice = try #require(try await store.users.find(username: "alice"))
        #expect(alice.isAdmin && alice.isActive)
        #expect(alice.createdAt == Date(timeIntervalSince1970: 1_700_000_000), "creation_ts is in seconds")
        let bob = try #require(try await store.users.find(username: "bob"))
        #expect(bob.lockedAt == setup.clock.now() && bob.deactivatedAt == nil)
        let carol = try #require(try await store.users.find(username: "carol"))
        #expect(carol.deactivatedAt == setup.clock.now())
        #expect(try await store.users.find(username: "42") == nil)
        #expect(try await store.users.find(username: "_bridge_x") == nil)
        #expect(try await store.users.currentPassword(userId: bob.id) == nil)
        #expect(try await store.users.emails(userId: alice.id).map(\.email) == ["alice@example.test"])

        // The hash verifies with Gatehouse's bcrypt scheme and Synapse's pepper, and is upgraded at login.
        let password = try #require(try await store.users.currentPassword(userId: alice.id))
        #expect(password.version == 1 && password.hash == setup.synapse.aliceHash)
        let hasher = try PasswordHasher(
            configuration: PasswordsConfiguration(enabled: true, schemes: [Self.bcrypt, PasswordSchemeConfiguration(version: 2, algorithm: .argon2id)]),
            threadPoolSize: 1)
        defer { Task { try? await hasher.shutdown() } }
        guard case .validNeedsUpgrade(newVersion: 2, _) = try await hasher.verify(SynapseFixture.alicePassword, version: 1, hash: password.hash) else {
            Issue.record("the imported hash must verify and ask for an upgrade")
            return
        }
        #expect(try await hasher.verify("wrong", version: 1, hash: password.hash) == .invalid)

        // Tokens: stored as hashes only, in sessions for their devices.
        let phone = try #require(try await store.compatSessions.lookupAccessToken(hash: TokenHasher.sha256Hex(SynapseFixture.aliceAccess)))
        #expect(phone.session.deviceId == "PHONE" && phone.session.displayName == "Alice's phone" && phone.user.id == alice.id)
        #expect(phone.session.isSynapseAdmin, "an admin's Synapse token had admin rights")
        #expect(phone.token.expiresAt == nil)
        let laptop = try #require(try await store.compatSessions.lookupAccessToken(hash: TokenHasher.sha256Hex(SynapseFixture.aliceRefreshAccess)))
        #expect(laptop.token.expiresAt == setup.clock.now().addingTimeInterval(300), "valid_until_ms")
        let (refresh, session, _) = try #require(try await store.compatSessions.lookupRefreshToken(hash: TokenHasher.sha256Hex(SynapseFixture.aliceRefresh)))
        #expect(refresh.accessTokenId == laptop.token.id && session.deviceId == "LAPTOP")
        #expect(try await store.compatSessions.lookupRefreshToken(hash: TokenHasher.sha256Hex(SynapseFixture.aliceOldRefresh)) == nil)
        #expect(try await store.compatSessions.lookupAccessToken(hash: TokenHasher.sha256Hex(SynapseFixture.expired)) == nil)
        #expect(try await store.activeDeviceIds(userId: alice.id) == ["LAPTOP", "PHONE"], "the hidden device is not a session")
        #expect(try await store.activeDeviceIds(userId: bob.id) == ["BOBDEV"])
        #expect(try await store.compatSessions.lookupAccessToken(hash: TokenHasher.sha256Hex(SynapseFixture.bobAccess))?.user.isActive == false)

        let rendered = report.rendered(source: "SQLite database x", dryRun: false)
        #expect(rendered.contains("  users: 4 imported, 3 skipped\n    1 skipped: \(SkipReason.guest.rawValue)\n"))
        #expect(rendered.contains("  refresh tokens: 1 imported, 1 skipped\n    1 skipped: \(SkipReason.superseded.rawValue)"))
        #expect(!rendered.contains("YWxpY2U"), "the report never shows a token")
    }

    @Test func aSecondRunImportsNothingNewAndSaysSo() async throws {
        let setup = try Setup()
        _ = try await setup.importer().run(dryRun: false, progress: SilentProgress())
        let counter = try await setup.store.changeCounter()
        let again = try await setup.importer().run(dryRun: false, progress: SilentProgress())
        #expect(again.importedTotal == 0)
        #expect(again[.users].skipped[SkipReason.existingUser.rawValue] == 4)
        #expect(again[.devices].skipped[SkipReason.alreadyImported.rawValue] == 3)
        #expect(again[.accessTokens].skipped[SkipReason.alreadyImported.rawValue] == 3)
        #expect(again[.refreshTokens].skipped[SkipReason.alreadyImported.rawValue] == 1)
        #expect(again.rendered(source: "x", dryRun: false).contains("Nothing new to import"))
        #expect(try await setup.store.changeCounter() == counter, "nothing was written")
    }

    @Test func anExistingUserKeepsItsAccountAndGetsItsDevices() async throws {
        let setup = try Setup()
        let existing = try await setup.store.users.create(
            User(id: ULID.make(at: setup.clock.now(), random: SystemRandom()), username: "alice", createdAt: setup.clock.now()),
            password: PasswordRecord(id: "p1", userId: "", version: 2, hash: "$argon2id$kept", createdAt: setup.clock.now()))
        let report = try await setup.importer().run(dryRun: false, progress: SilentProgress())
        #expect(report[.users].skipped[SkipReason.existingUser.rawValue] == 1)
        let alice = try #require(try await setup.store.users.find(username: "alice"))
        #expect(alice.id == existing.id && !alice.isAdmin, "Gatehouse's account is kept as it is")
        #expect(try await setup.store.users.currentPassword(userId: alice.id)?.hash == "$argon2id$kept")
        let phone = try #require(try await setup.store.compatSessions.lookupAccessToken(hash: TokenHasher.sha256Hex(SynapseFixture.aliceAccess)))
        #expect(phone.user.id == existing.id && !phone.session.isSynapseAdmin, "admin rights follow Gatehouse's flag")
    }

    @Test func aDryRunWritesNothingAndCountsTheSame() async throws {
        let setup = try Setup()
        let counter = try await setup.store.changeCounter()
        let dry = try await setup.importer().run(dryRun: true, progress: SilentProgress())
        #expect(try await setup.store.changeCounter() == counter)
        #expect(try await setup.store.users.list().isEmpty)
        #expect(dry.rendered(source: "x", dryRun: true).hasPrefix("Dry run from x: nothing was written"))
        let real = try await setup.importer().run(dryRun: false, progress: SilentProgress())
        #expect(dry == real)

        // Against a store that does not exist yet, a dry run reports everything as new.
        let none = try await setup.importer(store: .some(nil)).run(dryRun: true, progress: SilentProgress())
        #expect(none == real)
    }

    @Test func refusals() async throws {
        let setup = try Setup()
        await #expect(throws: SynapseImportError.serverNameMismatch(gatehouse: "", synapse: "")) {
            try await setup.importer(settings: Self.settings(serverName: "other.test")).run(dryRun: true, progress: SilentProgress())
        }
        await #expect(throws: SynapseImportError.pepperMismatch) {
            try await setup.importer(settings: Self.settings(pepper: "another")).run(dryRun: true, progress: SilentProgress())
        }
        await #expect(throws: SynapseImportError.noBcryptScheme) {
            try await setup.importer(settings: Self.settings(bcrypt: nil)).run(dryRun: true, progress: SilentProgress())
        }
        await #expect(throws: SynapseImportError.synapseRunning("")) {
            try await setup.importer(probe: AnsweringProbe(status: 200)).run(dryRun: false, progress: SilentProgress())
        }
        // A dry run may run next to Synapse; a 404 from the health URL is not Synapse answering.
        _ = try await setup.importer(probe: AnsweringProbe(status: 200)).run(dryRun: true, progress: SilentProgress())
        _ = try await setup.importer(probe: AnsweringProbe(status: 404)).run(dryRun: true, progress: SilentProgress())

        // Another process with the database open in WAL mode, as Synapse keeps it while it runs.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = [
            "python3", "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA journal_mode=WAL'); "
                + "c.execute('SELECT COUNT(*) FROM users').fetchall(); print('open', flush=True); sys.stdin.read()",
            setup.synapse.path,
        ]
        let input = Pipe()
        let output = Pipe()
        holder.standardInput = input
        holder.standardOutput = output
        try holder.run()
        #expect(String(decoding: output.fileHandleForReading.availableData, as: UTF8.self).hasPrefix("open"))
        #expect(SQLiteSynapseDatabase.isOpenInAnotherProcess(setup.synapse.path))
        await #expect(throws: SynapseImportError.synapseRunning("")) {
            try await setup.importer().run(dryRun: false, progress: SilentProgress())
        }
        _ = try await setup.importer().run(dryRun: true, progress: SilentProgress())
        try input.fileHandleForWriting.close()
        holder.waitUntilExit()
        #expect(!SQLiteSynapseDatabase.isOpenInAnotherProcess(setup.synapse.path), "closed: the import may run")
        #expect(try await setup.store.users.list().isEmpty, "nothing was written by any refusal")

        for version in [79, 95] {
            let old = try Setup(schemaVersion: version)
            await #expect(throws: SynapseImportError.unknownSchema(version)) {
                try await old.importer().run(dryRun: true, progress: SilentProgress())
            }
        }
        let missing = SQLiteSynapseDatabase(path: setup.synapse.directory + "/none.db")
        await #expect(throws: SynapseImportError.cannotOpen("")) { try await missing.read(progress: SilentProgress(), exclusive: false) }
    }

    @Test func aFailedWriteLeavesNothingBehind() async throws {
        let setup = try Setup()
        let plan = SynapseImportPlanner(serverName: SynapseFixture.serverName, bcryptVersion: 1, clock: setup.clock, random: SystemRandom())
        let snapshot = try await SQLiteSynapseDatabase(path: setup.synapse.path).read(progress: SilentProgress(), exclusive: true)
        var (batch, _) = plan.plan(snapshot, baseline: ImportBaseline())
        batch.emails.append(batch.emails[0])  // a duplicate row fails the transaction near its end
        await #expect(throws: StorageError.self) { try await setup.store.accountImport.write(batch) { _ in } }
        #expect(try await setup.store.users.list().isEmpty)
        #expect(try await setup.store.accountImport.baseline() == ImportBaseline())
    }

    @Test func databaseSettingsAreReadLikeSynapse() throws {
        func settings(_ yaml: String) throws -> SynapseDatabaseSettings {
            try HomeserverConfig(text: "server_name: example.test\n" + yaml).databaseSettings()
        }
        #expect(try settings("database:\n  name: sqlite3\n  args:\n    database: /var/lib/synapse/homeserver.db\n") == .sqlite(path: "/var/lib/synapse/homeserver.db"))
        let postgres = try settings(
            "database:\n  name: psycopg2\n  args:\n    user: synapse\n    password: pw\n    dbname: synapse\n    host: db.internal\n    port: 5433\n    cp_min: 5\n")
        #expect(postgres == .postgres(.init(host: "db.internal", port: 5433, user: "synapse", password: "pw", database: "synapse", tls: .prefer)))
        #expect(!postgres.summary.contains("pw"), "the summary never shows the password")
        guard case .postgres(let socket) = try settings(
            "database:\n  name: psycopg2\n  args: {user: synapse, database: synapse, sslmode: require}\n")
        else {
            Issue.record("psycopg2 is PostgreSQL")
            return
        }
        #expect(socket.isUnixSocket && socket.unixSocketPath == "/var/run/postgresql/.s.PGSQL.5432" && socket.tls == .require)
        guard case .postgres(let verified) = try settings(
            "database:\n  name: psycopg2\n  args: {user: s, dbname: s, host: db, sslmode: verify-full, sslrootcert: /etc/ssl/db-ca.pem}\n")
        else {
            Issue.record("psycopg2 is PostgreSQL")
            return
        }
        #expect(verified.tls == .verifyFull && verified.rootCertificate == "/etc/ssl/db-ca.pem")
        #expect(throws: HomeserverConfigError.self) { try settings("database:\n  name: psycopg2\n  args: {user: s, dbname: s, sslmode: maybe}\n") }
        #expect(throws: HomeserverConfigError.self) { try settings("database:\n  name: mysql\n") }
        #expect(throws: HomeserverConfigError.self) { try settings("database:\n  name: psycopg2\n  args: {user: synapse}\n") }
        #expect(throws: HomeserverConfigError.self) { try settings("report_stats: false\n") }
    }

    @Test func progressLines() {
        #expect(TerminalProgress.line(name: "devices", done: 12000, expected: 40000, elapsed: .seconds(4), final: false)
            == "devices: 12000/40000 rows, 3000 rows/s, about 10 s left")
        #expect(TerminalProgress.line(name: "users", done: 5, expected: 0, elapsed: .seconds(0), final: false) == "users: 5 rows")
        #expect(TerminalProgress.line(name: "users", done: 5000, expected: 4000, elapsed: .milliseconds(2500), final: true) == "users: 5000 rows in 2.5 s")
    }
}

/// A health endpoint that answers with `status`.
struct AnsweringProbe: HTTPProbing {
    let status: Int
    func get(_ url: String, headers: [(String, String)]) async -> Result<ProbeResponse, ProbeFailure> {
        .success(ProbeResponse(status: status, body: Array("OK".utf8)))
    }
}
