import ArgumentParser
import GatehouseAuth
import GatehouseCore
import GatehouseHomeserver
import GatehouseIdentity
import GatehouseSQLite
import GatehouseStorage
import Logging

/// The store, Synapse client, job runner and account service of one CLI invocation.
struct IdentityContext {
    let configuration: GatehouseConfiguration
    let store: SQLiteStore
    let synapse: SynapseClient
    let runner: JobRunner
    let hasher: PasswordHasher
    let accounts: AccountService

    /// Opens everything `gatehouse manage` needs (applying pending migrations, as `serve` does).
    static func open(_ options: ConfigOption) throws -> IdentityContext {
        let configuration = try options.load().configuration
        var logger = Logger(label: "gatehouse")
        logger.logLevel = .error
        let store: SQLiteStore
        do {
            store = try SQLiteStore.open(path: configuration.database.path)
        } catch {
            printError("cannot open the store \(configuration.database.path): \(error)")
            throw ExitCode(1)
        }
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
        return IdentityContext(configuration: configuration, store: store, synapse: synapse, runner: runner, hasher: hasher, accounts: accounts)
    }

    func close() async {
        try? await synapse.shutdown()
        try? await hasher.shutdown()
        try? store.close()
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
