#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What is wrong with a `database.uri`; never quotes the password.
public struct PostgresURIError: Error, Equatable, Sendable {
    public let message: String
}

extension PostgresDatabaseConfiguration {
    /// Reads a libpq connection URI as MAS accepts it:
    /// `postgresql://[user[:password]@][host][:port][/database][?sslmode=…&sslrootcert=…]` (`postgres://`
    /// too). User and password may be percent-encoded. Unix sockets are not supported.
    /// - Parameter uri: the URI.
    /// - Throws: ``PostgresURIError`` naming the part that is wrong.
    public init(uri: String) throws(PostgresURIError) {
        guard uri.hasPrefix("postgresql://") || uri.hasPrefix("postgres://") else {
            throw PostgresURIError(message: "the URI must start with postgresql://")
        }
        guard let components = URLComponents(string: uri) else {
            throw PostgresURIError(message: "not a valid URI (percent-encode special characters in the user and password)")
        }
        let host = components.host.map { $0.hasPrefix("[") && $0.hasSuffix("]") ? String($0.dropFirst().dropLast()) : $0 } ?? ""
        if host.isEmpty || host.hasPrefix("%2F") || host.hasPrefix("/") {
            throw PostgresURIError(message: "the URI names no host (Unix sockets are not supported; use host:port)")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw PostgresURIError(message: "the URI names no database (postgresql://…/<database>)")
        }
        guard let username = components.user, !username.isEmpty else {
            throw PostgresURIError(message: "the URI names no user (postgresql://<user>@…)")
        }
        self.init(host: host, port: components.port ?? 5432, username: username, password: components.password, database: database)
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                let value = item.value ?? ""
                guard let mode = value == "allow" ? .disable : SSLMode(rawValue: value) else {
                    throw PostgresURIError(
                        message: "sslmode=\(value) is not one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                sslMode = mode
            case "sslrootcert":
                caFile = item.value
            default:
                throw PostgresURIError(message: "the URI parameter \(item.name) is not supported (only sslmode and sslrootcert)")
            }
        }
        if let port = components.port, !(1...65535).contains(port) {
            throw PostgresURIError(message: "port \(port) is out of range")
        }
    }
}
