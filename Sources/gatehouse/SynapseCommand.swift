import ArgumentParser
import Foundation
import GatehouseCore
import GatehouseOperator

#if canImport(Glibc)
import Glibc
#endif

/// `gatehouse synapse …`: tools for the Synapse side of the setup.
struct SynapseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synapse", abstract: "Tools for Synapse's configuration.", subcommands: [MigrateConfig.self])

    /// `gatehouse synapse migrate-config HOMESERVER_YAML [--write] [--endpoint URL]`.
    struct MigrateConfig: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "migrate-config",
            abstract: "Replace experimental_features.msc3861 in a homeserver.yaml by a matrix_authentication_service section for Gatehouse.",
            discussion: """
                Removes experimental_features.msc3861 (and experimental_features when nothing else is left in it) and adds \
                matrix_authentication_service with enabled: true, endpoint (Gatehouse's internal URL) and the old admin_token \
                as secret (admin_token_path as secret_path). Every other line and comment is kept. Prints the change as a diff \
                (secrets masked) and the matching matrix section for Gatehouse; writes only with --write, keeping a backup \
                (HOMESERVER_YAML.bak-<UTC time>). Restart Synapse afterwards.
                """)

        @Argument(help: "Synapse's homeserver.yaml.")
        var homeserverYAML: String

        @Flag(name: .long, help: "Write the migrated file (after a backup); without it nothing is changed.")
        var write = false

        @Option(name: .long, help: "Gatehouse's URL as Synapse reaches it (default: the plain-HTTP listener of --gatehouse-config, else http://127.0.0.1:8081/).")
        var endpoint: String?

        @Option(name: .long, help: "Gatehouse's configuration: its internal listener gives the default --endpoint, and its clients are searched for Synapse's old client.")
        var gatehouseConfig: String?

        func run() throws {
            guard let data = FileManager.default.contents(atPath: homeserverYAML) else {
                printError("cannot read \(homeserverYAML)")
                throw ExitCode(1)
            }
            let gatehouse = try loadGatehouse()
            let endpoint = self.endpoint ?? gatehouse.flatMap(Self.internalURL) ?? "http://127.0.0.1:8081/"
            guard let scheme = URLComponents(string: endpoint)?.scheme, ["http", "https"].contains(scheme.lowercased()),
                URLComponents(string: endpoint)?.host?.isEmpty == false
            else {
                printError("--endpoint \(endpoint) is not an http(s) URL; use e.g. http://127.0.0.1:8081/")
                throw ExitCode(1)
            }
            let migration: SynapseConfigMigration
            do {
                migration = try SynapseConfigMigration(text: String(decoding: data, as: UTF8.self), endpoint: endpoint)
            } catch {
                printError("\(homeserverYAML): \(error)")
                throw ExitCode(1)
            }

            var diff = migration.diff(path: homeserverYAML)
            if case .inline(let token) = migration.secret { diff = diff.replacingOccurrences(of: token, with: "***") }
            print(diff, terminator: "")
            print("")
            if write {
                try writeMigrated(migration.newText)
            } else {
                print("Nothing written: run again with --write to apply this change (a backup is kept), then restart Synapse.")
            }
            printGatehouseSide(migration, gatehouse: gatehouse)
        }

        private func loadGatehouse() throws -> GatehouseConfiguration? {
            guard let gatehouseConfig else { return nil }
            do {
                return try ConfigurationBundle.load(path: gatehouseConfig).configuration
            } catch {
                printError("configuration error(s) in \(gatehouseConfig):\n\(error)")
                throw ExitCode(1)
            }
        }

        /// The first plain-HTTP listener: the one `config generate` makes for Synapse.
        static func internalURL(_ configuration: GatehouseConfiguration) -> String? {
            guard let bind = configuration.http.listeners.first(where: { $0.tls == nil })?.binds.first else { return nil }
            var host = bind.host
            if host == "0.0.0.0" || host == "::" || host.isEmpty { host = "127.0.0.1" }
            return "http://\(host.contains(":") ? "[\(host)]" : host):\(bind.port)/"
        }

        /// Backup first (never overwriting one), then the new file in one step, with the old mode.
        private func writeMigrated(_ text: String) throws {
            var status = stat()
            guard stat(homeserverYAML, &status) == 0 else {
                printError("cannot stat \(homeserverYAML)")
                throw ExitCode(1)
            }
            let path = FilePaths.absolute(homeserverYAML, relativeTo: FileManager.default.currentDirectoryPath)
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
            let backup = "\(path).bak-\(formatter.string(from: SystemClock().now()))"
            let mode = status.st_mode & 0o7777
            do {
                let old = FileManager.default.contents(atPath: path) ?? Data()
                try AtomicFile.write(Array(old), to: backup, mode: mode, replace: false)
                try AtomicFile.write(Array(text.utf8), to: path, mode: mode, replace: true)
            } catch {
                printError("\(error)")
                throw ExitCode(1)
            }
            if getuid() == 0, status.st_uid != 0 {
                // Written by root: give the files back to Synapse's account.
                _ = chown(path, status.st_uid, status.st_gid)
                _ = chown(backup, status.st_uid, status.st_gid)
            }
            print("Wrote \(path) (backup: \(backup)). Restart Synapse to apply it.")
        }

        private func printGatehouseSide(_ migration: SynapseConfigMigration, gatehouse: GatehouseConfiguration?) {
            let homeserver = migration.homeserver
            print("")
            print("Gatehouse's matching matrix section (the same shared secret, Synapse's client listener as endpoint):")
            print("")
            print("matrix:")
            print("  kind: synapse")
            print("  homeserver: \(JSONText.quote(homeserver.serverName ?? "example.org"))")
            print("  endpoint: \(JSONText.quote(homeserver.clientListenerURL ?? "http://127.0.0.1:8008/"))")
            switch migration.secret {
            case .file(let path):
                print("  secret_path: \(JSONText.quote(path))")
            case .inline(let token):
                print("  secret_path: \"/etc/gatehouse/synapse_secret\"   # a file (mode 0600) holding Synapse's secret, the old admin_token")
                if token.utf8.count < MatrixConfiguration.minimumSecretBytes {
                    print("")
                    print(
                        "warning: the old admin_token is \(token.utf8.count) bytes; Gatehouse requires at least \(MatrixConfiguration.minimumSecretBytes). Make a new secret (openssl rand -hex 32) and put it in both files."
                    )
                }
            }
            if let clientID = migration.oldClientID, !clientID.isEmpty {
                print("")
                print(
                    "The old setup provisioned a static client for Synapse (msc3861.client_id \(clientID)\(migration.oldClientAuthMethod.map { ", \($0)" } ?? "")), which Synapse used to call introspection. Synapse now uses the shared secret, so that client is no longer needed."
                )
                if let gatehouse {
                    if gatehouse.clients.contains(where: { $0.clientId == clientID }) {
                        print("It is in \(gatehouse.sourceFile): drop this entry from its clients list:")
                    } else {
                        print("It is not in \(gatehouse.sourceFile)'s clients; if another configuration (MAS's) has it, drop this entry there:")
                    }
                } else {
                    print("If Gatehouse's configuration has it under clients, drop this entry:")
                }
                print("")
                print("  - client_id: \(JSONText.quote(clientID))")
                print("    client_auth_method: \(migration.oldClientAuthMethod ?? "client_secret_basic")")
            }
        }
    }
}
