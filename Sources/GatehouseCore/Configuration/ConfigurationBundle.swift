#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A configuration together with its compiled route table: what `serve`, `config check` and
/// `routes test` all start from.
public struct ConfigurationBundle: Sendable {
    public var configuration: GatehouseConfiguration
    public var routes: RouteTable

    /// Loads the configuration file and compiles the route files it names.
    /// - Parameter path: the configuration file.
    public static func load(path: String) throws(ConfigurationErrors) -> ConfigurationBundle {
        let configuration = try ConfigurationLoader.load(path: path)
        do {
            let routes = try RouteTable.load(
                files: configuration.routes.files, upstreams: Set(configuration.upstreams.keys), limits: configuration.routes.matchLimits,
                read: { FileManager.default.contents(atPath: $0).map { String(decoding: $0, as: UTF8.self) } })
            return ConfigurationBundle(configuration: configuration, routes: routes)
        } catch {
            throw ConfigurationErrors([ConfigurationError(keyPath: "routes.files", problem: "\(error)",
                fix: "Fix the rule (grammar: routes/README.md); `gatehouse routes test` shows how a path is routed")])
        }
    }
}
