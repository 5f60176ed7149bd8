import GatehouseCore

/// What a reload does with a newly read configuration, decided without any I/O.
///
/// Like PostgreSQL on SIGHUP: what can change while connections are open (routes, TLS certificates,
/// limits, timeouts, the access log) is taken from the new file; a setting that only takes effect at
/// start (a listener's addresses, the database, the upstream pools, the Synapse connection, ...) keeps
/// its running value *whole* and is reported as waiting for a restart. Nothing is half-applied: no
/// listener is rebound, no pool is rebuilt, no service is re-created.
public struct ReloadPlan: Sendable {
    /// The configuration to serve new connections with: the running one with the reloadable settings
    /// of the new file.
    public var effective: GatehouseConfiguration
    /// Key paths whose new value waits for a restart (their running value stays), e.g. `database.path`.
    public var restartNeeded: [String]
    /// Key paths whose new value is applied (route files and TLS files are re-read whether or not
    /// their paths changed, and are not listed here).
    public var applied: [String]

    /// Compares `candidate` with `running` setting by setting.
    /// - Parameters:
    ///   - running: the configuration in force.
    ///   - candidate: the configuration just read (already validated by ``ConfigurationLoader``).
    public static func make(running: GatehouseConfiguration, candidate: GatehouseConfiguration) -> ReloadPlan {
        var effective = running
        var restart: [String] = []
        var applied: [String] = []

        // Settings that only take effect at start: compared whole, never applied.
        for (key, old, new) in startOnlySettings(running, candidate) where old != new {
            restart.append(key)
        }

        // Listeners: their addresses, whether they speak TLS and whether they expect a PROXY header are
        // bound at start; the certificate
        // files and HSTS of a listener that keeps its name and addresses are reloadable.
        let oldListeners = running.http.listeners.map(listenerIdentity)
        let newListeners = candidate.http.listeners.map(listenerIdentity)
        if oldListeners != newListeners {
            restart.append("http.listeners")
        } else {
            for index in candidate.http.listeners.indices {
                let old = running.http.listeners[index].tls
                let new = candidate.http.listeners[index].tls
                if old.map(tlsFiles) != new.map(tlsFiles) { applied.append("http.listeners[\(index)].tls") }
                effective.http.listeners[index].tls = new
            }
        }

        // Reloadable settings: taken from the new file.
        if running.routes.files != candidate.routes.files { applied.append("routes.files") }
        if running.routes.matchLimits != candidate.routes.matchLimits { applied.append("routes.match_limits") }
        effective.routes = candidate.routes
        if running.log.access != candidate.log.access { applied.append("log.access") }
        effective.log.access = candidate.log.access
        if "\(running.timeouts)" != "\(candidate.timeouts)" { applied.append("timeouts") }
        effective.timeouts = candidate.timeouts

        var limits = candidate.limits
        // Connection caps are counted by objects made at start.
        if running.limits.maxConnections != candidate.limits.maxConnections { restart.append("limits.max_connections") }
        if running.limits.maxConnectionsPerAddress != candidate.limits.maxConnectionsPerAddress {
            restart.append("limits.max_connections_per_address")
        }
        limits.maxConnections = running.limits.maxConnections
        limits.maxConnectionsPerAddress = running.limits.maxConnectionsPerAddress
        if "\(running.limits)" != "\(limits)" { applied.append("limits") }
        effective.limits = limits

        // The new file's warnings are the ones that hold now.
        effective.warnings = candidate.warnings
        return ReloadPlan(effective: effective, restartNeeded: restart, applied: applied)
    }

    /// Every start-only setting as (key path, running fingerprint, new fingerprint). A fingerprint is the
    /// value's full description: these types hold plain values, and the comparison never leaves memory
    /// (secrets included in a description are not logged).
    private static func startOnlySettings(
        _ old: GatehouseConfiguration, _ new: GatehouseConfiguration
    ) -> [(String, String, String)] {
        func pair<T>(_ key: String, _ value: (GatehouseConfiguration) -> T) -> (String, String, String) {
            (key, String(reflecting: value(old)), String(reflecting: value(new)))
        }
        return [
            pair("http.public_base") { $0.http.publicBase },
            pair("http.trusted_proxies") { $0.http.trustedProxies },
            pair("matrix") { $0.matrix },
            pair("database") { $0.database },
            pair("upstreams") { $0.upstreams.sorted { $0.key < $1.key }.map { "\($0.key)=\(String(reflecting: $0.value))" } },
            pair("log.level") { $0.log.level },
            pair("server") { $0.server },
            pair("passwords") { $0.passwords },
            pair("rate_limiting") { $0.rateLimiting },
            pair("experimental") { $0.experimental },
            pair("clients") { $0.clients },
            pair("secrets") { secrets in
                secrets.secrets.map { "\($0.encryption) \($0.keys.map { "\($0.kid):\($0.thumbprint)" })" } ?? "-"
            },
            pair("branding") { $0.branding },
            pair("templates") { $0.templates },
            pair("account") { $0.account },
            // The admin API's service holds its clients from the start; which listeners serve it
            // goes with them.
            pair("admin_api") { $0.adminAPI },
            pair("metrics") { $0.metrics },
        ]
    }

    private static func listenerIdentity(_ listener: ListenerConfiguration) -> String {
        "\(listener.name) \(listener.binds) tls=\(listener.tls != nil) proxy_protocol=\(listener.proxyProtocol)"
    }

    private static func tlsFiles(_ tls: TLSFilesConfiguration) -> String {
        "\(tls.certificateFile) \(tls.keyFile) \(tls.hstsMaxAge)"
    }
}
