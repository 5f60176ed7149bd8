import GatehouseCore
import Logging
import NIOCore

/// Everything a connection needs that does not change while the process runs: the compiled route
/// table, limits and timeouts, local responders and the access log. Immutable and shared by all event
/// loops; per-loop mutable state lives in ``LoopContext``.
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

    /// - Parameters:
    ///   - configuration: the validated configuration.
    ///   - routes: the compiled route table.
    ///   - responders: local services by name; missing ones answer 501.
    ///   - logger: the process logger.
    ///   - oauth2: when given, proxied requests carrying Gatehouse tokens are checked at the edge.
    public init(
        configuration: GatehouseConfiguration, routes: RouteTable, responders: [LocalServiceName: any LocalResponder], logger: Logger,
        oauth2: OAuth2Service? = nil
    ) {
        self.configuration = configuration
        self.routes = routes
        var all = responders
        for service in LocalServiceName.allCases where all[service] == nil {
            all[service] = UnavailableServiceResponder(service: service)
        }
        self.responders = all
        self.accessLog = AccessLog(enabled: configuration.log.access)
        self.logger = logger
        self.edgeTokenCheck = oauth2?.edgeTokenCheck
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

    init(eventLoop: any EventLoop, upstreams: [String: UpstreamConfiguration], logger: Logger) {
        self.eventLoop = eventLoop
        self.pools = upstreams.mapValues { UpstreamPool(configuration: $0, eventLoop: eventLoop, logger: logger) }
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
