import Foundation
import GatehouseCore
import GatehouseTestSupport
import GatehouseTesting
import Logging
import NIOPosix
import ServiceLifecycle
import Testing

@testable import GatehouseServer

/// A configuration directory with a route file, for reload tests: `yaml(...)` writes the
/// configuration, `routes(...)` the route file, `load()` validates both as `serve` does.
final class ReloadFixture {
    let directory: String
    var path: String { "\(directory)/gatehouse.yaml" }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-reload-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try routes("GET ^/health$ local health\n")
        try yaml()
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func routes(_ text: String) throws {
        try text.write(toFile: "\(directory)/test.routes", atomically: true, encoding: .utf8)
    }

    /// Writes a self-signed pair as `cert.pem` and `key.pem` (for a `tls` listener).
    func certificate() throws {
        let pair = try SelfSignedCertificate.make(hostNames: ["localhost"])
        try pair.certificatePEM.write(toFile: "\(directory)/cert.pem", atomically: true, encoding: .utf8)
        try pair.keyPEM.write(toFile: "\(directory)/key.pem", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: "\(directory)/key.pem")
    }

    /// - Parameters:
    ///   - bind: the listener's address.
    ///   - database: `database.path`.
    ///   - extra: more top-level YAML.
    ///   - tlsListener: adds a second listener with `cert.pem` and `key.pem`.
    func yaml(bind: String = "127.0.0.1:0", database: String = "test.db", extra: String = "", tlsListener: Bool = false) throws {
        let tls = tlsListener ? "\n    - name: tls\n      binds: [{address: \"127.0.0.1:0\"}]\n      tls: {certificate_file: cert.pem, key_file: key.pem}" : ""
        let text = """
            http:
              public_base: http://localhost/
              listeners:
                - name: test
                  binds: [{address: "\(bind)"}]\(tls)
            matrix: {homeserver: localhost, endpoint: "http://127.0.0.1:1/", secret: "test-secret-of-at-least-32-bytes!"}
            database: {path: \(database)}
            routes: {files: [test.routes]}
            upstreams:
              synapse: {members: ["http://127.0.0.1:1"]}
            log: {access: false}
            \(extra)
            """
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func load() throws -> ConfigurationBundle {
        try ConfigurationBundle.load(path: path)
    }
}

struct ReloadPlanTests {
    @Test func anUnchangedFileNeedsNoRestartAndChangesNothing() throws {
        let fixture = try ReloadFixture()
        let running = try fixture.load().configuration
        let plan = ReloadPlan.make(running: running, candidate: try fixture.load().configuration)
        #expect(plan.restartNeeded.isEmpty)
        #expect(plan.applied.isEmpty)
    }

    @Test func startOnlySettingsKeepTheirRunningValueAndAreReported() throws {
        let fixture = try ReloadFixture()
        let running = try fixture.load().configuration
        try fixture.yaml(bind: "127.0.0.1:8999", database: "other.db", extra: "limits: {max_connections: 10}")
        let plan = ReloadPlan.make(running: running, candidate: try fixture.load().configuration)
        #expect(plan.restartNeeded.sorted() == ["database", "http.listeners", "limits.max_connections"])
        // Not half-applied: the running values stay whole.
        #expect(plan.effective.database == running.database)
        #expect(plan.effective.http.listeners[0].binds == running.http.listeners[0].binds)
        #expect(plan.effective.limits.maxConnections == running.limits.maxConnections)
    }

    @Test func reloadableSettingsAreTakenFromTheNewFile() throws {
        let fixture = try ReloadFixture()
        let running = try fixture.load().configuration
        try fixture.yaml(extra: "timeouts: {upstream: 7s}\nlimits: {max_body_bytes: 1MiB}")
        var text = try String(contentsOfFile: fixture.path, encoding: .utf8)
        text = text.replacingOccurrences(of: "log: {access: false}", with: "log: {access: true}")
        try text.write(toFile: fixture.path, atomically: true, encoding: .utf8)
        let plan = ReloadPlan.make(running: running, candidate: try fixture.load().configuration)
        #expect(plan.restartNeeded.isEmpty)
        #expect(plan.applied.sorted() == ["limits", "log.access", "timeouts"])
        #expect(plan.effective.timeouts.upstream == .seconds(7))
        #expect(plan.effective.limits.maxBodyBytes == 1 << 20)
        #expect(plan.effective.log.access)
    }

