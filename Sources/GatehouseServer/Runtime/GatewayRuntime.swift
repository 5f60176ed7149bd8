import GatehouseCore
import Logging
import NIOCore

/// Everything a connection needs that does not change while it is open: the compiled route table,
/// limits and timeouts, local responders and the access log. Immutable and shared by all event loops;
/// per-loop mutable state lives in ``LoopContext``. A reload builds a new one (``reloaded(configuration:routes:)``)
/// that new connections pick up when they are accepted; open connections keep theirs.
public final class GatewayRuntime: Sendable {
    public let configuration: GatehouseConfiguration
    public let routes: RouteTable
    public let responders: [LocalServiceName: any LocalResponder]
    let accessLog: AccessLog
    public let logger: Logger
    /// Refuses dead Gatehouse tokens before they reach the upstream; `nil` forwards every token.
    let edgeTokenCheck: EdgeTokenCheck?
    /// The connection state machine's settings for an HTTP/1 connection, converted from the
    /// configuration once (a `Duration` to `TimeAmount` conversion is 128-bit arithmetic, and an
    /// HTTP/2 stream gets a state machine of its own).
    let connectionConfiguration: ConnectionStateMachine.Configuration
    /// `timeouts.upstream`, for rules without `timeout=`.
    let upstreamTimeout: TimeAmount
    /// The metric series of this route table; `nil` when metrics are off (nothing is recorded).
    let requestMetrics: RequestMetricSeries?
    /// What a reload keeps from this runtime.
    private let metrics: GatehouseMetrics?

    /// - Parameters:
    ///   - configuration: the validated configuration.
    ///   - routes: the compiled route table.
    ///   - responders: local services by name; missing ones answer 501.
    ///   - logger: the process logger.
    ///   - oauth2: when given, proxied requests carrying Gatehouse tokens are checked at the edge.
    ///   - metrics: when given, every request is counted (see ``GatehouseMetrics``).
    public convenience init(
        configuration: GatehouseConfiguration, routes: RouteTable, responders: [LocalServiceName: any LocalResponder], logger: Logger,
        oauth2: OAuth2Service? = nil, metrics: GatehouseMetrics? = nil
    ) {
        var all = responders
        for service in LocalServiceName.allCases where all[service] == nil {
            all[service] = UnavailableServiceResponder(service: service)
        }
        self.init(
            configuration: configuration, routes: routes, responders: all, logger: logger, edgeTokenCheck: oauth2?.edgeTokenCheck,
            metrics: metrics)
    }

    private init(
        configuration: GatehouseConfiguration, routes: RouteTable, responders: [LocalServiceName: any LocalResponder], logger: Logger,
        edgeTokenCheck: EdgeTokenCheck?, metrics: GatehouseMetrics?
    ) {
        self.configuration = configuration
        self.routes = routes
        self.responders = responders
        self.accessLog = AccessLog(enabled: configuration.log.access)
        self.logger = logger
        self.edgeTokenCheck = edgeTokenCheck
        self.metrics = metrics
        self.requestMetrics = metrics?.series(for: routes)
        let timeouts = configuration.timeouts
        self.connectionConfiguration = ConnectionStateMachine.Configuration(
            isHTTP2: false, headerTimeout: TimeAmount(timeouts.header), idleTimeout: TimeAmount(timeouts.idle),
            bodyPause: TimeAmount(timeouts.body), localBodyDeadline: TimeAmount(timeouts.localBody),
            proxyBodyDeadline: TimeAmount(timeouts.bodyTotal), proxyRequestBuffer: configuration.limits.proxyRequestBuffer)
        self.upstreamTimeout = TimeAmount(timeouts.upstream)
    }

    /// A copy of `base` with other responders, sharing everything else (access log, edge check).
    private init(_ base: GatewayRuntime, responders: [LocalServiceName: any LocalResponder]) {
        self.configuration = base.configuration
        self.routes = base.routes
        self.responders = responders
        self.accessLog = base.accessLog
        self.logger = base.logger
        self.edgeTokenCheck = base.edgeTokenCheck
        self.connectionConfiguration = base.connectionConfiguration
        self.upstreamTimeout = base.upstreamTimeout
        self.metrics = base.metrics
        self.requestMetrics = base.requestMetrics
    }

