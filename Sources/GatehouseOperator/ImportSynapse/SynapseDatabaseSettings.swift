import Yams

/// Where Synapse keeps its data, read from the `database` section of `homeserver.yaml` the way
/// Synapse reads it (`synapse/config/database.py`): `name: sqlite3` with `args.database`, or
/// `name: psycopg2` with the libpq connection arguments in `args`.
public enum SynapseDatabaseSettings: Sendable, Equatable {
    /// A SQLite file.
    case sqlite(path: String)
    /// A PostgreSQL database.
    case postgres(PostgresConnectionSettings)

    /// A description for messages; never includes the password.
    public var summary: String {
        switch self {
        case .sqlite(let path): "SQLite database \(path)"
        case .postgres(let settings): "PostgreSQL database \(settings.database) at \(settings.endpointSummary) as \(settings.user)"
        }
    }
}

/// The psycopg2 `args` Gatehouse uses to reach Synapse's PostgreSQL database.
public struct PostgresConnectionSettings: Sendable, Equatable {
    /// `host`: a name or address, or a directory holding the server's Unix socket (starts with `/`).
    public var host: String
    /// `port` (default 5432).
    public var port: Int
    /// `user`: the role.
    public var user: String
    /// `password`, when the server asks for one.
    public var password: String?
    /// `dbname` (or `database`, which psycopg2 also accepts).
    public var database: String
    /// `sslmode`, with libpq's meaning.
    public var tls: TLSMode
    /// `sslrootcert`: the CA file that `verify-ca` and `verify-full` check the server against (the
    /// system's trust store when absent).
    public var rootCertificate: String?

    /// libpq's `sslmode` values.
    public enum TLSMode: String, Sendable, Equatable {
        /// `disable` and `allow`: plain.
        case disable
        /// `prefer` (libpq's default): TLS when the server offers it, certificate not checked.
        case prefer
        /// `require`: TLS, certificate not checked.
        case require
        /// `verify-ca`: TLS with a certificate from a trusted CA, any name.
        case verifyCA = "verify-ca"
        /// `verify-full`: TLS with a trusted certificate for the host name.
        case verifyFull = "verify-full"

        /// The mode for an `sslmode` value; `nil` for an unknown one.
        /// - Parameter sslmode: the value in `database.args`.
        public init?(sslmode: String) {
            if sslmode == "allow" {
                self = .disable
            } else {
                self.init(rawValue: sslmode)
            }
        }
    }

    /// - Parameters:
    ///   - host: host name, address or socket directory.
    ///   - port: TCP port (or the socket's port number).
    ///   - user: role name.
    ///   - password: its password, if the server asks for one.
    ///   - database: database name.
    ///   - tls: the `sslmode`.
    ///   - rootCertificate: the `sslrootcert` file.
    public init(
        host: String, port: Int, user: String, password: String?, database: String, tls: TLSMode = .prefer, rootCertificate: String? = nil
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.tls = tls
        self.rootCertificate = rootCertificate
    }

    /// Whether ``host`` names a Unix socket directory.
    public var isUnixSocket: Bool { host.hasPrefix("/") }

    /// The socket file libpq would use: `<host>/.s.PGSQL.<port>`.
    public var unixSocketPath: String { "\(host)/.s.PGSQL.\(port)" }

    var endpointSummary: String { isUnixSocket ? unixSocketPath : "\(host):\(port)" }
}

extension HomeserverConfig {
    /// The `database` section.
    /// - Throws: ``HomeserverConfigError`` naming the key when the section is missing, names an
    ///   engine Synapse does not have, or lacks what the engine needs.
    public func databaseSettings() throws(HomeserverConfigError) -> SynapseDatabaseSettings {
        guard let database = root["database"] else {
            // Synapse's default when the section is absent.
            throw .unsupported("database: the section is missing; Synapse would use homeserver.db in its working directory, name it with database.args.database")
        }
        let args = database["args"]
        switch database["name"]?.string {
        case "sqlite3":
            guard let path = args?["database"]?.string, !path.isEmpty else {
                throw .unsupported("database.args.database: the SQLite file is not named")
            }
            guard path != ":memory:" else { throw .unsupported("database.args.database: an in-memory database cannot be imported") }
            return .sqlite(path: path)
        case "psycopg2":
            let user = args?["user"]?.string ?? ""
            guard let name = args?["dbname"]?.string ?? args?["database"]?.string, !name.isEmpty else {
                throw .unsupported("database.args.dbname: the PostgreSQL database is not named")
            }
            guard !user.isEmpty else { throw .unsupported("database.args.user: the PostgreSQL role is not named") }
            let port = args?["port"]?.int ?? args?["port"]?.string.flatMap(Int.init) ?? 5432
            let sslmode = args?["sslmode"]?.string ?? "prefer"
            guard let tls = PostgresConnectionSettings.TLSMode(sslmode: sslmode) else {
                throw .unsupported("database.args.sslmode: \"\(sslmode)\" is not one of disable, allow, prefer, require, verify-ca, verify-full")
            }
            return .postgres(PostgresConnectionSettings(
                host: args?["host"]?.string ?? "/var/run/postgresql", port: port, user: user,
                password: args?["password"]?.string, database: name, tls: tls, rootCertificate: args?["sslrootcert"]?.string))
        case let other:
            throw .unsupported("database.name: \(other.map { "\"\($0)\"" } ?? "missing"); Synapse supports sqlite3 and psycopg2")
        }
    }
}