    @Test func aNewUpstreamWaitsForARestart() throws {
        let fixture = try ReloadFixture()
        let running = try fixture.load().configuration
        var text = try String(contentsOfFile: fixture.path, encoding: .utf8)
        text = text.replacingOccurrences(of: "upstreams:\n", with: "upstreams:\n  media: {members: [\"http://127.0.0.1:2\"]}\n")
        try text.write(toFile: fixture.path, atomically: true, encoding: .utf8)
        let plan = ReloadPlan.make(running: running, candidate: try fixture.load().configuration)
        #expect(plan.restartNeeded == ["upstreams"])
        #expect(plan.effective.upstreams.keys.sorted() == ["synapse"])
    }
}

/// Reloads against a running in-process server.
struct ConfigurationReloaderTests {
    /// Runs a server from `fixture`'s files with a reloader, for `body`.
    private func withServer<T>(
        _ fixture: ReloadFixture, metrics: GatehouseMetrics? = nil,
        _ body: (_ port: Int, _ reloader: ConfigurationReloader, _ server: GatehouseServer) async throws -> T
    ) async throws -> T {
        let bundle = try fixture.load()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let runtime = GatewayRuntime(
            configuration: bundle.configuration, routes: bundle.routes, responders: [.health: HealthResponder()], logger: logger,
            metrics: metrics)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let server = try GatehouseServer(runtime: runtime, group: MultiThreadedEventLoopGroup.singleton, metrics: metrics) { bound in
            continuation.yield(bound[0].port)
        }
        let reloader = ConfigurationReloader(path: fixture.path, running: bundle.configuration, server: server, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: server)], logger: logger))
        let running = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        defer { running.cancel() }
        let result = try await body(port, reloader, server)
        await group.triggerGracefulShutdown()
        try await running.value
        return result
    }

    @Test func aRouteFileThatDoesNotCompileKeepsTheOldRulesAndAFixedOneApplies() async throws {
        let fixture = try ReloadFixture()
        try await withServer(fixture) { port, reloader, server in
            #expect(try await request(port: port, "GET /probe HTTP/1.1\r\nHost: x\r\n\r\n").status == 404)

            try fixture.routes("GET ^/probe$ local no-such-service\nGET ^/health$ local health\n")
            guard case .rejected(let reason) = reloader.reload() else {
                Issue.record("a broken route file was applied")
                return
            }
            #expect(reason.contains("routes.files"))
            #expect(server.runtime.routes.routes.count == 1)
            #expect(try await request(port: port, "GET /probe HTTP/1.1\r\nHost: x\r\n\r\n").status == 404)
            #expect(try await request(port: port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n").status == 200)

            // A connection accepted before the reload keeps its rules and stays open.
            let before = try RawHTTPClient(port: port)
            try before.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try before.readResponse().status == 200)

            try fixture.routes("GET ^/probe$ local health\nGET ^/health$ local health\n")
            #expect(reloader.reload() == .applied(changed: [], restartNeeded: []))
            #expect(try await request(port: port, "GET /probe HTTP/1.1\r\nHost: x\r\n\r\n").status == 200)

            try before.send("GET /probe HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try before.readResponse().status == 404)
        }
    }

    @Test func aConfigurationThatDoesNotValidateIsRefusedWithItsReason() async throws {
        let fixture = try ReloadFixture()
        try await withServer(fixture) { port, reloader, server in
            try fixture.yaml(extra: "timeouts: {upstream: soon}")
            guard case .rejected(let reason) = reloader.reload() else {
                Issue.record("an invalid configuration was applied")
                return
            }
            #expect(reason.contains("timeouts.upstream"))
            #expect(server.runtime.timeouts.upstream == .seconds(60))
            #expect(try await request(port: port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n").status == 200)
        }
    }

    @Test func aCertificateThatDoesNotLoadIsRefusedAndTheOldOneStays() async throws {
        let fixture = try ReloadFixture()
        try fixture.certificate()
        try fixture.yaml(tlsListener: true)
        try await withServer(fixture) { port, reloader, server in
            let before = server.runtime
            try "not a certificate".write(toFile: "\(fixture.directory)/cert.pem", atomically: true, encoding: .utf8)
            guard case .rejected(let reason) = reloader.reload() else {
                Issue.record("a broken certificate was applied")
                return
            }
            #expect(reason.hasPrefix("TLS:"))
            #expect(server.runtime === before)
            #expect(try await request(port: port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n").status == 200)

            // A renewed pair at the same paths is read by the next reload.
            try fixture.certificate()
            #expect(reloader.reload() == .applied(changed: [], restartNeeded: []))
            #expect(server.runtime !== before)
        }
    }

    @Test func restartOnlyChangesAreReportedAndTheRestIsApplied() async throws {
        let fixture = try ReloadFixture()
        try await withServer(fixture) { port, reloader, server in
            try fixture.yaml(database: "moved.db", extra: "timeouts: {upstream: 9s}")
            #expect(reloader.reload() == .applied(changed: ["timeouts"], restartNeeded: ["database"]))
            #expect(server.runtime.timeouts.upstream == .seconds(9))
            #expect(server.runtime.configuration.database.sqlitePath?.hasSuffix("/test.db") == true)
            #expect(try await request(port: port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n").status == 200)
        }
    }

    @Test func aScrapeCountsRequestsByRuleAndStatusAndKeepsSeriesAcrossAReload() async throws {
        let fixture = try ReloadFixture()
        try fixture.routes("GET ^/health$ local health\n* ^/gone$ deny 403\n")
        let metrics = GatehouseMetrics(upstreams: ["synapse"])
        try await withServer(fixture, metrics: metrics) { port, reloader, _ in
            #expect(try await request(port: port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n").status == 200)
            #expect(try await request(port: port, "GET /gone HTTP/1.1\r\nHost: x\r\n\r\n").status == 403)
            #expect(try await request(port: port, "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n").status == 404)
            // The deny rule moves to line 1: a new series; the old one keeps its count.
            try fixture.routes("* ^/gone$ deny 403\nGET ^/health$ local health\n")
            _ = reloader.reload()
            #expect(try await request(port: port, "GET /gone HTTP/1.1\r\nHost: x\r\n\r\n").status == 403)

            let text = await metrics.render()
            #expect(text.contains("gatehouse_http_requests_total{rule=\"test.routes:1\",action=\"local health\",status=\"2xx\"} 1\n"))
            #expect(text.contains("gatehouse_http_requests_total{rule=\"test.routes:2\",action=\"deny 403\",status=\"4xx\"} 1\n"))
            #expect(text.contains("gatehouse_http_requests_total{rule=\"test.routes:1\",action=\"deny 403\",status=\"4xx\"} 1\n"))
            #expect(text.contains("gatehouse_http_requests_total{rule=\"none\",action=\"none\",status=\"4xx\"} 1\n"))
            #expect(text.contains("# TYPE gatehouse_connections_active gauge\ngatehouse_connections_active{listener=\"test\"} "))
            #expect(text.contains("gatehouse_upstream_request_duration_seconds_count{upstream=\"synapse\"} 0\n"))
        }
    }
}

