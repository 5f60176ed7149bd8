import GatehouseCore
import Testing

/// `database`: SQLite's `path` or MAS's PostgreSQL keys, with errors that name the key and the fix.
struct DatabaseConfigurationTests {
    private static let sqlite = "database: {path: gatehouse.db}"

    private func load(_ database: String, files: [String: String] = [:]) throws -> (DatabaseConfiguration?, [String], [String]) {
        let fixture = try ConfigFixture()
        for (name, text) in files { try fixture.write(text, to: name, mode: 0o600) }
        let yaml = ConfigFixture.valid.replacingOccurrences(of: Self.sqlite, with: database)
        #expect(yaml != ConfigFixture.valid || database == Self.sqlite, "fixture edit did not apply")
        // On disk with the usual 0644, so an inline password is noticed.
        try fixture.write(yaml, to: "gatehouse.yaml")
        do {
            let configuration = try fixture.load(yaml)
            return (configuration.database, [], configuration.warnings.map(\.description))
        } catch {
            return (nil, error.errors.map(\.description), [])
        }
    }

    @Test func sqliteStaysTheDefaultBackend() throws {
        let (database, errors, _) = try load(Self.sqlite)
        #expect(errors.isEmpty)
        #expect(database?.sqlitePath?.hasSuffix("/gatehouse.db") == true)
    }

    @Test func uriCarriesEverySetting() throws {
        let (database, errors, _) = try load(
            "database: {uri: \"postgresql://gate%40house:p%3Ass@db.example.org:6543/identity?sslmode=verify-full\", max_connections: 25}")
        #expect(errors.isEmpty, "\(errors)")
        #expect(
            database?.backend
                == .postgres(PostgresDatabaseConfiguration(
                    host: "db.example.org", port: 6543, username: "gate@house", password: "p:ss", database: "identity", sslMode: .verifyFull,
                    maxConnections: 25)))
        #expect(database?.summary == "postgresql://gate@house@db.example.org:6543/identity")
    }

    @Test func separateKeysWithAPasswordFile() throws {
        let (database, errors, _) = try load(
            "database: {host: 10.0.0.5, username: gatehouse, password_file: db_password, database: gatehouse, ssl_mode: require}",
            files: ["db_password": "hunter2-but-longer\n"])
        #expect(errors.isEmpty, "\(errors)")
        guard case .postgres(let settings)? = database?.backend else {
            Issue.record("not PostgreSQL: \(String(describing: database))")
            return
        }
        #expect(settings.host == "10.0.0.5" && settings.port == 5432 && settings.username == "gatehouse" && settings.database == "gatehouse")
        #expect(settings.password == "hunter2-but-longer", "the file's content, trimmed")
        #expect(settings.sslMode == .require && settings.maxConnections == 10)
        #expect(!"\(settings)".contains("hunter2"), "its description never carries the password")
    }

    @Test func anInlinePasswordInAReadableFileIsAWarning() throws {
        let (_, errors, warnings) = try load("database: {uri: \"postgresql://gatehouse@localhost/gatehouse\", password: inline-secret}")
        #expect(errors.isEmpty, "\(errors)")
        #expect(warnings.contains { $0.contains("database.password") && $0.contains("password_file") }, "\(warnings)")
    }

    @Test(arguments: [
        ("database: {path: gatehouse.db, uri: \"postgresql://u@h/d\"}", "database.uri: `path` (SQLite) and `uri` (PostgreSQL) are both set"),
        ("database: {uri: \"postgresql://u@h/d\", host: other}", "database.host: `uri` and `host` are both set"),
        ("database: {uri: \"mysql://u@h/d\"}", "database.uri: the URI must start with postgresql://"),
        ("database: {uri: \"postgresql://u@h\"}", "database.uri: the URI names no database"),
        ("database: {uri: \"postgresql://h/d\"}", "database.uri: the URI names no user"),
        ("database: {uri: \"postgresql://u@h/d?sslmode=sometimes\"}", "database.uri: sslmode=sometimes is not one of disable, prefer, require"),
        ("database: {uri: \"postgresql://u@h/d?application_name=x\"}", "database.uri: the URI parameter application_name is not supported"),
        ("database: {uri: \"postgresql://u:pw@h/d\", password: other}", "database.password: the password is given both in `uri` and here"),
        ("database: {host: h, database: d}", "database.username: is required"),
        ("database: {host: h, username: u}", "database.database: is required"),
        ("database: {username: u, database: d, port: 0}", "database.port: 0 is out of range"),
        ("database: {username: u, database: d, ssl_mode: allow-ish}", "database.ssl_mode: 'allow-ish' is not an SSL mode. Use one of disable, prefer"),
        ("database: {username: u, database: d, password: a, password_file: b}", "database.password: `password` and `password_file` are both set"),
        ("database: {username: u, database: d, password_file: missing}", "database.password_file: cannot read the database password file"),
        ("database: {username: u, database: d, max_connections: 0}", "database.max_connections: 0 is out of range"),
        ("database: {username: u, database: d, socket: /run/postgresql}", "database.socket: unknown key"),
        ("database: {}", "database.path: is required. Give the SQLite file, e.g. `path: gatehouse.db`, or a PostgreSQL `uri:"),
    ])
    func mistakesNameTheKeyAndTheFix(database: String, message: String) throws {
        let (_, errors, _) = try load(database)
        #expect(errors.contains { $0.contains(message) }, "\(errors)")
    }
}
