/// The validated configuration of one Gatehouse process.
///
/// Built only by ``ConfigurationLoader``, which checks every value, so the rest of the program can
/// trust these fields without re-validating them. Relative file paths are already resolved against the
/// directory of the configuration file.
public struct GatehouseConfiguration: Sendable {
    public var http: HTTPConfiguration
    public var matrix: MatrixConfiguration
    public var database: DatabaseConfiguration
    public var routes: RoutesConfiguration
    /// Named pools of upstream servers that `proxy <name>` rules forward to.
    public var upstreams: [String: UpstreamConfiguration]
    public var limits: LimitsConfiguration
    public var timeouts: TimeoutsConfiguration
    public var log: LogConfiguration
    public var server: ServerConfiguration
    /// `passwords`: password login and hashing schemes; ``PasswordsConfiguration/default`` when absent.
    public var passwords: PasswordsConfiguration
    /// `rate_limiting`: login limits per client address and per account; ``RateLimitingConfiguration/default``
    /// (MAS's defaults) when absent.
    public var rateLimiting: RateLimitingConfiguration = .default
    /// `experimental`: token lifetimes, under MAS's key names.
    public var experimental: ExperimentalConfiguration = ExperimentalConfiguration()
    /// `clients`: static OAuth 2.0 clients, synced into the store by `serve` (empty when absent).
    public var clients: [StaticClientConfiguration] = []
    /// `secrets`: the encryption key and the id_token signing keys; `nil` when the section is absent
    /// (a warning: OpenID Connect sign-in needs signing keys).
    public var secrets: SecretsConfiguration? = nil
    /// `branding`: the service name and documents the HTML pages show.
    public var branding: BrandingConfiguration = BrandingConfiguration()
    /// `templates`: overrides of the built-in page templates.
    public var templates: TemplatesConfiguration = TemplatesConfiguration()
    /// `account`: what users may do on the HTML pages (registration).
    public var account: AccountConfiguration = AccountConfiguration()
    /// `admin_api`: where the administration API is served and which clients may use it (off when absent).
    public var adminAPI: AdminAPIConfiguration = AdminAPIConfiguration()
    /// `metrics`: the Prometheus listener; off when the section is absent.
    public var metrics: MetricsConfiguration = MetricsConfiguration()
    /// Absolute path of the file this was loaded from.
    public var sourceFile: String
    /// Problems that do not stop Gatehouse but that an admin should fix (a database other accounts can
    /// read, a secret inline in a configuration file others can read); `config check` prints them and
    /// `serve` logs them at start.
    public var warnings: [ConfigurationError] = []
}

/// `http`: where Gatehouse listens and how it names itself.
public struct HTTPConfiguration: Sendable {
    /// `http.public_base`: the public URL clients use, always ending in `/` (the OAuth issuer).
    public var publicBase: String
    public var listeners: [ListenerConfiguration]
    /// `http.trusted_proxies`: peers whose `X-Forwarded-For` is believed for rate limiting, and the only
    /// peers a `proxy_protocol` listener accepts connections from.
    public var trustedProxies: [IPNetwork]
}

/// `http.listeners[]`: one or more bound addresses that share a TLS setting.
public struct ListenerConfiguration: Sendable {
    public var name: String
    public var binds: [BindAddress]
    public var tls: TLSFilesConfiguration?
    /// `http.listeners[].proxy_protocol`: every connection starts with a PROXY protocol header (v1 or v2,
    /// as HAProxy's `send-proxy-v2` sends) naming the client, and comes from a peer in
    /// `http.trusted_proxies`; anything else is closed. Off by default (MAS's key).
    public var proxyProtocol: Bool = false
}

/// `http.listeners[].binds[].address`.
public struct BindAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    /// - Parameters:
    ///   - host: an IP address or host name.
    ///   - port: the TCP port (0 lets the kernel choose).
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Whether only this machine can connect (127.0.0.0/8, ::1, `localhost`).
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// Parses `host:port`, `[v6]:port` or `:port` (all interfaces).
    /// - Parameter text: the address as written.
    public static func parse(_ text: String) -> BindAddress? {
        var hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") { return nil }
        }
        if hostPart.isEmpty { hostPart = "::" }
        guard let port = Int(portPart), (0...65535).contains(port) else { return nil }
        return BindAddress(host: String(hostPart), port: port)
    }
}

/// `http.listeners[].tls`.
public struct TLSFilesConfiguration: Sendable {
    /// PEM certificate chain, leaf first.
    public var certificateFile: String
    /// PEM private key (RSA or EC).
    public var keyFile: String
    /// `Strict-Transport-Security: max-age=` sent on every response of this listener; 0 disables it.
    public var hstsMaxAge: Int
}

/// `matrix`: the homeserver Gatehouse provisions users in (same keys as MAS).
public struct MatrixConfiguration: Sendable {
    public enum Kind: String, Sendable { case synapse }
    public var kind: Kind
    /// Synapse's `server_name`.
    public var homeserver: String
    /// Where Gatehouse reaches Synapse for `/_synapse/mas/*`, ending in `/`.
    public var endpoint: String
    /// The shared secret, read from `secret` or from the file at `secret_path`, trimmed; at least
    /// ``minimumSecretBytes`` long.
    public var secret: String

    /// The shortest shared secret accepted (256 bits, as `openssl rand -hex 32` gives twice over):
    /// the secret is all that stands between anyone who can reach Gatehouse's introspection endpoint
    /// or Synapse's `/_synapse/mas` API and full control of every account.
    public static let minimumSecretBytes = 32
}

/// `routes`.
public struct RoutesConfiguration: Sendable {
    /// Route files, in the order their rules are tried.
    public var files: [String]
    /// `match_limit`, `depth_limit`, `jit_stack_size`: the PCRE2 bounds of every route match.
    public var matchLimits: MatchLimits = .default
}

