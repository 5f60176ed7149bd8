import ArgumentParser
import Foundation
import GatehouseCore
import GatehouseIdentity
import GatehouseSQLite
import GatehouseStorage

/// `gatehouse clients ...`: the OAuth 2.0 clients in the store. `list` shows every client (from the
/// configuration, added here, or registered dynamically); `add` and `remove` manage static clients
/// outside the configuration (and `remove` also deletes a dynamically registered client). Clients
/// of `clients[]` are changed in the configuration and synced by `serve`.
struct ClientsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clients", abstract: "List, add and remove OAuth 2.0 clients.",
        subcommands: [List.self, Add.self, Remove.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List every client: id, origin (config, cli, dynamic), type, auth method, name, redirect URIs.")
        @OptionGroup var options: ConfigOption

        func run() async throws {
            try await withClients(options) { service, _ in
                let clients = try await service.list()
                print(["client_id", "origin", "type", "auth_method", "created_at", "name", "redirect_uris"].joined(separator: "\t"))
                for client in clients {
                    let metadata = client.metadata
                    print([
                        client.id, client.origin.rawValue, metadata.applicationType.rawValue, metadata.tokenEndpointAuthMethod,
                        ISO8601DateFormatter().string(from: client.createdAt), metadata.clientName[""] ?? "-",
                        metadata.redirectURIs.joined(separator: " "),
                    ].joined(separator: "\t"))
                }
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add",
            abstract: "Add a static client to the store; a confidential client's generated secret is printed once.")
        @OptionGroup var options: ConfigOption
        @Option(help: "The client_id (a ULID); a new one when left out.") var clientId: String?
        @Option(help: "none, client_secret_basic or client_secret_post.") var authMethod: String = "none"
        @Option(help: "A file (mode 0600) holding the secret of a confidential client; generated when left out.") var clientSecretFile: String?
        @Option(help: "A redirect URI (repeatable, at least one).") var redirectUri: [String] = []
        @Option(help: "The name shown to users.") var clientName: String?
        @Option(help: "The client's home page.") var clientUri: String?
        @Option(help: "RS256 or ES256: the algorithm of the client's id_tokens (a key of `secrets.keys` must sign with it).")
        var idTokenSignedResponseAlg: String?
        @Option(help: "RS256 or ES256: userinfo answers a JWT signed with it instead of JSON.")
        var userinfoSignedResponseAlg: String?

        func run() async throws {
            guard let method = ClientAuthMethod(rawValue: authMethod) else {
                throw ValidationError("--auth-method must be one of \(ClientAuthMethod.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var secret: String?
            if let clientSecretFile {
                guard let data = FileManager.default.contents(atPath: clientSecretFile) else {
                    throw ValidationError("cannot read \(clientSecretFile)")
                }
                if let mode = FileAccess.openToOthers(clientSecretFile) {
                    throw ValidationError(
                        "\(clientSecretFile) can be read by other accounts (mode \(FileAccess.octal(mode))); run `chmod 600 \(clientSecretFile)`")
                }
                secret = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            try await withClients(options) { service, configuration in
                let added = try await service.add(
                    clientId: clientId, authMethod: method, secret: secret, redirectURIs: redirectUri, clientName: clientName,
                    clientURI: clientUri, idTokenSignedResponseAlg: idTokenSignedResponseAlg,
                    userinfoSignedResponseAlg: userinfoSignedResponseAlg, signingAlgorithms: configuration.secrets?.algorithms ?? [])
                print("added client \(added.client.id) (\(method.rawValue))")
                if let generated = added.generatedSecret {
                    print("client_secret: \(generated)")
                    print("(shown once: only its hash is stored)")
                }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove", abstract: "Remove a client added with `clients add` or registered dynamically.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The client_id.") var clientId: String

        func run() async throws {
            try await withClients(options) { service, _ in
                let removed = try await service.remove(clientId: clientId)
                print("removed client \(removed.id) (\(removed.origin.rawValue))")
            }
        }
    }
}

/// Opens the store (applying pending migrations, as `serve` does), runs `body` with the client
/// service, prints a ``ClientAdministrationError`` or ``StorageError`` as one line with exit code 1.
private func withClients(
    _ options: ConfigOption, _ body: (StaticClientService, GatehouseConfiguration) async throws -> Void
) async throws {
    let configuration = try options.load().configuration
    let opened: OpenedStore
    do {
        opened = try await OpenedStore.open(configuration.database)
    } catch {
        printError("cannot open the store \(configuration.database.summary): \(error)")
        throw ExitCode(1)
    }
    do {
        try await body(StaticClientService(repository: opened.store.clients, clock: SystemClock(), random: SystemRandom()), configuration)
        await opened.close()
    } catch let error as ClientAdministrationError {
        await opened.close()
        printError("error: \(error)")
        throw ExitCode(1)
    } catch let error as StorageError {
        await opened.close()
        printError("error: \(error)")
        throw ExitCode(1)
    } catch {
        await opened.close()
        throw error
    }
}
