/// `database`: where the identity store lives.
///
/// SQLite (`path`) is the embedded default: one file, one machine. PostgreSQL (MAS's keys: `uri`, or
/// `host`, `port`, `username`, `password` / `password_file`, `database`, `ssl_mode`) lets several
/// Gatehouse instances share one store.
public struct DatabaseConfiguration: Sendable, Equatable {
    /// Which backend, with its settings.
    public enum Backend: Sendable, Equatable {
        /// A SQLite file (absolute path).
        case sqlite(path: String)
        /// A PostgreSQL database.
        case postgres(PostgresDatabaseConfiguration)
    }

    public var backend: Backend

    /// - Parameter backend: the backend and its settings.
    public init(backend: Backend) {
        self.backend = backend
    }

    /// The SQLite file, `nil` for PostgreSQL.
    public var sqlitePath: String? {
        if case .sqlite(let path) = backend { return path }
        return nil
    }

    /// Where the store is, for messages and logs; never includes a password.
    public var summary: String {
        switch backend {
        case .sqlite(let path): path
        case .postgres(let settings): settings.summary
        }
    }
}

/// The PostgreSQL settings of `database` (MAS's keys and meanings). Its description is ``summary``:
/// interpolating it into a message never writes the password.
public struct PostgresDatabaseConfiguration: Sendable, Equatable, CustomStringConvertible {
    /// libpq's `sslmode` values (MAS's `ssl_mode`).
    public enum SSLMode: String, Sendable, Equatable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it, certificate not checked (libpq's default).
        case prefer
        /// TLS, certificate not checked.
        case require
        /// TLS with a certificate from a trusted CA, any name.
        case verifyCA = "verify-ca"
        /// TLS with a trusted certificate for the host name.
        case verifyFull = "verify-full"
    }

    /// Host name or address.
    public var host: String
    public var port: Int
    /// The role.
    public var username: String
    /// Its password, when the server asks for one (read from `password_file` when that is used).
    public var password: String?
    /// The database name.
    public var database: String
    public var sslMode: SSLMode
    /// `ssl_ca_file`: the CA bundle `verify-ca` / `verify-full` check against (the system's when absent).
    public var caFile: String?
    /// `max_connections`: the pool size of this instance (MAS's default is 10). One more connection
    /// is held for change notifications (LISTEN).
    public var maxConnections: Int

    /// - Parameters:
    ///   - host: host name or address.
    ///   - port: TCP port.
    ///   - username: role.
    ///   - password: its password, if any.
    ///   - database: database name.
    ///   - sslMode: TLS mode.
    ///   - caFile: CA bundle for the verifying modes.
    ///   - maxConnections: pool size.
    public init(
        host: String = "localhost", port: Int = 5432, username: String, password: String? = nil, database: String, sslMode: SSLMode = .prefer,
        caFile: String? = nil, maxConnections: Int = 10
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.sslMode = sslMode
        self.caFile = caFile
        self.maxConnections = maxConnections
    }

    public var description: String { summary }

    /// `postgresql://user@host:port/database`, without the password.
    public var summary: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "postgresql://\(username)@\(hostPart):\(port)/\(database)"
    }
}
