import ArgumentParser
import GatehouseAuth
import GatehouseCore
import GatehouseHomeserver
import GatehouseIdentity
import GatehouseServer
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// `gatehouse serve -c FILE`: runs the gateway until SIGTERM or SIGINT; SIGHUP reloads the
/// configuration, routes and certificates (``ConfigurationReloader``).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run Gatehouse.")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        // SIGHUP's default action ends the process: until ReloadOnHangup traps it, a reload sent
        // during start-up (systemd may send one as soon as the process exists) is ignored instead.
        signal(SIGHUP, SIG_IGN)
        let bundle = try options.load()
        let configuration = bundle.configuration
        let level = Logger.Level(rawValue: configuration.log.level.rawValue) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "gatehouse")
        for warning in configuration.warnings {
            logger.warning("configuration: \(warning)")
        }
        // Metrics off (no `metrics.address`): nothing is made, nothing is recorded.
        let metrics = configuration.metrics.isEnabled ? GatehouseMetrics(upstreams: configuration.upstreams.keys) : nil

        // The store is opened (and migrated) before anything is bound: a store that cannot be used
        // stops startup with the reason.
        let opened: OpenedStore
        do {
            opened = try await OpenedStore.open(configuration.database)
        } catch {
            printError("cannot open the store \(configuration.database.summary): \(error)")
            throw ExitCode(1)
        }
        let store = opened.store
        let clock = SystemClock()
        // clients[] is synced before anything is bound, as MAS does at start: the store's
        // configuration clients are exactly those of the file.
        do {
            let sync = try await StaticClientService(repository: store.clients, clock: clock, random: SystemRandom()).sync(configuration.clients)
            if !(sync.added.isEmpty && sync.updated.isEmpty && sync.removed.isEmpty) {
                logger.info("synced clients[]", metadata: [
                    "added": "\(sync.added)", "updated": "\(sync.updated)", "removed": "\(sync.removed)",
                ])
            }
        } catch {
            printError("cannot sync clients[] into the store: \(error)")
            throw ExitCode(1)
        }
        let synapse = SynapseClient(configuration: .init(configuration.matrix), logger: Logger(label: "gatehouse.synapse"))
        // One device lock for the logins and the runner, so orphan clean-up never races a login.
        let devices = DeviceGuard(store: store)
        let jobs = JobRunner(
            repository: store.jobs, client: synapse, clock: clock, devices: devices, logger: Logger(label: "gatehouse.jobs"),
            metrics: metrics?.factory)
        var signer: IDTokenSigner?
        do {
            if let secrets = configuration.secrets, !secrets.keys.isEmpty {
                signer = try await IDTokenSigner(issuer: configuration.http.publicBase, secrets: secrets, clock: clock)
            }
        } catch {
            printError("secrets.keys: cannot sign id_tokens: \(error)")
            throw ExitCode(1)
        }
        // "Last used at / from" of sessions: recorded in memory by the edge check and the pages,
        // written in batches by the flusher service.
        let activity = SessionActivityRecorder()
        let oauth2 = OAuth2Service(
            configuration: configuration, store: store,
            tokenIssuing: .init(synapse: synapse, queue: JobQueue(repository: store.jobs, runner: jobs), devices: devices, signer: signer),
            clock: clock, activity: activity, metrics: metrics?.factory)
        let hasher: PasswordHasher
        do {
            // Hashing threads: one per core, at least two, bounded so a login storm cannot take the proxy's CPU.
            // 256 may wait: a storm of concurrent logins queues (each waits its turn) rather than
            // being refused, while the niced pool keeps the event loops responsive.
            hasher = try PasswordHasher(
                configuration: configuration.passwords, threadPoolSize: max(2, System.coreCount / 2), maxWaiting: 256)
        } catch {
            printError("passwords: \(error)")
            throw ExitCode(1)
        }
        let limits = configuration.rateLimiting.login
        let compat = CompatLoginService(
            store: store, synapse: synapse, queue: JobQueue(repository: store.jobs, runner: jobs), hasher: hasher,
            serverName: configuration.matrix.homeserver,
            configuration: .init(accessTokenTTL: configuration.experimental.compatTokenTTL),
            perIP: RateLimiter(burst: limits.perIP.burst, perSecond: limits.perIP.perSecond, clock: clock),
            perAccount: RateLimiter(burst: limits.perAccount.burst, perSecond: limits.perAccount.perSecond, clock: clock),
            devices: devices, clock: clock, onRevocation: oauth2.invalidateCaches)

        // The HTML pages and the admin API change accounts through the same service as `gatehouse manage`;
        // the pages share the password check (and its rate limits) with POST /login.
        let accounts = AccountService(
            store: store, synapse: synapse, runner: jobs, hasher: hasher, serverName: configuration.matrix.homeserver, devices: devices,
            clock: clock, onRevocation: oauth2.invalidateCaches)
        let pages: PagesService
        do {
            pages = try PagesService(
                configuration: configuration, repositories: PagesRepositories(store: store), passwords: compat.passwords,
                accounts: accounts,
                clock: clock, logger: Logger(label: "gatehouse.pages"), activity: activity)
        } catch {
            printError("pages: \(error)")
            throw ExitCode(1)
        }
        if let reason = PagesService.unavailableReason(configuration) { logger.warning("\(reason)") }

        let group: MultiThreadedEventLoopGroup =
            configuration.server.threads.map { MultiThreadedEventLoopGroup(numberOfThreads: $0) } ?? .singleton
        let runtime = GatewayRuntime(
            configuration: configuration, routes: bundle.routes,
            responders: [
                .health: HealthResponder(), .oauth2: oauth2.responder,
                .matrixCompat: MatrixCompatResponder(
                    service: compat, trustedProxies: configuration.http.trustedProxies, ssoRedirect: pages.ssoRedirect,
                    metrics: LoginMetrics(factory: metrics?.factory)),
                .pages: pages.responder,
                .adminAPI: AdminAPIService(configuration: configuration, store: store, accounts: accounts, clock: clock).responder,
            ], logger: logger, oauth2: oauth2, metrics: metrics)
        let server: GatehouseServer
        let pidFile = configuration.server.pidFile
        do {
            // The PID file is written once every listener is bound, so `gatehouse reload` never
            // signals a process that is still starting (SIGHUP before its handler would stop it).
            server = try GatehouseServer(runtime: runtime, group: group, metrics: metrics) { _ in
                if let pidFile { PIDFile.write(to: pidFile, logger: logger) }
            }
        } catch {
            printError("cannot start: \(error)")
            throw ExitCode(1)
        }
        logger.info("starting Gatehouse \(GatehouseVersion.string)", metadata: [
            "config": "\(configuration.sourceFile)", "routes": "\(bundle.routes.routes.count) rules",
            "store": "\(configuration.database.summary)",
        ])
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: synapse), .init(service: jobs),
            .init(service: StoreCleanup(repository: store.retention, clock: clock, logger: Logger(label: "gatehouse.cleanup"))),
            .init(service: SessionActivityFlusher(recorder: activity, repository: store.sessionActivity)),
        ]
        if let metrics, let address = configuration.metrics.address {
            services.append(.init(service: MetricsServer(address: address, metrics: metrics, group: group, logger: logger)))
        }
        services.append(.init(service: ReloadOnHangup(
            reloader: ConfigurationReloader(path: configuration.sourceFile, running: configuration, server: server, logger: logger))))
        // Services stop in reverse order: the server drains first, the Synapse client closes last.
        services.append(.init(service: server))
        let serviceGroup = ServiceGroup(configuration: .init(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        defer { if let pidFile { PIDFile.remove(pidFile) } }
        do {
            try await serviceGroup.run()
            try await hasher.shutdown()
            // After every service has stopped: nothing uses the store any more.
            await opened.close()
        } catch {
            logger.critical("stopped with an error", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
    }
}
