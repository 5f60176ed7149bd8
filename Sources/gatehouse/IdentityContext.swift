import ArgumentParser
import GatehouseAuth
import GatehouseCore
import GatehouseHomeserver
import GatehouseIdentity
import GatehouseStorage
import Logging

/// The store, Synapse client, job runner and account service of one CLI invocation.
struct IdentityContext {
    let configuration: GatehouseConfiguration
    let opened: OpenedStore
    var store: any IdentityStore { opened.store }
    let synapse: SynapseClient
    let runner: JobRunner
    let hasher: PasswordHasher
    let accounts: AccountService

    /// Opens everything `gatehouse manage` needs (applying pending migrations, as `serve` does).
    static func open(_ options: ConfigOption) async throws -> IdentityContext {
        let configuration = try options.load().configuration
        var logger = Logger(label: "gatehouse")
        logger.logLevel = .error
        let opened: OpenedStore
        do {
            opened = try await OpenedStore.open(configuration.database)
        } catch {
            printError("cannot open the store \(configuration.database.summary): \(error)")
            throw ExitCode(1)
        }
        let store = opened.store
        let hasher: PasswordHasher
        do {
            hasher = try PasswordHasher(configuration: configuration.passwords)
        } catch {
            printError("passwords: \(error)")
            throw ExitCode(1)
        }
        let synapse = SynapseClient(configuration: .init(configuration.matrix), logger: logger)
        let devices = DeviceGuard(store: store)
        let runner = JobRunner(repository: store.jobs, client: synapse, clock: SystemClock(), devices: devices, logger: logger)
        let accounts = AccountService(
            store: store, synapse: synapse, runner: runner, hasher: hasher, serverName: configuration.matrix.homeserver, devices: devices)
        return IdentityContext(configuration: configuration, opened: opened, synapse: synapse, runner: runner, hasher: hasher, accounts: accounts)
    }

    func close() async {
        try? await synapse.shutdown()
        try? await hasher.shutdown()
        await opened.close()
    }

    /// Runs `body`, prints an ``AccountError`` as a one-line error with exit code 1, and always closes.
    func run(_ body: (IdentityContext) async throws -> Void) async throws {
        do {
            try await body(self)
            await close()
        } catch let error as AccountError {
            await close()
            printError("error: \(error)")
            throw ExitCode(1)
        } catch {
            await close()
            throw error
        }
    }
}
