import GatehouseCore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The `metrics.address` listener as a ``Service``: plain HTTP, `GET /metrics` only, bound at start
/// and closed at shutdown. Kept apart from the public listeners so the numbers are never on the
/// internet by accident, and so a scrape never competes with the gateway's own limits.
public final class MetricsServer: Service {
    private let address: BindAddress
    private let metrics: GatehouseMetrics
    private let group: any EventLoopGroup
    private let logger: Logger
    private let onBound: @Sendable (Int) -> Void

    /// - Parameters:
    ///   - address: where to listen (`metrics.address`).
    ///   - metrics: what to render.
    ///   - group: the event loops (a scrape is a few requests a minute).
    ///   - logger: the process logger.
    ///   - onBound: called with the bound port (port 0 becomes the real one).
    public init(
        address: BindAddress, metrics: GatehouseMetrics, group: any EventLoopGroup, logger: Logger,
        onBound: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.address = address
        self.metrics = metrics
        self.group = group
        self.logger = logger
        self.onBound = onBound
    }

    public func run() async throws {
        let metrics = self.metrics
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        try sync.configureHTTPServerPipeline(withErrorHandling: true)
                        try sync.addHandler(MetricsRequestHandler(metrics: metrics))
                    }
                }
                .bind(host: address.host, port: address.port).get()
        } catch {
            throw ServerStartError(message: "metrics.address \(address): cannot listen: \(error)")
        }
        let port = channel.localAddress?.port ?? address.port
        logger.info("serving /metrics", metadata: ["address": "\(BindAddress(host: address.host, port: port))"])
        onBound(port)
        try? await gracefulShutdown()
        try? await channel.close()
    }
}
