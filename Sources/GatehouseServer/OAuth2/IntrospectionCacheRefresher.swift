import GatehouseStorage
import Logging
import ServiceLifecycle

/// Watches the store's revocation counter and empties the ``IntrospectionCache`` when another process
/// (e.g. `gatehouse manage lock-user`) changed something; in-process changes invalidate directly.
struct IntrospectionCacheRefresher: Service {
    let store: any IdentityStore
    let cache: IntrospectionCache
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                cache.observe(counter: try await store.changeCounter())
            } catch {
                // Fail safe: without a counter nothing cached can be trusted.
                cache.invalidateAll()
                logger.warning("cannot read the store's revocation counter", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }
}
