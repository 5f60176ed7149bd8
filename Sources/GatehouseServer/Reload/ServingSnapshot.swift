import GatehouseCore
import NIOSSL

/// What a connection accepted now is served with: the runtime (routes, limits, timeouts) and, per
/// listener, the TLS context built from the certificate files as they were when it was made.
/// Immutable; a reload makes a new one and ``GatehouseServer`` swaps it in whole, so a connection
/// never sees routes from one reload and a certificate from another.
final class ServingSnapshot: Sendable {
    let runtime: GatewayRuntime
    /// The pipeline setup of each listener, in the order of `http.listeners`.
    let setups: [ChannelSetup]

    /// - Parameters:
    ///   - runtime: the runtime to serve with.
    ///   - listeners: the bound listeners and their connection caps (kept across reloads).
    ///   - contexts: the per-loop state (kept across reloads).
    /// - Throws: when a listener's certificate or key cannot be loaded.
    init(runtime: GatewayRuntime, listeners: [(ListenerConfiguration, ConnectionAdmission)], contexts: LoopContexts) throws {
        self.runtime = runtime
        let configured = runtime.configuration.http.listeners
        self.setups = try listeners.enumerated().map { index, listener in
            let (bound, admission) = listener
            // The reloaded configuration's TLS files for this listener (a ReloadPlan keeps the list's
            // names and addresses); its addresses are the bound ones.
            let files = index < configured.count ? configured[index].tls : bound.tls
            let tls = try files.map { try TLSContextFactory.makeServerContext($0) }
            let hsts = files.flatMap { $0.hstsMaxAge > 0 ? "max-age=\($0.hstsMaxAge)" : nil }
            // Each listener serves the admin API or not, as `admin_api.listeners` says.
            return ChannelSetup(
                runtime: runtime.serving(listener: bound.name), contexts: contexts, tls: tls, hsts: hsts, admission: admission,
                proxyProtocol: bound.proxyProtocol)
        }
    }
}
