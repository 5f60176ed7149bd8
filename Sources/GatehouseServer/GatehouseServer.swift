import GatehouseCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOExtras
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// The listening side of Gatehouse as a ``Service``: binds every configured address, serves until
/// graceful shutdown, then stops accepting, lets in-flight requests finish within
/// `timeouts.shutdown_grace` and closes what is left.
///
/// Each accepted connection takes the ``ServingSnapshot`` in force at that moment (one lock per
/// connection, none per request) and keeps it until it closes; ``apply(_:)`` swaps in a reloaded one.
public final class GatehouseServer: Service {
    private let group: any EventLoopGroup
    private let contexts: LoopContexts
    /// The listeners as bound at start (a reload never rebinds), with their connection caps.
    private let listeners: [(ListenerConfiguration, ConnectionAdmission)]
    private let serving: NIOLockedValueBox<ServingSnapshot>
    private let onBound: @Sendable ([BoundListener]) -> Void
    /// The largest read from a client connection: one TLS record's worth (what nginx reads at once).
    static let maxReadBytes = 16 * 1024

    /// The runtime new connections are served with now.
    public var runtime: GatewayRuntime { serving.withLockedValue { $0.runtime } }

    /// A bound address, reported once listening (port 0 in the configuration becomes the real port).
    public struct BoundListener: Sendable {
        public var listener: String
        public var host: String
        public var port: Int
        public var isTLS: Bool
    }

    /// - Parameters:
    ///   - runtime: the compiled configuration and responders.
    ///   - group: the event loops serving connections and upstreams.
    ///   - onBound: called with the bound addresses once every listener is up.
    ///   - metrics: when given, its scrape counts open connections and sums the loops' request counters.
    public init(
        runtime: GatewayRuntime, group: any EventLoopGroup, metrics: GatehouseMetrics? = nil,
        onBound: @escaping @Sendable ([BoundListener]) -> Void = { _ in }
    ) throws {
        self.group = group
        self.onBound = onBound
        let contexts = LoopContexts(group: group, upstreams: runtime.configuration.upstreams, logger: runtime.logger)
        self.contexts = contexts
        let limits = runtime.limits
        let maxConnections = limits.maxConnections ?? FileDescriptorLimit.defaultMaxConnections(descriptors: FileDescriptorLimit.raiseToHardLimit())
        let listeners = runtime.configuration.http.listeners.map { listener in
            (listener, ConnectionAdmission(
                listener: listener.name, maxTotal: maxConnections, maxPerAddress: limits.maxConnectionsPerAddress, logger: runtime.logger))
        }
        self.listeners = listeners
        self.serving = NIOLockedValueBox(try ServingSnapshot(runtime: runtime, listeners: listeners, contexts: contexts))
        metrics?.attach(loops: contexts, admissions: listeners.map(\.1))
    }

    /// Serves new connections with `runtime` from now on; open connections keep what they have.
    /// Its listeners must be the running ones (a ``ReloadPlan`` keeps them); the TLS certificate and key
    /// files are read again here.
    /// - Parameter runtime: a runtime from ``GatewayRuntime/reloaded(configuration:routes:)``.
    /// - Throws: when a certificate or key cannot be loaded; nothing is changed then.
    public func apply(_ runtime: GatewayRuntime) throws {
        let snapshot = try ServingSnapshot(runtime: runtime, listeners: listeners, contexts: contexts)
        serving.withLockedValue { $0 = snapshot }
    }

    /// The setup for a connection accepted now on the listener at `index` in `http.listeners`.
    private func setup(for index: Int) -> ChannelSetup {
        serving.withLockedValue { $0.setups[index] }
    }

    public func run() async throws {
        let quiescing = ServerQuiescingHelper(group: group)
        var channels: [any Channel] = []
        var bound: [BoundListener] = []
        do {
            for (index, (listener, _)) in listeners.enumerated() {
                for address in listener.binds {
                    let channel = try await bootstrap(listener: listener.name, index: index, quiescing: quiescing)
                        .bind(host: address.host, port: address.port).get()
                    channels.append(channel)
                    let port = channel.localAddress?.port ?? address.port
                    bound.append(BoundListener(listener: listener.name, host: address.host, port: port, isTLS: listener.tls != nil))
                    var metadata: Logger.Metadata = [
                        "listener": "\(listener.name)", "address": "\(BindAddress(host: address.host, port: port))",
                        "tls": "\(listener.tls != nil)",
                    ]
                    if listener.proxyProtocol { metadata["proxy_protocol"] = "true" }
                    runtime.logger.info("listening", metadata: metadata)
                }
            }
        } catch {
            for channel in channels { try? await channel.close() }
            throw ServerStartError(message: "cannot listen: \(error)")
        }
        onBound(bound)

        // Serve until SIGTERM/SIGINT (or cancellation), then drain.
        try? await gracefulShutdown()
        let runtime = self.runtime
        runtime.logger.info("shutting down: no new connections, draining in-flight requests",
            metadata: ["grace": "\(runtime.timeouts.shutdownGrace)"])
        let drained = group.next().makePromise(of: Void.self)
        quiescing.initiateShutdown(promise: drained)
        let finished = await withTaskGroup(of: Bool.self) { tasks in
            tasks.addTask { (try? await drained.futureResult.get()) != nil }
            tasks.addTask {
                try? await Task.sleep(for: runtime.timeouts.shutdownGrace)
                return false
            }
            let first = await tasks.next() ?? false
            tasks.cancelAll()
            return first
        }
        if !finished {
            runtime.logger.warning("shutdown grace period over; closing the remaining connections")
        }
        try? await contexts.closeAll()?.get()
        runtime.logger.info("stopped")
    }

    private func bootstrap(listener: String, index: Int, quiescing: ServerQuiescingHelper) -> ServerBootstrap {
        let logger = runtime.logger
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                    // Out of descriptors (EMFILE...): pause accepting for a moment rather than retry in
                    // a busy loop, and say so.
                    try sync.addHandler(AcceptBackoff(listener: listener, logger: logger))
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            // Reads of at most 16 KiB (one TLS record), not NIO's 64 KiB: each connection keeps its
            // largest read buffer for its lifetime, and 64 uploading connections kept 4 MiB of them.
            // A wake-up still reads on while the buffers come back full.
            .childChannelOption(
                .recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: GatehouseServer.maxReadBytes))
            .childChannelInitializer { channel in self.setup(for: index).initialize(channel) }
    }
}

/// The server could not start (e.g. an address is in use).
public struct ServerStartError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
