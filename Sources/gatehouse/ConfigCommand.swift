import ArgumentParser
import Crypto
import CryptoExtras
import Foundation
import GatehouseCore
import GatehouseOperator
import GatehouseServer

/// `gatehouse config check|generate`.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Check or generate configuration files.",
        subcommands: [Check.self, Generate.self])

    /// `gatehouse config check -c FILE`: validates everything `serve` would, without binding anything.
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate a configuration file and its route files.")

        @OptionGroup var options: ConfigOption

        func run() throws {
            let bundle = try options.load()
            let configuration = bundle.configuration
            for (index, listener) in configuration.http.listeners.enumerated() {
                guard let tls = listener.tls else { continue }
                do {
                    _ = try TLSContextFactory.makeServerContext(tls)
                } catch {
                    printError("configuration error(s) in \(options.config):\n  - http.listeners[\(index)].tls: cannot use \(tls.certificateFile) / \(tls.keyFile): \(error)")
                    throw ExitCode(1)
                }
            }
            do {
                try PagesService.checkTemplates(configuration)
            } catch {
                printError("configuration error(s) in \(options.config):\n  - \(error)")
                throw ExitCode(1)
            }
            for warning in configuration.warnings {
                printError("warning: \(warning)")
            }
            if let reason = PagesService.unavailableReason(configuration) {
                printError("warning: \(reason)")
            }
            let binds = configuration.http.listeners.flatMap { listener in
                listener.binds.map { "\($0)\(listener.tls != nil ? " (TLS)" : "")\(listener.proxyProtocol ? " (PROXY protocol)" : "")" }
            }
            print("configuration OK: \(configuration.sourceFile)")
            print("  listeners: \(binds.joined(separator: ", "))")
            print("  routes:    \(bundle.routes.routes.count) rules from \(configuration.routes.files.joined(separator: ", "))")
            print("  upstreams: \(configuration.upstreams.keys.sorted().joined(separator: ", "))")
            if let secrets = configuration.secrets {
                print("  signing keys: \(secrets.keys.map { "\($0.kid) (\($0.algorithm.rawValue))" }.joined(separator: ", "))")
            }
        }
    }

    /// `gatehouse config generate`: writes a working development setup.
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a configuration, the default route table, a shared-secret file, OAuth signing and encryption keys and a self-signed certificate.")

        @Option(name: .long, help: "The configuration file to write; the other files go beside it.")
        var output: String

        @Option(name: .long, help: "The homeserver's server_name (default: --synapse-config's server_name, else localhost).")
        var serverName: String?

        @Option(name: .long, help: "The public URL clients use (default: --synapse-config's public_baseurl, else https://SERVER_NAME:8443/).")
        var publicBase: String?

        @Option(
            name: .long,
            help: "Synapse's homeserver.yaml: server_name, public_baseurl, the client listener, password settings (bcrypt rounds and pepper) and registration are taken from it.")
        var synapseConfig: String?

        @Option(name: .long, help: "The public TLS listener address.")
        var listen: String = "0.0.0.0:8443"

        @Option(name: .long, help: "A plain-HTTP loopback listener for Synapse; pass an empty string for none.")
        var internalListen: String = "127.0.0.1:8081"

        @Option(name: .long, help: "Where Synapse listens (default: --synapse-config's client listener, else http://127.0.0.1:8008/).")
        var synapseURL: String?

        @Option(name: .long, help: "The SQLite database file.")
        var database: String = "gatehouse.db"

        @Option(name: .long, help: "An existing file with the Synapse shared secret (default: a new random one).")
        var synapseSecretFile: String?

        @Option(name: .long, help: "An existing PEM certificate chain (default: a new self-signed one).")
        var certificate: String?

        @Option(name: .long, help: "The PEM private key for --certificate.")
        var key: String?

        @Flag(name: .long, help: "Overwrite existing files.")
        var force = false

        /// A fresh random key as lower-case hexadecimal.
        static func hex(_ key: SymmetricKey) -> String {
            key.withUnsafeBytes { $0.map { String(format: "%02x", $0) }.joined() }
        }

        func validate() throws {
            if (certificate == nil) != (key == nil) {
                throw ValidationError("--certificate and --key go together")
            }
        }

        func run() throws {
            let homeserver = try readHomeserver()
            let serverName = self.serverName ?? homeserver?.serverName ?? "localhost"
            let synapseURL = self.synapseURL ?? homeserver?.clientListenerURL ?? "http://127.0.0.1:8008/"
            let files = FileManager.default
            let configPath = FilePaths.absolute(output, relativeTo: files.currentDirectoryPath)
            let directory = FilePaths.directory(of: configPath)
            try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
            func place(_ name: String) -> String { FilePaths.absolute(name, relativeTo: directory) }
            // Secrets and keys are created 0600 from the start and appear complete or not at all.
            func write(_ text: String, to path: String, mode: mode_t = 0o644) throws {
                if files.fileExists(atPath: path), !force {
                    printError("\(path) exists; pass --force to overwrite it")
                    throw ExitCode(1)
                }
                try files.createDirectory(atPath: FilePaths.directory(of: path), withIntermediateDirectories: true)
                do {
                    try AtomicFile.write(Array(text.utf8), to: path, mode: mode, replace: force)
                } catch {
                    printError("\(error)")
                    throw ExitCode(1)
                }
            }

            var written: [String] = []
            let secretPath: String
            if let synapseSecretFile {
                secretPath = FilePaths.absolute(synapseSecretFile, relativeTo: files.currentDirectoryPath)
            } else {
                secretPath = place("synapse_secret")
                try write(Self.hex(SymmetricKey(size: .bits256)) + "\n", to: secretPath, mode: 0o600)
                written.append(secretPath)
            }

            let certificatePath: String
            let keyPath: String
            if let certificate, let key {
                certificatePath = FilePaths.absolute(certificate, relativeTo: files.currentDirectoryPath)
                keyPath = FilePaths.absolute(key, relativeTo: files.currentDirectoryPath)
            } else {
                certificatePath = place("tls/cert.pem")
                keyPath = place("tls/key.pem")
                let names = Array(Set([serverName, "localhost"])).sorted { $0 == serverName && $1 != serverName }
                let pair = try SelfSignedCertificate.make(hostNames: names)
                try write(pair.certificatePEM, to: certificatePath)
                try write(pair.keyPEM, to: keyPath, mode: 0o600)
                written += [certificatePath, keyPath]
            }

            // OAuth 2.0 / OIDC secrets (MAS's `secrets`): an encryption key and one signing key per algorithm.
            let encryptionPath = place("encryption_secret")
            try write(Self.hex(SymmetricKey(size: .bits256)) + "\n", to: encryptionPath, mode: 0o600)
            let rsa = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            let ec = P256.Signing.PrivateKey()
            var signingKeys: [(kid: String, file: String)] = []
            for (name, pem, key) in [
                ("signing_rsa.pem", rsa.pemRepresentation, SigningKey(kid: nil, material: .rsa(rsa))),
                ("signing_ec.pem", ec.pemRepresentation, SigningKey(kid: nil, material: .p256(ec))),
            ] {
                let path = place(name)
                try write(pem, to: path, mode: 0o600)
                // A short, stable kid: the algorithm and the start of the key's RFC 7638 thumbprint.
                signingKeys.append((kid: "\(key.algorithm.rawValue.lowercased())-\(key.thumbprint.prefix(8))", file: path))
                written.append(path)
            }
            written.append(encryptionPath)

            // Synapse's pepper, for the bcrypt scheme that verifies imported hashes.
            var pepperPath: String?
            if let pepper = homeserver?.passwords.pepper {
                let path = place("synapse_pepper")
                try write(pepper + "\n", to: path, mode: 0o600)
                written.append(path)
                pepperPath = path
            }

            let routesPath = place(DefaultRoutes.fileName)
            try write(DefaultRoutes.text, to: routesPath)
            written.append(routesPath)

            let port = BindAddress.parse(listen)?.port ?? 8443
            let template = ConfigurationTemplate(
                serverName: serverName, publicBase: publicBase ?? homeserver?.publicBaseURL ?? "https://\(serverName):\(port)/", listen: listen,
                internalListen: internalListen.isEmpty ? nil : internalListen, synapseURL: synapseURL,
                databasePath: database, secretPath: secretPath, certificateFile: certificatePath, keyFile: keyPath,
                routesFile: DefaultRoutes.fileName, encryptionFile: encryptionPath, signingKeys: signingKeys)
            try write(template.render() + (homeserver?.gatehouseSections(pepperFile: pepperPath) ?? ""), to: configPath)
            written.append(configPath)

            // Never hand out a file that would not load.
            do {
                _ = try ConfigurationBundle.load(path: configPath)
            } catch {
                printError("the generated configuration does not validate:\n\(error)")
                throw ExitCode(1)
            }
            print("wrote:")
            for path in written { print("  \(path)") }
            let endpoint = internalListen.isEmpty ? "https://\(listen)/" : "http://\(internalListen)/"
            print("")
            print("Synapse's homeserver.yaml needs (the same shared secret; Synapse reads secret_path once, at start):")
            print("")
            print(HomeserverConfig.matrixAuthenticationServiceSnippet(endpoint: endpoint, secretPath: secretPath))
            if let homeserver {
                print("")
                print("and, with delegation on, no password_config.enabled: true, enable_registration: true or SSO providers (Synapse refuses them).")
                let notes = homeserver.settingsNotCarriedOver
                if !notes.isEmpty {
                    print("")
                    print("Not carried over from \(synapseConfig ?? "homeserver.yaml"):")
                    for note in notes { print("  - \(note)") }
                }
            }
        }

        /// The `--synapse-config` file, parsed; `nil` without the option.
        private func readHomeserver() throws -> HomeserverConfig? {
            guard let synapseConfig else { return nil }
            guard let data = FileManager.default.contents(atPath: synapseConfig) else {
                printError("cannot read \(synapseConfig)")
                throw ExitCode(1)
            }
            do {
                return try HomeserverConfig(text: String(decoding: data, as: UTF8.self))
            } catch {
                printError("\(synapseConfig): \(error)")
                throw ExitCode(1)
            }
        }
    }
}
