import ServiceLifecycle
import UnixSignals

/// Reloads the configuration on each SIGHUP (what `systemctl reload` and `gatehouse reload` send),
/// until graceful shutdown. swift-service-lifecycle's signal sequence does the trapping; the
/// ``ServiceGroup`` keeps SIGTERM and SIGINT for shutdown.
public struct ReloadOnHangup: Service {
    private let reloader: ConfigurationReloader

    /// - Parameter reloader: does the reload.
    public init(reloader: ConfigurationReloader) {
        self.reloader = reloader
    }

    public func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        for await _ in hangups.cancelOnGracefulShutdown() {
            reloader.reload()
        }
    }
}
