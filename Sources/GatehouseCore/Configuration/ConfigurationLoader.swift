#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Yams

/// Reads a YAML configuration file and turns it into a validated ``GatehouseConfiguration``.
///
/// Loading never stops at the first problem: every section is checked and all errors are returned
/// together in ``ConfigurationErrors``. Nothing is bound or opened here except the files the
/// configuration names (secrets are read; route files are checked by ``RouteTable``).
public enum ConfigurationLoader {
    /// Loads and validates the file at `path`.
    /// - Parameter path: the configuration file.
    public static func load(path: String) throws(ConfigurationErrors) -> GatehouseConfiguration {
        let absolute = FilePaths.absolute(path, relativeTo: FileManager.default.currentDirectoryPath)
        guard let data = FileManager.default.contents(atPath: absolute) else {
            throw ConfigurationErrors([ConfigurationError(
                keyPath: "", problem: "cannot read the configuration file \(absolute)",
                fix: "Check the path given with -c, or create one with `gatehouse config generate --output \(path)`")])
        }
        return try parse(yaml: String(decoding: data, as: UTF8.self), file: absolute)
    }

    /// Validates YAML text as if it had been read from `file` (relative paths resolve against its directory).
    /// - Parameters:
    ///   - yaml: the configuration text.
    ///   - file: the absolute path it stands for.
    public static func parse(yaml: String, file: String) throws(ConfigurationErrors) -> GatehouseConfiguration {
        let rootNode: Yams.Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw ConfigurationErrors([ConfigurationError(keyPath: "", problem: "the configuration file is empty",
                    fix: "Create one with `gatehouse config generate`")])
            }
            rootNode = node
        } catch let error as ConfigurationErrors {
            throw error
        } catch {
            throw ConfigurationErrors([yamlError(error, file: file)])
        }
        let reader = SectionReader(directory: FilePaths.directory(of: file))
        let config = reader.readRoot(ConfigNode(node: rootNode, path: "", file: file), file: file)
        guard reader.errors.isEmpty, var config else {
            throw ConfigurationErrors(reader.errors)
        }
        config.warnings = reader.warnings
        return config
    }
}

/// A YAML syntax error as one line: where, and what the parser said (without echoing the file).
private func yamlError(_ error: any Error, file: String) -> ConfigurationError {
    let fix = "Check the indentation and quoting near that line"
    switch error as? YamlError {
    case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
        return ConfigurationError(keyPath: "", problem: "not valid YAML: \(problem)", fix: fix, location: "\(file):\(mark.line)")
    case .duplicatedKeysInMapping(let duplicates, let context):
        return ConfigurationError(keyPath: "", problem: "duplicated key(s) \(duplicates.sorted().joined(separator: ", "))",
            fix: "Each key may appear once per section; merge the two", location: "\(file):\(context.mark.line)")
    default:
        return ConfigurationError(keyPath: "", problem: "not valid YAML: \(error)", fix: fix, location: file)
    }
}

/// Reads each section, collecting errors instead of stopping at the first.
private final class SectionReader {
    let directory: String
    var errors: [ConfigurationError] = []
    var warnings: [ConfigurationError] = []
    /// The configuration file, whose own mode matters when it holds a secret inline.
    var file: String = ""

    init(directory: String) {
        self.directory = directory
    }

    func attempt<T>(_ body: () throws -> T) -> T? {
        do {
            return try body()
        } catch let error as ConfigurationError {
            errors.append(error)
        } catch let error as ConfigurationErrors {
            errors.append(contentsOf: error.errors)
        } catch {
            errors.append(ConfigurationError(keyPath: "", problem: "\(error)"))
        }
        return nil
    }

    func readRoot(_ root: ConfigNode, file: String) -> GatehouseConfiguration? {
        self.file = file
        let sections: Set = [
            "http", "matrix", "database", "routes", "upstreams", "limits", "timeouts", "log", "server", "passwords", "rate_limiting", "experimental",
            "clients", "secrets", "branding", "templates", "account", "admin_api", "metrics",
        ]
        guard let top = attempt({ try root.mapping(allowed: sections) }) else { return nil }
        let http = attempt { try readHTTP(try top.required("http", hint: "Add an `http:` section with `public_base` and `listeners`")) }
        let matrix = attempt { try readMatrix(try top.required("matrix", hint: "Add a `matrix:` section with `homeserver`, `endpoint` and `secret_path`")) }
        let database = attempt { try readDatabase(try top.required("database", hint: "Add `database: {path: gatehouse.db}` (or a PostgreSQL `uri`)")) }
        let upstreams = attempt { try readUpstreams(top["upstreams"]) }
        let routes = attempt { try readRoutes(try top.required("routes", hint: "Add `routes: {files: [matrix.routes]}`")) }
        let limits = attempt { try readLimits(top["limits"]) }
        let timeouts = attempt { try readTimeouts(top["timeouts"]) }
        let log = attempt { try readLog(top["log"]) }
        let server = attempt { try readServer(top["server"]) }
        let passwords = attempt { try readPasswords(top["passwords"]) }
        let rateLimiting = attempt { try readRateLimiting(top["rate_limiting"]) }
        let experimental = attempt { try readExperimental(top["experimental"]) }
        let secrets = attempt { try readSecrets(top["secrets"], root: root) }
        // With `secrets` in error, the clients' algorithms are not checked against keys (one error is enough).
        let clients = attempt { try readClients(top["clients"], signingAlgorithms: secrets.map { $0?.algorithms ?? [] }) }
        let branding = attempt { try BrandingConfiguration.read(top["branding"]) }
        let templates = attempt { try TemplatesConfiguration.read(top["templates"], directory: directory) }
        let account = attempt { try AccountConfiguration.read(top["account"]) }
        let adminAPI = attempt { try AdminAPIConfiguration.read(top["admin_api"], listeners: http?.listeners ?? [], clients: clients ?? []) }
        let metrics = attempt { try readMetrics(top["metrics"]) }
        guard let branding, let templates, let account, let adminAPI, let metrics else { return nil }
        guard let http, let matrix, let database, let upstreams, let routes, let limits, let timeouts, let log, let server,
            let passwords, let rateLimiting, let experimental, let clients, let secrets
        else {
            return nil
        }
        return GatehouseConfiguration(
            http: http, matrix: matrix, database: database, routes: routes, upstreams: upstreams,
            limits: limits, timeouts: timeouts, log: log, server: server, passwords: passwords, rateLimiting: rateLimiting,
            experimental: experimental, clients: clients, secrets: secrets, branding: branding, templates: templates, account: account,
            adminAPI: adminAPI, metrics: metrics, sourceFile: file)
    }