struct MetricsRecordingTests {
    private func table(_ text: String) throws -> RouteTable {
        try RouteTable.load(files: ["/etc/gatehouse/main.routes"], upstreams: ["synapse", "media"], read: { _ in text })
    }

    @Test func proxiedRequestsFillTheirUpstreamsHistogram() throws {
        let metrics = GatehouseMetrics(upstreams: ["synapse", "media"])
        let routes = try table("* ^/_matrix/media/ proxy media\n* ^/_matrix/ proxy synapse\n")
        let series = metrics.series(for: routes)
        let loop = LoopMetrics()
        let synapse = routes.routes[1]
        series.record(route: synapse, status: 200, wentUpstream: true, startedAt: .now(), into: loop)
        series.record(route: synapse, status: 502, wentUpstream: true, startedAt: .now(), into: loop)
        // Refused before any upstream was used (e.g. by the edge token check): counted, not timed.
        series.record(route: synapse, status: 401, wentUpstream: false, startedAt: .now(), into: loop)
        series.record(route: nil, status: 0, wentUpstream: false, startedAt: .now(), into: loop)

        let text = metrics.render(GatehouseMetrics.LoopTotals(loop))
        #expect(text.contains("gatehouse_http_requests_total{rule=\"main.routes:2\",action=\"proxy synapse\",status=\"2xx\"} 1\n"))
        #expect(text.contains("gatehouse_http_requests_total{rule=\"main.routes:2\",action=\"proxy synapse\",status=\"4xx\"} 1\n"))
        #expect(text.contains("gatehouse_http_requests_total{rule=\"main.routes:2\",action=\"proxy synapse\",status=\"5xx\"} 1\n"))
        #expect(text.contains("gatehouse_http_requests_total{rule=\"none\",action=\"none\",status=\"other\"} 1\n"))
        #expect(text.contains("gatehouse_upstream_request_duration_seconds_count{upstream=\"synapse\"} 2\n"))
        #expect(text.contains("gatehouse_upstream_request_duration_seconds_bucket{upstream=\"synapse\",le=\"+Inf\"} 2\n"))
        #expect(text.contains("gatehouse_upstream_request_duration_seconds_count{upstream=\"media\"} 0\n"))
    }