    /// The runtime of one listener: the admin API answers only on the listeners of
    /// `admin_api.listeners`; elsewhere its paths get `404`, as if no rule matched them.
    /// - Parameter listener: `http.listeners[].name`.
    func serving(listener: String) -> GatewayRuntime {
        guard !configuration.adminAPI.isServed(on: listener) else { return self }
        var responders = self.responders
        responders[.adminAPI] = NotServedResponder()
        return GatewayRuntime(self, responders: responders)
    }

    /// The same services, logger and metrics with a reloaded configuration and route table.
    /// - Parameters:
    ///   - configuration: the effective configuration of a ``ReloadPlan``.
    ///   - routes: the route table compiled from it.
    public func reloaded(configuration: GatehouseConfiguration, routes: RouteTable) -> GatewayRuntime {
        GatewayRuntime(
            configuration: configuration, routes: routes, responders: responders, logger: logger, edgeTokenCheck: edgeTokenCheck,
            metrics: metrics)
    }

    var limits: LimitsConfiguration { configuration.limits }
    var timeouts: TimeoutsConfiguration { configuration.timeouts }
}

/// Per-event-loop state: PCRE2 match data and the upstream connection pools. Only touched on its loop,
/// so nothing here is locked; it is `@unchecked Sendable` only so that channel initializers, which run
/// on that same loop, can carry it.
final class LoopContext: @unchecked Sendable {
    let eventLoop: any EventLoop
    let scratch = MatchScratch()
    let dates = HTTPDateCache()
    let pools: [String: UpstreamPool]
    /// This loop's request counters, read by a scrape on this loop (see ``GatehouseMetrics``).
    let metrics = LoopMetrics()

    /// The pool ``pool(named:)`` found last: most requests go to the upstream the one before went to,
    /// and a route's name is the same `String` each time, so comparing it costs less than hashing it.
    private var lastPool: (name: String, pool: UpstreamPool)?

    /// Where the handlers of this loop read the time.
    enum Clock {
        /// `NIODeadline.now()`: a real event loop's time.
        case system
        /// The event loop's own `now`: a test's `EmbeddedEventLoop` moves it with its virtual time.
        case eventLoop
    }

    private let clock: Clock

    /// - Parameter clock: ``Clock/eventLoop`` for tests on an `EmbeddedEventLoop` whose timers they
    ///   move; the default reads the system clock without a call through the `EventLoop` protocol.
    init(eventLoop: any EventLoop, upstreams: [String: UpstreamConfiguration], logger: Logger, clock: Clock = .system) {
        self.eventLoop = eventLoop
        self.clock = clock
        self.pools = upstreams.mapValues { UpstreamPool(configuration: $0, eventLoop: eventLoop, logger: logger) }
    }

    /// The time by this loop's ``Clock``: every deadline and duration of a request is read from it.
    var now: NIODeadline {
        switch clock {
        case .system: .now()
        case .eventLoop: eventLoop.now
        }
    }

    /// The pool of the upstream `name`.
    func pool(named name: String) -> UpstreamPool? {
        if let lastPool, lastPool.name == name { return lastPool.pool }
        guard let pool = pools[name] else { return nil }
        lastPool = (name, pool)
        return pool
    }
}

/// The ``LoopContext`` of every loop in the group, created up front so a lookup needs no lock.
final class LoopContexts: @unchecked Sendable {
    // Written once in `init`, then only read; each value is used on its own loop only.
    private let contexts: [ObjectIdentifier: LoopContext]

    init(group: any EventLoopGroup, upstreams: [String: UpstreamConfiguration], logger: Logger) {
        var contexts: [ObjectIdentifier: LoopContext] = [:]
        for loop in group.makeIterator() {
            contexts[ObjectIdentifier(loop)] = LoopContext(eventLoop: loop, upstreams: upstreams, logger: logger)
        }
        self.contexts = contexts
    }

    /// Every loop's context, for work that visits them all (a metrics scrape).
    var all: [LoopContext] { Array(contexts.values) }

    func context(for loop: any EventLoop) -> LoopContext {
        guard let context = contexts[ObjectIdentifier(loop)] else {
            preconditionFailure("event loop \(loop) is not part of the server's group")
        }
        return context
    }

    /// Closes every pooled upstream connection (at shutdown).
    func closeAll() -> EventLoopFuture<Void>? {
        let futures = contexts.values.map { context in
            context.eventLoop.submit { context.pools.values.forEach { $0.closeAll() } }
        }
        guard let first = futures.first else { return nil }
        return EventLoopFuture.andAllComplete(futures, on: first.eventLoop)
    }
}