    func path(_ node: ConfigNode) throws -> String {
        let text = try node.string()
        return FilePaths.absolute(text, relativeTo: directory)
    }

    func readHTTP(_ node: ConfigNode) throws -> HTTPConfiguration {
        let map = try node.mapping(allowed: ["public_base", "listeners", "trusted_proxies"])
        let publicBaseNode = try map.required("public_base", hint: "Set it to the URL clients use, e.g. https://matrix.example.com/")
        var publicBase = try publicBaseNode.string()
        guard publicBase.hasPrefix("https://") || publicBase.hasPrefix("http://"),
            URLComponents(string: publicBase)?.host?.isEmpty == false
        else {
            throw publicBaseNode.error("'\(publicBase)' is not an http(s) URL", fix: "Use e.g. https://matrix.example.com/")
        }
        if !publicBase.hasSuffix("/") { publicBase += "/" }

        let listenerNodes = try map.required("listeners", hint: "Add at least one listener with `binds: [{address: \"0.0.0.0:8443\"}]`").sequence()
        guard !listenerNodes.isEmpty else {
            throw ConfigurationError(keyPath: node.child("listeners"), problem: "must list at least one listener")
        }
        var listeners: [ListenerConfiguration] = []
        var seenBinds: [String: String] = [:]
        var proxyProtocolKeys: [String] = []
        for (index, listenerNode) in listenerNodes.enumerated() {
            guard let listener = attempt({ try readListener(listenerNode, index: index) }) else { continue }
            if listener.proxyProtocol { proxyProtocolKeys.append(listenerNode.child("proxy_protocol")) }
            for (bindIndex, bind) in listener.binds.enumerated() where bind.port != 0 {
                let key = bind.description
                let here = "\(listenerNode.path).binds[\(bindIndex)].address"
                if let previous = seenBinds[key] {
                    errors.append(ConfigurationError(keyPath: here, problem: "\(key) is already bound by \(previous)",
                        fix: "Give each bind its own address"))
                }
                seenBinds[key] = here
            }
            listeners.append(listener)
        }
        var trusted: [IPNetwork] = []
        if let proxiesNode = map["trusted_proxies"] {
            for item in try proxiesNode.sequence() {
                let text = try item.string()
                guard let network = IPNetwork.parse(text) else {
                    throw item.error("'\(text)' is not an IP network", fix: "Use CIDR notation such as 10.0.0.0/8 or ::1/128")
                }
                trusted.append(network)
            }
        } else {
            trusted = ["127.0.0.0/8", "::1/128"].compactMap(IPNetwork.parse)
        }
        if trusted.isEmpty {
            // A PROXY protocol listener only accepts connections from trusted proxies: with none, it
            // would refuse every connection.
            for key in proxyProtocolKeys {
                errors.append(ConfigurationError(
                    keyPath: key,
                    problem: "no peer may send a PROXY header: http.trusted_proxies is empty",
                    fix: "List the load balancer's address in http.trusted_proxies, or remove proxy_protocol"))
            }
        }
        return HTTPConfiguration(publicBase: publicBase, listeners: listeners, trustedProxies: trusted)
    }

    func readListener(_ node: ConfigNode, index: Int) throws -> ListenerConfiguration {
        let map = try node.mapping(allowed: ["name", "binds", "tls", "proxy_protocol"])
        let name = try map["name"]?.string() ?? "listener\(index)"
        let bindNodes = try map.required("binds", hint: "Add `binds: [{address: \"0.0.0.0:8443\"}]`").sequence()
        guard !bindNodes.isEmpty else {
            throw ConfigurationError(keyPath: node.child("binds"), problem: "must list at least one address")
        }
        let binds = try bindNodes.map { bindNode in
            let bindMap = try bindNode.mapping(allowed: ["address", "host", "port"])
            if let addressNode = bindMap["address"] {
                let text = try addressNode.string()
                guard let address = BindAddress.parse(text) else {
                    throw addressNode.error("'\(text)' is not host:port", fix: "Use e.g. \"0.0.0.0:8443\", \"[::]:8443\" or \"127.0.0.1:8081\"")
                }
                return address
            }
            let port = try bindMap.required("port", hint: "Give `address: host:port`, or `host` and `port`").int(range: 0...65535)
            return BindAddress(host: try bindMap["host"]?.string() ?? "::", port: port)
        }
        var tls: TLSFilesConfiguration?
        if let tlsNode = map["tls"] {
            let tlsMap = try tlsNode.mapping(allowed: ["certificate_file", "key_file", "hsts_max_age"])
            let certNode = try tlsMap.required("certificate_file", hint: "Point it at a PEM certificate chain")
            let keyNode = try tlsMap.required("key_file", hint: "Point it at the PEM private key")
            let certificate = try path(certNode)
            let key = try path(keyNode)
            for (file, fileNode) in [(certificate, certNode), (key, keyNode)] where !FileManager.default.isReadableFile(atPath: file) {
                throw fileNode.error("cannot read \(file)", fix: "Check the path, or run `gatehouse config generate` to make a self-signed pair")
            }
            try requirePrivate(key, keyNode, what: "the TLS private key")
            let hsts = try tlsMap["hsts_max_age"]?.int(range: 0...100_000_000) ?? 31_536_000
            tls = TLSFilesConfiguration(certificateFile: certificate, keyFile: key, hstsMaxAge: hsts)
        }
        let proxyProtocol = try map["proxy_protocol"]?.bool() ?? false
        return ListenerConfiguration(name: name, binds: binds, tls: tls, proxyProtocol: proxyProtocol)
    }

    func readMatrix(_ node: ConfigNode) throws -> MatrixConfiguration {
        let map = try node.mapping(allowed: ["kind", "homeserver", "endpoint", "secret", "secret_path", "secret_file"])
        let kindText = try map["kind"]?.string() ?? "synapse"
        guard let kind = MatrixConfiguration.Kind(rawValue: kindText) else {
            throw map["kind"]!.error("unsupported homeserver kind '\(kindText)'", fix: "Only `synapse` is supported")
        }
        let homeserver = try map.required("homeserver", hint: "Set it to Synapse's server_name").string()
        let endpointNode = try map.required("endpoint", hint: "Set it to the URL where Gatehouse reaches Synapse, e.g. http://127.0.0.1:8008/")
        var endpoint = try endpointNode.string()
        guard endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://"), URLComponents(string: endpoint)?.host?.isEmpty == false else {
            throw endpointNode.error("'\(endpoint)' is not an http(s) URL", fix: "Use e.g. http://127.0.0.1:8008/")
        }
        if !endpoint.hasSuffix("/") { endpoint += "/" }