    @Test func loopTotalsAddUpEveryLoop() throws {
        let metrics = GatehouseMetrics(upstreams: [])
        let routes = try table("GET ^/health$ local health\n")
        let series = metrics.series(for: routes)
        let first = LoopMetrics()
        let second = LoopMetrics()
        series.record(route: routes.routes[0], status: 200, wentUpstream: false, startedAt: .now(), into: first)
        series.record(route: routes.routes[0], status: 204, wentUpstream: false, startedAt: .now(), into: second)
        var totals = GatehouseMetrics.LoopTotals(first)
        totals.add(GatehouseMetrics.LoopTotals(second))
        #expect(metrics.render(totals).contains("{rule=\"main.routes:1\",action=\"local health\",status=\"2xx\"} 2\n"))
    }

    @Test func loginAndGrantOutcomesAreCountedInTheRegistry() {
        let metrics = GatehouseMetrics(upstreams: [])
        let logins = LoginMetrics(factory: metrics.factory)
        logins.compatLogin(type: "m.login.password", outcome: "success")
        logins.compatLogin(type: "m.login.password", outcome: "invalid_credentials")
        logins.compatLogin(type: "m.login.password", outcome: "invalid_credentials")
        logins.tokenGrant(grantType: "refresh_token", outcome: "invalid_grant")
        let text = metrics.registry.emitToString()
        #expect(text.contains("gatehouse_compat_logins_total{type=\"m.login.password\",outcome=\"success\"} 1\n"))
        #expect(text.contains("gatehouse_compat_logins_total{type=\"m.login.password\",outcome=\"invalid_credentials\"} 2\n"))
        #expect(text.contains("gatehouse_oauth2_token_requests_total{grant_type=\"refresh_token\",outcome=\"invalid_grant\"} 1\n"))
        LoginMetrics.off.compatLogin(type: "m.login.password", outcome: "success")
        #expect(metrics.registry.emitToString() == text)
    }

    @Test(arguments: StoreBackend.allCases) func introspectionAnswersFromMemoryAndFromTheStoreAreCounted(_ backend: StoreBackend) async throws {
        let fixture = try await IntrospectionFixture(backend)
        let metrics = GatehouseMetrics(upstreams: [])
        let endpoint = IntrospectionEndpoint(
            sharedSecret: fixture.secret,
            validator: TokenValidator(store: fixture.store, cache: IntrospectionCache(), clock: fixture.clock, metrics: metrics.factory))
        let (token, _) = try await fixture.issue()
        // The first answer reads the store (its immediate check finds nothing), the second is cached.
        #expect(endpoint.immediateResponse(to: fixture.request(token: token)) == nil)
        _ = await endpoint.respond(to: fixture.request(token: token))
        _ = await endpoint.respond(to: fixture.request(token: token))
        let text = metrics.registry.emitToString()
        #expect(text.contains("gatehouse_introspection_cache_total{result=\"miss\"} 1\n"))
        #expect(text.contains("gatehouse_introspection_cache_total{result=\"hit\"} 1\n"))
    }

    @Test func labelValuesAreEscaped() {
        #expect(GatehouseMetrics.escape("a\"b\\c\nd") == "a\\\"b\\\\c\\nd")
    }
}
