import ArgumentParser
import GatehouseCore

/// `gatehouse`: the command-line entry point.
@main
struct Gatehouse: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gatehouse",
        abstract: "TLS edge, router and authentication service in front of a Matrix homeserver.",
        version: GatehouseVersion.string,
        subcommands: [
            ServeCommand.self, ConfigCommand.self, RoutesCommand.self, ManageCommand.self, ClientsCommand.self, DatabaseCommand.self,
            DoctorCommand.self, SynapseCommand.self, ImportSynapseCommand.self, ReloadCommand.self,
        ]
    )
}

/// The `-c/--config FILE` option shared by commands that read a configuration.
struct ConfigOption: ParsableArguments {
    @Option(name: [.short, .long], help: "The configuration file.")
    var config: String = "gatehouse.yaml"

    /// Loads and validates the configuration, or prints every problem and exits non-zero.
    func load() throws -> ConfigurationBundle {
        do {
            return try ConfigurationBundle.load(path: config)
        } catch {
            printError("configuration error(s) in \(config):\n\(error)")
            throw ExitCode(1)
        }
    }
}

/// Writes a line to standard error.
func printError(_ message: String) {
    var standardError = StandardError()
    print(message, to: &standardError)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        var copy = string
        copy.withUTF8 { buffer in _ = Glibc.write(2, buffer.baseAddress, buffer.count) }
    }
}

#if canImport(Glibc)
import Glibc
#endif