        let inline = map["secret"]
        let fileNode = map["secret_path"] ?? map["secret_file"]
        if map["secret_path"] != nil && map["secret_file"] != nil {
            throw map["secret_file"]!.error("`secret_path` and its alias `secret_file` are both set", fix: "Keep only `secret_path`")
        }
        let secret: String
        switch (inline, fileNode) {
        case (.some, .some):
            throw ConfigurationError(keyPath: node.child("secret"), problem: "`secret` and `secret_path` are both set",
                fix: "Keep one of them; `secret_path` keeps the secret out of the config file", location: node.location)
        case (nil, nil):
            throw ConfigurationError(keyPath: node.child("secret_path"), problem: "no shared secret is configured",
                fix: "Set `secret_path` to a file holding the same secret as Synapse's matrix_authentication_service.secret",
                location: node.location)
        case (let inline?, nil):
            secret = try inline.string().trimmingWhitespace()
            if secret.isEmpty { throw inline.error("must not be empty") }
            try requireLongEnough(secret, inline, source: "`secret`")
            warnIfConfigurationIsReadable(holding: inline, fileKey: "secret_path")
        case (nil, let fileNode?):
            let file = try path(fileNode)
            guard let data = FileManager.default.contents(atPath: file) else {
                throw fileNode.error("cannot read the secret file \(file)", fix: "Create it (mode 0600) with the shared secret Synapse uses")
            }
            try requirePrivate(file, fileNode, what: "the shared-secret file")
            secret = String(decoding: data, as: UTF8.self).trimmingWhitespace()
            if secret.isEmpty { throw fileNode.error("the secret file \(file) is empty", fix: "Write the shared secret into it") }
            try requireLongEnough(secret, fileNode, source: "the secret file \(file)")
        }
        return MatrixConfiguration(kind: kind, homeserver: homeserver, endpoint: endpoint, secret: secret)
    }

    /// `database`: `path` (SQLite) or MAS's PostgreSQL keys (`uri`, or `host`, `port`, `username`,
    /// `password` / `password_file`, `database`), with `ssl_mode`, `ssl_ca_file`, `max_connections`.
    func readDatabase(_ node: ConfigNode) throws -> DatabaseConfiguration {
        let postgresKeys = ["uri", "host", "port", "username", "password", "password_file", "database", "ssl_mode", "ssl_ca_file", "max_connections"]
        let map = try node.mapping(allowed: Set(["path"] + postgresKeys))
        let postgresKey = postgresKeys.first { map[$0] != nil }
        guard let pathNode = map["path"] else {
            guard postgresKey != nil else {
                throw ConfigurationError(keyPath: node.child("path"), problem: "is required",
                    fix: "Give the SQLite file, e.g. `path: gatehouse.db`, or a PostgreSQL `uri: postgresql://user@host/database`",
                    location: node.location)
            }
            return DatabaseConfiguration(backend: .postgres(try readPostgres(map, node)))
        }
        if let postgresKey {
            throw map[postgresKey]!.error("`path` (SQLite) and `\(postgresKey)` (PostgreSQL) are both set",
                fix: "Keep `path` for a SQLite file, or remove it to use PostgreSQL")
        }
        let file = try path(pathNode)
        // A warning, not an error: the store holds password and token hashes, not secrets that open
        // anything by themselves, and refusing to start over it would turn a hardening slip into an
        // outage. New stores are created 0600.
        if let mode = FileAccess.openToOthers(file) {
            warnings.append(pathNode.error(
                "the database \(file) can be read by other accounts (mode \(FileAccess.octal(mode))); it holds password hashes and sessions",
                fix: "Run `chmod 600 \(file) \(file)-wal \(file)-shm` (as the user Gatehouse runs as)"))
        }
        return DatabaseConfiguration(backend: .sqlite(path: file))
    }

    /// The PostgreSQL keys of `database`: a `uri`, or the separate keys (never both for the same setting).
    func readPostgres(_ map: ConfigMapping, _ node: ConfigNode) throws -> PostgresDatabaseConfiguration {
        var settings: PostgresDatabaseConfiguration
        if let uriNode = map["uri"] {
            for key in ["host", "port", "username", "database"] where map[key] != nil {
                throw map[key]!.error("`uri` and `\(key)` are both set", fix: "Put everything in `uri`, or drop `uri` and use the separate keys")
            }
            do {
                settings = try PostgresDatabaseConfiguration(uri: try uriNode.string())
            } catch let problem as PostgresURIError {
                throw uriNode.error(problem.message, fix: "Write it as postgresql://user:password@host:5432/database?sslmode=require")
            }
            if settings.password != nil, let other = map["password"] ?? map["password_file"] {
                throw other.error("the password is given both in `uri` and here", fix: "Keep one; `password_file` keeps it out of the config file")
            }
        } else {
            let database = try map.required("database", hint: "Name the PostgreSQL database, e.g. `database: gatehouse`").string()
            let username = try map.required("username", hint: "Name the PostgreSQL role, e.g. `username: gatehouse`").string()
            settings = PostgresDatabaseConfiguration(
                host: try map["host"]?.string() ?? "localhost", port: try map["port"]?.int(range: 1...65535) ?? 5432, username: username,
                database: database)
        }
        switch (map["password"], map["password_file"]) {
        case (.some, .some):
            throw ConfigurationError(keyPath: node.child("password"), problem: "`password` and `password_file` are both set",
                fix: "Keep one of them; `password_file` keeps the password out of the config file", location: node.location)
        case (let inline?, nil):
            settings.password = try inline.string()
            warnIfConfigurationIsReadable(holding: inline, fileKey: "password_file")
        case (nil, let fileNode?):
            let file = try path(fileNode)
            let password = String(decoding: try readSecretFile(file, fileNode, what: "the database password file"), as: UTF8.self)
                .trimmingWhitespace()
            if password.isEmpty { throw fileNode.error("the password file \(file) is empty", fix: "Write the role's password into it") }
            settings.password = password
        case (nil, nil):
            break
        }
        if let modeNode = map["ssl_mode"] {
            let text = try modeNode.string()
            guard let mode = PostgresDatabaseConfiguration.SSLMode(rawValue: text) else {
                throw modeNode.error("'\(text)' is not an SSL mode",
                    fix: "Use one of \(PostgresDatabaseConfiguration.SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            settings.sslMode = mode
        }
        if let caNode = map["ssl_ca_file"] {
            let file = try path(caNode)
            guard FileManager.default.isReadableFile(atPath: file) else {
                throw caNode.error("cannot read the CA file \(file)", fix: "Point it at the PEM bundle that signed the server's certificate")
            }
            settings.caFile = file
        }
        if let countNode = map["max_connections"] {
            settings.maxConnections = try countNode.int(range: 1...1000)
        }
        return settings
    }

    /// `secrets`: MAS's `encryption` / `encryption_file` and `keys[]` (`kid`, `key` | `key_file`).
    /// Absent: a warning, and `nil` (no id_token can be signed).
    func readSecrets(_ node: ConfigNode?, root: ConfigNode) throws -> SecretsConfiguration? {
        guard let node else {
            warnings.append(ConfigurationError(keyPath: root.child("secrets"),
                problem: "there is no `secrets` section, so no id_token can be signed (OpenID Connect sign-in needs one)",
                fix: "Add `secrets: {encryption_file: ..., keys: [{kid: ..., key_file: ...}]}`; `gatehouse config generate` writes one"))
            return nil
        }
        let map = try node.mapping(allowed: ["encryption", "encryption_file", "keys"])
        let encryption = attempt { try readEncryption(map, node) }
        let keys = attempt { try readSigningKeys(map, node) }
        guard let encryption, let keys else { return nil }
        return SecretsConfiguration(encryption: encryption, keys: keys)
    }

    func readEncryption(_ map: ConfigMapping, _ node: ConfigNode) throws -> [UInt8] {
        let fix = "Generate it with `openssl rand -hex 32`; keep it once in use (what it encrypted cannot be read with another)"
        let text: String
        let source: ConfigNode
        switch (map["encryption"], map["encryption_file"]) {
        case (.some, .some):
            throw ConfigurationError(keyPath: node.child("encryption"), problem: "`encryption` and `encryption_file` are both set",
                fix: "Keep one of them; `encryption_file` keeps the key out of the config file", location: node.location)
        case (nil, nil):
            throw ConfigurationError(keyPath: node.child("encryption_file"), problem: "no encryption key is configured",
                fix: "Set `encryption_file` to a file (mode 0600) holding 64 hexadecimal characters. \(fix)", location: node.location)
        case (let inline?, nil):
            text = try inline.string().trimmingWhitespace()
            source = inline
            warnIfConfigurationIsReadable(holding: inline, fileKey: "encryption_file")
        case (nil, let fileNode?):
            let file = try path(fileNode)
            text = String(decoding: try readSecretFile(file, fileNode, what: "the encryption key file"), as: UTF8.self).trimmingWhitespace()
            source = fileNode
        }
        guard let bytes = Hex.decode(text), bytes.count == 32 else {
            throw source.error("must be 32 bytes written as 64 hexadecimal characters", fix: fix)
        }
        return bytes
    }

    func readSigningKeys(_ map: ConfigMapping, _ node: ConfigNode) throws -> [SigningKey] {
        let generate = "Add an RSA key: `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out signing_rsa.pem`, "
            + "`chmod 600 signing_rsa.pem`, then `keys: [{kid: rsa-1, key_file: signing_rsa.pem}]`"
        guard let keysNode = map["keys"] else {
            throw ConfigurationError(keyPath: node.child("keys"), problem: "no signing key is configured", fix: generate, location: node.location)
        }
        var keys: [SigningKey] = []
        var seenKids: [String: String] = [:]
        for keyNode in try keysNode.sequence() {
            guard let key = attempt({ try readSigningKey(keyNode) }) else { continue }
            if let previous = seenKids[key.kid] {
                errors.append(ConfigurationError(keyPath: keyNode.child("kid"), problem: "kid '\(key.kid)' is already used by \(previous)",
                    fix: "Give each key its own `kid`", location: keyNode.location))
                continue
            }
            seenKids[key.kid] = keyNode.path
            keys.append(key)
        }
        if keys.isEmpty && errors.isEmpty {
            throw keysNode.error("must list at least one key", fix: generate)
        }
        if !keys.isEmpty && !keys.contains(where: { $0.algorithm == .rs256 }) {
            throw keysNode.error("has no RSA key; OpenID Connect requires id_tokens signed with RS256", fix: generate)
        }
        return keys
    }

    func readSigningKey(_ node: ConfigNode) throws -> SigningKey {
        let map = try node.mapping(allowed: ["kid", "key", "key_file"])
        var kid: String?
        if let kidNode = map["kid"] {
            let text = try kidNode.string()
            guard !text.isEmpty, text.utf8.count <= 128, text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) else {
                throw kidNode.error("must be 1-128 printable ASCII characters without spaces, quotes or backslashes",
                    fix: "Use a short name such as `rsa-2026-11`")
            }
            kid = text
        }
        let pem: String
        let source: ConfigNode
        switch (map["key"], map["key_file"]) {
        case (.some, .some):
            throw ConfigurationError(keyPath: node.child("key"), problem: "`key` and `key_file` are both set",
                fix: "Keep one of them; `key_file` keeps the key out of the config file", location: node.location)
        case (nil, nil):
            throw ConfigurationError(keyPath: node.child("key_file"), problem: "no key is given",
                fix: "Set `key_file` to a PEM private key (mode 0600), or `key` to the PEM text", location: node.location)
        case (let inline?, nil):
            pem = try inline.string()
            source = inline
            warnIfConfigurationIsReadable(holding: inline, fileKey: "key_file")
        case (nil, let fileNode?):
            let file = try path(fileNode)
            pem = String(decoding: try readSecretFile(file, fileNode, what: "the signing key"), as: UTF8.self)
            source = fileNode
        }
        switch SigningKey.parse(pem: pem, kid: kid) {
        case .success(let key): return key
        case .failure(let problem):
            let what = source.path.hasSuffix("key_file") ? "the file \(try path(source))" : "the key"
            throw source.error("\(what) \(problem.problem)", fix: problem.fix)
        }
    }

    /// Reads a file that holds a secret, refusing it when other accounts may read it.
    /// - Parameters:
    ///   - file: the absolute path.
    ///   - node: the key naming it, for the error.
    ///   - what: what the file is, for the message.
    func readSecretFile(_ file: String, _ node: ConfigNode, what: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: file) else {
            let reason = !FileManager.default.fileExists(atPath: file) ? "no such file"
                : !FileManager.default.isReadableFile(atPath: file) ? "permission denied" : "it could not be read"
            throw node.error("cannot read \(what) \(file): \(reason)", fix: "Check the path; create it with mode 0600 (`gatehouse config generate` writes one)")
        }
        try requirePrivate(file, node, what: what)
        return data
    }

    /// Refuses a secret file or private key that other accounts may read.
    /// - Parameters:
    ///   - file: the absolute path.
    ///   - node: the key naming it, for the error.
    ///   - what: what the file is, for the message.
    func requirePrivate(_ file: String, _ node: ConfigNode, what: String) throws {
        guard let mode = FileAccess.openToOthers(file) else { return }
        throw node.error(
            "\(what) \(file) can be read by other accounts (mode \(FileAccess.octal(mode)))",
            fix: "Run `chmod 600 \(file)` and make it owned by the user Gatehouse runs as")
    }

    /// Refuses a shared secret shorter than ``MatrixConfiguration/minimumSecretBytes``.
    func requireLongEnough(_ secret: String, _ node: ConfigNode, source: String) throws {
        let length = secret.utf8.count
        guard length < MatrixConfiguration.minimumSecretBytes else { return }
        throw node.error(
            "the shared secret in \(source) is \(length) bytes; at least \(MatrixConfiguration.minimumSecretBytes) are needed",
            fix: "Generate one with `openssl rand -hex 32` (or let `gatehouse config generate` write it), put the same value in "
                + "Synapse's matrix_authentication_service secret, and restart both")
    }

    /// A secret written inline is as private as the configuration file: warn when others can read it.
    /// - Parameters:
    ///   - node: the inline secret.
    ///   - fileKey: the sibling key that names a secret file instead.
    func warnIfConfigurationIsReadable(holding node: ConfigNode, fileKey: String) {
        guard let mode = FileAccess.openToOthers(file) else { return }
        warnings.append(node.error(
            "this secret is written in \(file), which other accounts can read (mode \(FileAccess.octal(mode)))",
            fix: "Move it to a file (mode 0600) named by `\(fileKey)`, or run `chmod 600 \(file)`"))
    }

    func readRoutes(_ node: ConfigNode) throws -> RoutesConfiguration {
        let map = try node.mapping(allowed: ["files", "match_limit", "depth_limit", "jit_stack_size"])
        let fileNodes = try map.required("files", hint: "List the route files, e.g. [matrix.routes]").sequence()
        guard !fileNodes.isEmpty else {
            throw ConfigurationError(keyPath: node.child("files"), problem: "must list at least one route file",
                fix: "`gatehouse config generate` writes the default matrix.routes")
        }
        var limits = MatchLimits.default
        if let value = map["match_limit"] { limits.matchLimit = UInt32(try value.int(range: 1_000...100_000_000)) }
        if let value = map["depth_limit"] { limits.depthLimit = UInt32(try value.int(range: 100...10_000_000)) }
        if let value = map["jit_stack_size"] { limits.jitStackBytes = try value.byteSize(range: (32 << 10)...(64 << 20)) }
        return RoutesConfiguration(files: try fileNodes.map { try path($0) }, matchLimits: limits)
    }

    func readUpstreams(_ node: ConfigNode?) throws -> [String: UpstreamConfiguration] {
        guard let node else { return [:] }
        guard case .mapping(let mapping) = node.node else { throw node.error("expected a mapping of upstream names to pools") }
        var result: [String: UpstreamConfiguration] = [:]
        for (keyNode, _) in mapping {
            guard let name = keyNode.string else { continue }
            guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
                throw ConfigurationError(keyPath: node.child(name), problem: "upstream names may only use letters, digits, - and _")
            }
            let allowed: Set = ["members", "balance", "connect_timeout", "max_idle_connections", "idle_connection_timeout", "fail_timeout",
                "max_request_header_bytes"]
            let map = try node.mapping(allowed: Set(mapping.keys.compactMap(\.string)))
            guard let poolNode = map[name] else { throw ConfigurationError(keyPath: node.child(name), problem: "is empty") }
            if let pool = attempt({ try readUpstream(name: name, poolNode, allowed: allowed) }) {
                result[name] = pool
            }
        }
        return result
    }

    func readUpstream(name: String, _ node: ConfigNode, allowed: Set<String>) throws -> UpstreamConfiguration {
        let map = try node.mapping(allowed: allowed)
        let memberNodes = try map.required("members", hint: "List servers such as [\"http://127.0.0.1:8008\"]").sequence()
        guard !memberNodes.isEmpty else {
            throw ConfigurationError(keyPath: node.child("members"), problem: "must list at least one server")
        }
        let members = try memberNodes.map { memberNode in
            let text = try memberNode.string()
            guard let member = UpstreamMember.parse(text) else {
                throw memberNode.error("'\(text)' is not an upstream URL",
                    fix: "Use http://host:port without a path, e.g. http://127.0.0.1:8008 (Synapse listens on plain HTTP behind Gatehouse)")
            }
            return member
        }
        var balance = UpstreamConfiguration.Balance.roundRobin
        if let balanceNode = map["balance"] {
            let text = try balanceNode.string()
            guard let value = UpstreamConfiguration.Balance(rawValue: text) else {
                throw balanceNode.error("unknown balance '\(text)'",
                    fix: "Use one of \(UpstreamConfiguration.Balance.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            balance = value
        }
        var upstream = UpstreamConfiguration(
            name: name, members: members, balance: balance,
            connectTimeout: try map["connect_timeout"]?.duration(range: .milliseconds(10)...(.seconds(300))) ?? .seconds(5),
            maxIdleConnections: try map["max_idle_connections"]?.int(range: 0...10_000) ?? 64,
            idleConnectionTimeout: try map["idle_connection_timeout"]?.duration(range: .seconds(1)...(.seconds(3600))) ?? .seconds(30),
            failTimeout: try map["fail_timeout"]?.duration(range: .zero...(.seconds(3600))) ?? .seconds(2))
        if let value = map["max_request_header_bytes"] { upstream.maxRequestHeaderBytes = try value.byteSize(range: 1024...(1 << 22)) }
        return upstream
    }

    func readLimits(_ node: ConfigNode?) throws -> LimitsConfiguration {
        var limits = LimitsConfiguration(maxRequestTargetBytes: 8192, maxHeaderBytes: 65536, maxBodyBytes: 50 << 20)
        guard let node else { return limits }
        let map = try node.mapping(allowed: [
            "max_request_target_bytes", "max_header_bytes", "max_body_bytes", "max_connections", "max_connections_per_address",
            "proxy_request_buffer",
        ])
        if let value = map["max_request_target_bytes"] { limits.maxRequestTargetBytes = try value.byteSize(range: 256...(1 << 20)) }
        if let value = map["max_header_bytes"] { limits.maxHeaderBytes = try value.byteSize(range: 1024...(1 << 22)) }
        if let value = map["max_body_bytes"] { limits.maxBodyBytes = try value.byteSize(range: 0...(1 << 40)) }
        if let value = map["max_connections"] { limits.maxConnections = try value.int(range: 1...10_000_000) }
        if let value = map["max_connections_per_address"] { limits.maxConnectionsPerAddress = try value.int(range: 1...10_000_000) }
        if let value = map["proxy_request_buffer"] { limits.proxyRequestBuffer = try value.byteSize(range: 0...(64 << 20)) }
        return limits
    }

    func readTimeouts(_ node: ConfigNode?) throws -> TimeoutsConfiguration {
        var timeouts = TimeoutsConfiguration(header: .seconds(30), body: .seconds(60), idle: .seconds(75), upstream: .seconds(60), shutdownGrace: .seconds(30))
        guard let node else { return timeouts }
        let map = try node.mapping(allowed: ["header", "body", "body_total", "local_body", "idle", "upstream", "send", "shutdown_grace"])
        let range: ClosedRange<Duration> = .milliseconds(100)...(.seconds(86_400))
        if let value = map["header"] { timeouts.header = try value.duration(range: range) }
        if let value = map["body"] { timeouts.body = try value.duration(range: range) }
        if let value = map["body_total"] { timeouts.bodyTotal = try value.duration(range: range) }
        if let value = map["local_body"] { timeouts.localBody = try value.duration(range: range) }
        if let value = map["send"] { timeouts.send = try value.duration(range: range) }
        if let value = map["idle"] { timeouts.idle = try value.duration(range: range) }
        if let value = map["upstream"] { timeouts.upstream = try value.duration(range: range) }
        if let value = map["shutdown_grace"] { timeouts.shutdownGrace = try value.duration(range: .zero...(.seconds(3600))) }
        return timeouts
    }

    func readLog(_ node: ConfigNode?) throws -> LogConfiguration {
        var log = LogConfiguration(level: .info, access: true)
        guard let node else { return log }
        let map = try node.mapping(allowed: ["level", "access"])
        if let levelNode = map["level"] {
            let text = try levelNode.string()
            guard let level = LogConfiguration.Level(rawValue: text) else {
                throw levelNode.error("unknown level '\(text)'", fix: "Use one of \(LogConfiguration.Level.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            log.level = level
        }
        if let access = map["access"] { log.access = try access.bool() }
        return log
    }

    func readExperimental(_ node: ConfigNode?) throws -> ExperimentalConfiguration {
        var experimental = ExperimentalConfiguration()
        guard let node else { return experimental }
        let map = try node.mapping(allowed: ["compat_token_ttl", "access_token_ttl"])
        if let ttl = map["compat_token_ttl"], let seconds = attempt({ try ttl.int(range: 60...86_400) }) {
            experimental.compatTokenTTL = .seconds(seconds)
        }
        if let ttl = map["access_token_ttl"], let seconds = attempt({ try ttl.int(range: 60...86_400) }) {
            experimental.accessTokenTTL = .seconds(seconds)
        }
        return experimental
    }

    func readServer(_ node: ConfigNode?) throws -> ServerConfiguration {
        guard let node else { return ServerConfiguration(threads: nil) }
        let map = try node.mapping(allowed: ["threads", "pid_file"])
        let threads = try map["threads"]?.int(range: 0...256)
        let pidFile = try map["pid_file"].map { try path($0) }
        return ServerConfiguration(threads: threads == 0 ? nil : threads, pidFile: pidFile)
    }

    func readMetrics(_ node: ConfigNode?) throws -> MetricsConfiguration {
        guard let node else { return MetricsConfiguration() }
        let map = try node.mapping(allowed: ["address"])
        guard let addressNode = map["address"] else { return MetricsConfiguration() }
        let text = try addressNode.string()
        guard let address = BindAddress.parse(text) else {
            throw addressNode.error("'\(text)' is not host:port", fix: "Use e.g. \"127.0.0.1:9109\" (loopback: only this machine can scrape)")
        }
        if !address.isLoopback {
            warnings.append(addressNode.error(
                "/metrics on \(address) is reachable from other machines and has no authentication",
                fix: "Bind it to 127.0.0.1 or a private interface that only the monitoring can reach (firewall)"))
        }
        return MetricsConfiguration(address: address)
    }

    func readPasswords(_ node: ConfigNode?) throws -> PasswordsConfiguration {
        guard let node else { return .default }
        let map = try node.mapping(allowed: ["enabled", "schemes"])
        let enabled = try map["enabled"]?.bool() ?? true
        guard let schemesNode = map["schemes"] else {
            return PasswordsConfiguration(enabled: enabled, schemes: PasswordsConfiguration.default.schemes)
        }
        let schemeNodes = try schemesNode.sequence()
        guard !schemeNodes.isEmpty else {
            throw schemesNode.error("must list at least one scheme",
                fix: "Remove `schemes` to use the default (`[{version: 1, algorithm: argon2id}]`), or add one")
        }
        var schemes: [PasswordSchemeConfiguration] = []
        var seenVersions: [Int: String] = [:]
        for schemeNode in schemeNodes {
            guard let scheme = attempt({ try readPasswordScheme(schemeNode) }) else { continue }
            if let previous = seenVersions[scheme.version] {
                errors.append(ConfigurationError(
                    keyPath: "\(schemeNode.path).version", problem: "version \(scheme.version) is already used by \(previous)",
                    fix: "Give each scheme its own version; the highest hashes new passwords", location: schemeNode.location))
                continue
            }
            seenVersions[scheme.version] = schemeNode.path
            schemes.append(scheme)
        }
        return PasswordsConfiguration(enabled: enabled, schemes: schemes)
    }

    func readRateLimiting(_ node: ConfigNode?) throws -> RateLimitingConfiguration {
        var config = RateLimitingConfiguration.default
        guard let node else { return config }
        let map = try node.mapping(allowed: ["login", "client_registration", "device_authorization", "registration"])
        if let loginNode = map["login"] {
            let login = try loginNode.mapping(allowed: ["per_ip", "per_account"])
            if let limiter = login["per_ip"], let value = attempt({ try readRateLimit(limiter, defaults: config.login.perIP) }) {
                config.login.perIP = value
            }
            if let limiter = login["per_account"], let value = attempt({ try readRateLimit(limiter, defaults: config.login.perAccount) }) {
                config.login.perAccount = value
            }
        }
        if let limiter = map["client_registration"], let value = attempt({ try readRateLimit(limiter, defaults: config.clientRegistration) }) {
            config.clientRegistration = value
        }
        if let limiter = map["device_authorization"], let value = attempt({ try readRateLimit(limiter, defaults: config.deviceAuthorization) }) {
            config.deviceAuthorization = value
        }
        if let limiter = map["registration"], let value = attempt({ try readRateLimit(limiter, defaults: config.registration) }) {
            config.registration = value
        }
        return config
    }

    /// One `{burst, per_second}` limiter; a key left out keeps its default. Both keys are checked
    /// even when the first is wrong.
    func readRateLimit(_ node: ConfigNode, defaults: RateLimitConfiguration) throws -> RateLimitConfiguration {
        let map = try node.mapping(allowed: ["burst", "per_second"])
        var limit = defaults
        if let burstNode = map["burst"], let burst = attempt({ try burstNode.int(range: 1...1_000_000) }) {
            limit.burst = burst
        }
        if let rateNode = map["per_second"], let rate = attempt({ () throws -> Double in
            let rate = try rateNode.double(range: 0...1_000_000)
            guard rate > 0 else {
                throw rateNode.error("must be more than 0",
                    fix: "Give the refill rate in requests per second, e.g. 0.05 for 3 per minute (a limiter cannot be turned off)")
            }
            return rate
        }) {
            limit.perSecond = rate
        }
        return limit
    }

    /// `clients[]`: every client is checked (errors collected), and a `client_id` may appear once.
    /// - Parameters:
    ///   - node: the `clients` node.
    ///   - signingAlgorithms: the algorithms of `secrets.keys`, which the signed-response keys may
    ///     name; `nil` when `secrets` could not be read (no key check then).
    func readClients(_ node: ConfigNode?, signingAlgorithms: [SigningAlgorithm]?) throws -> [StaticClientConfiguration] {
        guard let node else { return [] }
        var clients: [StaticClientConfiguration] = []
        var seen: [String: String] = [:]
        for clientNode in try node.sequence() {
            guard let client = attempt({ try readClient(clientNode, signingAlgorithms: signingAlgorithms) }) else { continue }
            if let previous = seen[client.clientId] {
                errors.append(ConfigurationError(
                    keyPath: "\(clientNode.path).client_id", problem: "\(client.clientId) is already used by \(previous)",
                    fix: "Give each client its own ULID", location: clientNode.location))
                continue
            }
            seen[client.clientId] = clientNode.path
            clients.append(client)
        }
        return clients
    }

    func readClient(_ node: ConfigNode, signingAlgorithms: [SigningAlgorithm]?) throws -> StaticClientConfiguration {
        let map = try node.mapping(allowed: [
            "client_id", "client_auth_method", "client_secret", "client_secret_file", "redirect_uris", "client_name", "client_uri",
            "jwks", "jwks_uri", "id_token_signed_response_alg", "userinfo_signed_response_alg",
        ])
        let idNode = try map.required(
            "client_id", hint: "Give the client a ULID of its own, e.g. 01J9Z0XKQ4T3H7YB2V6N8M5R1C (MAS's ids can be kept)")
        let clientId = try idNode.string()
        guard ULID.isValid(clientId) else {
            throw idNode.error("'\(clientId)' is not a ULID (26 characters of Crockford base32, as MAS requires)",
                fix: "Use 26 characters of 0-9 and A-Z without I, L, O, U, starting with 0-7, e.g. 01J9Z0XKQ4T3H7YB2V6N8M5R1C, or the id MAS used")
        }
        let methodNode = try map.required("client_auth_method", hint: "Use `none` for a public client or `client_secret_basic`/`client_secret_post`")
        let methodText = try methodNode.string()
        guard let method = ClientAuthMethod(rawValue: methodText) else {
            let jwt = methodText == "client_secret_jwt" || methodText == "private_key_jwt"
            throw methodNode.error(
                jwt ? "'\(methodText)' is not supported by Gatehouse yet" : "unknown client_auth_method '\(methodText)'",
                fix: "Use one of \(ClientAuthMethod.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        for key in ["jwks", "jwks_uri"] {
            if let unsupported = map[key] {
                throw unsupported.error("`\(key)` is only used by private_key_jwt, which Gatehouse does not support",
                    fix: "Remove it and use client_secret_basic or client_secret_post")
            }
        }
        let secret: String?
        switch (map["client_secret"], map["client_secret_file"]) {
        case (.some, .some):
            throw ConfigurationError(keyPath: node.child("client_secret"), problem: "`client_secret` and `client_secret_file` are both set",
                fix: "Keep one of them; `client_secret_file` keeps the secret out of the config file", location: node.location)
        case (nil, nil):
            secret = nil
        case (let inline?, nil):
            secret = try inline.string().trimmingWhitespace()
            warnIfConfigurationIsReadable(holding: inline, fileKey: "client_secret_file")
            try requireClientSecret(secret!, inline, source: "`client_secret`")
        case (nil, let fileNode?):
            let file = try path(fileNode)
            guard let data = FileManager.default.contents(atPath: file) else {
                throw fileNode.error("cannot read the client secret file \(file)", fix: "Create it (mode 0600) with the client's secret")
            }
            try requirePrivate(file, fileNode, what: "the client secret file")
            secret = String(decoding: data, as: UTF8.self).trimmingWhitespace()
            try requireClientSecret(secret!, fileNode, source: "the file \(file)")
        }
        if method.usesSecret && secret == nil {
            throw ConfigurationError(keyPath: node.child("client_secret_file"), problem: "\(method.rawValue) needs a client secret",
                fix: "Set `client_secret_file` to a file (mode 0600) holding it, e.g. made with `openssl rand -hex 32`", location: node.location)
        }
        if !method.usesSecret && secret != nil {
            throw ConfigurationError(keyPath: node.child("client_auth_method"), problem: "a public client (`none`) has no secret",
                fix: "Remove the secret, or use client_secret_basic or client_secret_post", location: node.location)
        }
        let urisNode = try map.required("redirect_uris", hint: "List the client's redirect URIs, e.g. [\"https://app.example.com/callback\"]")
        var redirectURIs: [String] = []
        for uriNode in try urisNode.sequence() {
            let uri = try uriNode.string()
            if let problem = StaticClientConfiguration.problem(withRedirectURI: uri) {
                throw uriNode.error(
                    "'\(uri)' \(problem)", fix: "Write the exact redirect URI the client sends, e.g. https://app.example.com/callback")
            }
            redirectURIs.append(uri)
        }
        let clientURI = try map["client_uri"]?.string()
        if let clientURI, let uriNode = map["client_uri"] {
            guard case .success(let parsed) = URIReference.parse(clientURI), parsed.scheme == "https" || parsed.scheme == "http",
                parsed.hasAuthority
            else {
                throw uriNode.error("'\(clientURI)' is not an http(s) URL", fix: "Use the client's home page, e.g. https://app.example.com/")
            }
        }
        return StaticClientConfiguration(
            clientId: clientId, authMethod: method, secret: secret, redirectURIs: redirectURIs, clientName: try map["client_name"]?.string(),
            clientURI: clientURI,
            idTokenSignedResponseAlg: try readSigningAlgorithm(map["id_token_signed_response_alg"], among: signingAlgorithms),
            userinfoSignedResponseAlg: try readSigningAlgorithm(map["userinfo_signed_response_alg"], among: signingAlgorithms))
    }

    /// A client's `id_token_signed_response_alg` / `userinfo_signed_response_alg`: an algorithm one of
    /// `secrets.keys` signs with (unchecked when `signingAlgorithms` is `nil`).
    func readSigningAlgorithm(_ node: ConfigNode?, among signingAlgorithms: [SigningAlgorithm]?) throws -> SigningAlgorithm? {
        guard let node else { return nil }
        let name = try node.string()
        let supported = SigningAlgorithm.allCases.map(\.rawValue).joined(separator: " or ")
        switch ClientRegistrationPolicy.signingAlgorithm(name, among: signingAlgorithms ?? SigningAlgorithm.allCases) {
        case .success(let algorithm): return algorithm
        case .failure(.unsupported): throw node.error("'\(name)' is not an algorithm Gatehouse signs with", fix: "Use \(supported), or remove the key")
        case .failure(.noKey):
            throw node.error(
                "no key of `secrets.keys` signs with \(name)",
                fix: "Add \(name == SigningAlgorithm.rs256.rawValue ? "an RSA" : "a P-256 EC") key to `secrets.keys`, or remove this key")
        }
    }

    func requireClientSecret(_ secret: String, _ node: ConfigNode, source: String) throws {
        guard secret.utf8.count >= StaticClientConfiguration.minimumSecretBytes else {
            throw node.error(
                "the client secret in \(source) is \(secret.utf8.count) bytes; at least \(StaticClientConfiguration.minimumSecretBytes) are needed",
                fix: "Generate one with `openssl rand -hex 32` and configure the same value in the client")
        }
    }

    func readPasswordScheme(_ node: ConfigNode) throws -> PasswordSchemeConfiguration {
        let map = try node.mapping(allowed: ["version", "algorithm", "cost", "secret", "secret_file", "unicode_normalization"])
        let version = try map.required("version", hint: "Number the scheme, e.g. `version: 1`; stored hashes refer to it").int(range: 1...65535)
        var algorithm = PasswordSchemeConfiguration.Algorithm.argon2id
        if let algorithmNode = map["algorithm"] {
            let text = try algorithmNode.string()
            guard let value = PasswordSchemeConfiguration.Algorithm(rawValue: text) else {
                throw algorithmNode.error("unknown algorithm '\(text)'",
                    fix: "Use one of \(PasswordSchemeConfiguration.Algorithm.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            algorithm = value
        }
        var cost: Int?
        if let costNode = map["cost"] {
            guard algorithm == .bcrypt else {
                throw costNode.error("`cost` only applies to bcrypt", fix: "Remove it; argon2id uses MAS's fixed parameters")
            }
            cost = try costNode.int(range: 4...31)
        } else if algorithm == .bcrypt {
            cost = 12
        }
        let pepper: String?
        switch (map["secret"], map["secret_file"]) {
        case (.some, .some):
            throw ConfigurationError(keyPath: node.child("secret"), problem: "`secret` and `secret_file` are both set",
                fix: "Keep one of them; `secret_file` keeps the pepper out of the config file", location: node.location)
        case (nil, nil):
            pepper = nil
        case (let inline?, nil):
            pepper = try inline.string().trimmingWhitespace()
            if pepper?.isEmpty == true { throw inline.error("must not be empty", fix: "Remove `secret` for no pepper") }
            warnIfConfigurationIsReadable(holding: inline, fileKey: "secret_file")
        case (nil, let fileNode?):
            let file = try path(fileNode)
            guard let data = FileManager.default.contents(atPath: file) else {
                throw fileNode.error("cannot read the pepper file \(file)", fix: "Create it (mode 0600) with the pepper, or remove `secret_file`")
            }
            try requirePrivate(file, fileNode, what: "the pepper file")
            pepper = String(decoding: data, as: UTF8.self).trimmingWhitespace()
            if pepper?.isEmpty == true { throw fileNode.error("the pepper file \(file) is empty", fix: "Write the pepper into it") }
        }
        let normalization = try map["unicode_normalization"]?.bool() ?? false
        return PasswordSchemeConfiguration(
            version: version, algorithm: algorithm, cost: cost, pepper: pepper, unicodeNormalization: normalization)
    }
}

/// Hexadecimal text.
enum Hex {
    /// The bytes of an even-length hexadecimal string (either case), or `nil`.
    static func decode(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = value(digits[index]), let low = value(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func value(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Path helpers that need no Foundation URL juggling.
public enum FilePaths {
    /// `path` made absolute against `base` when it is relative.
    /// - Parameters:
    ///   - path: a file path.
    ///   - base: the directory relative paths start from.
    public static func absolute(_ path: String, relativeTo base: String) -> String {
        if path.hasPrefix("/") { return path }
        return base.hasSuffix("/") ? base + path : base + "/" + path
    }

    /// The directory part of an absolute file path.
    /// - Parameter file: an absolute path.
    public static func directory(of file: String) -> String {
        guard let slash = file.lastIndex(of: "/") else { return "." }
        return slash == file.startIndex ? "/" : String(file[..<slash])
    }
}
