import ArgumentParser
import GatehouseCore
import GatehouseServer
import Logging
import NIOPosix
import ServiceLifecycle

/// `gatehouse serve -c FILE`: runs the gateway until SIGTERM or SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run Gatehouse.")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let bundle = try options.load()
        let configuration = bundle.configuration
        let level = Logger.Level(rawValue: configuration.log.level.rawValue) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "gatehouse")

        let group: MultiThreadedEventLoopGroup =
            configuration.server.threads.map { MultiThreadedEventLoopGroup(numberOfThreads: $0) } ?? .singleton
        let runtime = GatewayRuntime(
            configuration: configuration, routes: bundle.routes,
            responders: [.health: HealthResponder()], logger: logger)
        let server: GatehouseServer
        do {
            server = try GatehouseServer(runtime: runtime, group: group)
        } catch {
            printError("cannot start: \(error)")
            throw ExitCode(1)
        }
        logger.info("starting Gatehouse \(GatehouseVersion.string)", metadata: [
            "config": "\(configuration.sourceFile)", "routes": "\(bundle.routes.routes.count) rules",
        ])
        let services = ServiceGroup(configuration: .init(
            services: [.init(service: server)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do {
            try await services.run()
        } catch {
            logger.critical("stopped with an error", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
    }
}