/// `upstreams.<name>`: a pool of equivalent servers.
public struct UpstreamConfiguration: Sendable {
    public enum Balance: String, Sendable, CaseIterable {
        case roundRobin = "round_robin"
        case leastConnections = "least_connections"
        /// Every request of one user to the same member (rendezvous hashing on the Matrix user ID the
        /// edge token check resolved, else on the client address); a down member's users move to
        /// their next choice until it is back. For Synapse workers that keep per-user state (sync).
        case stickyUser = "sticky_user"
    }

    public var name: String
    public var members: [UpstreamMember]
    public var balance: Balance
    public var connectTimeout: Duration
    /// Idle keep-alive connections kept per member and per event loop.
    public var maxIdleConnections: Int
    /// How long an idle pooled connection is kept before it is closed.
    public var idleConnectionTimeout: Duration
    /// How long a member that refused a connection is skipped.
    public var failTimeout: Duration
    /// Largest request head (request line and headers, as sent) the members accept. Twisted, and so
    /// Synapse, drops a connection whose head passes 16 KiB; a larger head gets 431 from the edge.
    public var maxRequestHeaderBytes: Int = 16 * 1024
}

/// `upstreams.<name>.members[]`: `http://host:port`.
public struct UpstreamMember: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    /// - Parameters:
    ///   - host: host name or IP literal.
    ///   - port: TCP port.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Parses `http://host[:port][/]`; other schemes and paths are refused.
    /// - Parameter text: the URL as written.
    public static func parse(_ text: String) -> UpstreamMember? {
        guard text.hasPrefix("http://") else { return nil }
        var rest = Substring(text.dropFirst("http://".count))
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.isEmpty, !rest.contains("/"), !rest.contains("@") else { return nil }
        if let bind = BindAddress.parse(String(rest)), bind.host != "::" || rest.hasPrefix("[") {
            return bind.port == 0 ? nil : UpstreamMember(host: bind.host, port: bind.port)
        }
        guard !rest.contains(":") else { return nil }
        return UpstreamMember(host: String(rest), port: 80)
    }
}

/// `limits`: sizes enforced at the edge.
public struct LimitsConfiguration: Sendable {
    /// Longest request target (path and query) accepted; longer gets 414.
    public var maxRequestTargetBytes: Int
    /// Largest header block accepted; larger gets 431.
    public var maxHeaderBytes: Int
    /// Default request body limit for rules without `max_body=`; larger gets 413.
    public var maxBodyBytes: Int
    /// Open client connections per listener; `nil` derives it from the process's file-descriptor limit.
    public var maxConnections: Int? = nil
    /// Open client connections per client IP address, per listener.
    public var maxConnectionsPerAddress: Int = 256
    /// Request body bytes gathered before an upstream connection is taken, so that a slow client
    /// holds no upstream connection until it has sent its whole body or this much of it.
    public var proxyRequestBuffer: Int = 64 * 1024
}

/// `timeouts`.
public struct TimeoutsConfiguration: Sendable {
    /// Time a client has to send a complete request head.
    public var header: Duration
    /// Longest pause allowed between two pieces of a request body.
    public var body: Duration
    /// How long an idle keep-alive connection is kept open.
    public var idle: Duration
    /// Default time to wait for an upstream's response (and between its body pieces); rules override it.
    public var upstream: Duration
    /// How long SIGTERM waits for in-flight requests before closing what is left.
    public var shutdownGrace: Duration
    /// Total time a client has to send a proxied request's body, however steadily it trickles.
    public var bodyTotal: Duration = .seconds(300)
    /// Total time a client has to send the body of a request Gatehouse answers itself (small forms
    /// and JSON documents).
    public var localBody: Duration = .seconds(10)
    /// How long a client connection may stay unable to take what Gatehouse writes before it is cut.
    public var send: Duration = .seconds(60)
}

/// `log`.
public struct LogConfiguration: Sendable {
    public enum Level: String, Sendable, CaseIterable {
        case trace, debug, info, notice, warning, error, critical
    }

    public var level: Level
    /// One line per request on standard output.
    public var access: Bool
}

/// `experimental` (MAS's section for lifetimes).
public struct ExperimentalConfiguration: Sendable {
    /// `compat_token_ttl`: lifetime of compat access tokens issued with a refresh token (MAS default 300 s).
    public var compatTokenTTL: Duration = .seconds(300)
    /// `access_token_ttl`: lifetime of OAuth 2.0 access tokens (`mat_`, MAS default 300 s).
    public var accessTokenTTL: Duration = .seconds(300)

    public init() {}
}

/// `server`: process tuning.
public struct ServerConfiguration: Sendable {
    /// Event-loop threads; `nil` uses one per core.
    public var threads: Int?
    /// `server.pid_file`: where `serve` writes its process id, so `gatehouse reload` can find it;
    /// `nil` writes none (under systemd, `systemctl reload` signals the main process itself).
    public var pidFile: String? = nil
}

/// `metrics`: where Prometheus scrapes `GET /metrics`.
///
/// A listener of its own, plain HTTP and serving nothing else: the numbers tell how busy the
/// homeserver is and which routes are used, so they belong on an address only the monitoring can
/// reach (loopback, or a private interface behind a firewall), never on the public listener.
public struct MetricsConfiguration: Sendable {
    /// `metrics.address`: `nil` (the default) turns metrics off: nothing is recorded, nothing bound.
    public var address: BindAddress?

    public init(address: BindAddress? = nil) {
        self.address = address
    }

    /// Whether requests are counted at all.
    public var isEnabled: Bool { address != nil }
}
