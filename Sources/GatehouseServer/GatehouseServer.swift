import GatehouseCore
import Logging
import NIOCore
import NIOExtras
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// The listening side of Gatehouse as a ``Service``: binds every configured address, serves until
/// graceful shutdown, then stops accepting, lets in-flight requests finish within
/// `timeouts.shutdown_grace` and closes what is left.
public final class GatehouseServer: Service {
    private let runtime: GatewayRuntime
    private let group: any EventLoopGroup
    private let contexts: LoopContexts
    private let setups: [(ListenerConfiguration, ChannelSetup)]
    private let onBound: @Sendable ([BoundListener]) -> Void

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
    public init(runtime: GatewayRuntime, group: any EventLoopGroup, onBound: @escaping @Sendable ([BoundListener]) -> Void = { _ in }) throws {
        self.runtime = runtime
        self.group = group
        self.onBound = onBound
        let contexts = LoopContexts(group: group, upstreams: runtime.configuration.upstreams, logger: runtime.logger)
        self.contexts = contexts
        let limits = runtime.limits
        let maxConnections = limits.maxConnections ?? FileDescriptorLimit.defaultMaxConnections(descriptors: FileDescriptorLimit.raiseToHardLimit())
        self.setups = try runtime.configuration.http.listeners.map { listener in
            let tls = try listener.tls.map { try TLSContextFactory.makeServerContext($0) }
            let hsts = listener.tls.flatMap { $0.hstsMaxAge > 0 ? "max-age=\($0.hstsMaxAge)" : nil }
            let admission = ConnectionAdmission(
                listener: listener.name, maxTotal: maxConnections, maxPerAddress: limits.maxConnectionsPerAddress, logger: runtime.logger)
            return (listener, ChannelSetup(runtime: runtime.serving(listener: listener.name), contexts: contexts, tls: tls, hsts: hsts, admission: admission))
        }
    }

    public func run() async throws {
        let quiescing = ServerQuiescingHelper(group: group)
        var channels: [any Channel] = []
        var bound: [BoundListener] = []
        do {
            for (listener, setup) in setups {
                for address in listener.binds {
                    let channel = try await bootstrap(listener: listener.name, setup: setup, quiescing: quiescing)
                        .bind(host: address.host, port: address.port).get()
                    channels.append(channel)
                    let port = channel.localAddress?.port ?? address.port
                    bound.append(BoundListener(listener: listener.name, host: address.host, port: port, isTLS: listener.tls != nil))
                    runtime.logger.info("listening", metadata: [
                        "listener": "\(listener.name)", "address": "\(BindAddress(host: address.host, port: port))",
                        "tls": "\(listener.tls != nil)",
                    ])
                }
            }
        } catch {
            for channel in channels { try? await channel.close() }
            throw ServerStartError(message: "cannot listen: \(error)")
        }
        onBound(bound)

        // Serve until SIGTERM/SIGINT (or cancellation), then drain.
        try? await gracefulShutdown()
        runtime.logger.info("shutting down: no new connections, draining in-flight requests",
            metadata: ["grace": "\(runtime.timeouts.shutdownGrace)"])
        let drained = group.next().makePromise(of: Void.self)
        quiescing.initiateShutdown(promise: drained)
        let finished = await withTaskGroup(of: Bool.self) { tasks in
            tasks.addTask { (try? await drained.futureResult.get()) != nil }
            tasks.addTask {
                try? await Task.sleep(for: self.runtime.timeouts.shutdownGrace)
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

    private func bootstrap(listener: String, setup: ChannelSetup, quiescing: ServerQuiescingHelper) -> ServerBootstrap {
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
            .childChannelInitializer { channel in setup.initialize(channel) }
    }
}

/// The server could not start (e.g. an address is in use).
public struct ServerStartError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
