#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseCore
import Logging
import NIOConcurrencyHelpers

/// Reads the configuration file, its route files and the TLS certificates again, and serves new
/// connections with them (SIGHUP, `gatehouse reload`).
///
/// All or nothing: a file that does not validate, a route that does not compile or a certificate that
/// does not load leaves everything as it was, and the reason is logged. Settings that only take effect
/// at start keep their running value and are named in the log (``ReloadPlan``). Open connections are
/// never touched: they finish with what they were accepted with.
public final class ConfigurationReloader: Sendable {
    private let path: String
    private let server: GatehouseServer
    private let logger: Logger
    /// The configuration in force (the effective one of the last reload); held while a reload runs,
    /// so two reloads never interleave.
    private let running: NIOLockedValueBox<GatehouseConfiguration>

    /// What a reload did.
    public enum Outcome: Sendable, Equatable {
        /// New connections use the new configuration; `restartNeeded` lists what waits for a restart.
        case applied(changed: [String], restartNeeded: [String])
        /// Nothing changed; the reason says what to fix.
        case rejected(reason: String)
    }

    /// - Parameters:
    ///   - path: the configuration file (read again at each reload).
    ///   - running: the configuration the server was started with.
    ///   - server: where the new runtime goes.
    ///   - logger: one line per reload, and one per setting that waits for a restart.
    public init(path: String, running: GatehouseConfiguration, server: GatehouseServer, logger: Logger) {
        self.path = path
        self.server = server
        self.logger = logger
        self.running = NIOLockedValueBox(running)
    }

    /// Reloads now. Blocking file reads and regex compilation: call it off the event loops.
    @discardableResult
    public func reload() -> Outcome {
        running.withLockedValue { running in
            let outcome = attempt(running: &running)
            switch outcome {
            case .applied(let changed, let restartNeeded):
                for key in restartNeeded {
                    logger.warning("reload: \(key) changed; it takes effect at the next restart (the running value stays)")
                }
                logger.info("reloaded the configuration; new connections use it", metadata: [
                    "config": "\(path)", "routes": "\(server.runtime.routes.routes.count) rules",
                    "changed": "\(changed.isEmpty ? "routes and certificates re-read" : changed.joined(separator: ", "))",
                ])
            case .rejected(let reason):
                logger.error("reload refused; still serving the previous configuration", metadata: ["config": "\(path)", "reason": "\(reason)"])
            }
            return outcome
        }
    }

    private func attempt(running: inout GatehouseConfiguration) -> Outcome {
        let candidate: GatehouseConfiguration
        do {
            candidate = try ConfigurationLoader.load(path: path)
        } catch {
            return .rejected(reason: "configuration error(s): \(error.errors.map(\.description).joined(separator: "; "))")
        }
        let plan = ReloadPlan.make(running: running, candidate: candidate)
        let routes: RouteTable
        do {
            // Compiled against the running pools: pools change only at a restart.
            routes = try RouteTable.load(
                files: plan.effective.routes.files, upstreams: Set(plan.effective.upstreams.keys), limits: plan.effective.routes.matchLimits,
                read: { FileManager.default.contents(atPath: $0).map { String(decoding: $0, as: UTF8.self) } })
        } catch {
            let hint = plan.restartNeeded.contains("upstreams") ? " (new upstreams take effect at the next restart)" : ""
            return .rejected(reason: "routes.files: \(error)\(hint)")
        }
        do {
            try server.apply(server.runtime.reloaded(configuration: plan.effective, routes: routes))
        } catch {
            return .rejected(reason: "TLS: cannot load a certificate or key: \(error)")
        }
        for warning in plan.effective.warnings {
            logger.warning("configuration: \(warning)")
        }
        running = plan.effective
        return .applied(changed: plan.applied, restartNeeded: plan.restartNeeded)
    }
}
