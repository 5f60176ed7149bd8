#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseAuth
import GatehouseCore
import GatehouseStorage

/// The admin's clients: `clients[]` synced at start, and `gatehouse clients list|add|remove`.
///
/// Clients from the configuration belong to the configuration: `serve` adds, updates and removes them
/// so the store matches `clients[]` (MAS needs `config sync --prune` to remove one; a client taken
/// out of the configuration should stop working without a second step). Clients added on the command
/// line are left alone by the sync and removed only by `clients remove`.
public struct StaticClientService: Sendable {
    let repository: any OAuth2ClientRepository
    let clock: any WallClock
    let random: any RandomSource

    /// - Parameters:
    ///   - repository: where clients are stored.
    ///   - clock: creation times.
    ///   - random: generated ids and secrets.
    public init(repository: any OAuth2ClientRepository, clock: any WallClock, random: any RandomSource) {
        self.repository = repository
        self.clock = clock
        self.random = random
    }

    /// Makes the store's configuration clients match `clients`.
    /// - Parameter clients: `clients[]` of the validated configuration.
    /// - Throws: ``StorageError/conflict(_:)`` when an id belongs to a client not from the configuration.
    public func sync(_ clients: [StaticClientConfiguration]) async throws -> ClientSyncResult {
        let now = clock.now()
        return try await repository.syncConfigured(clients.map { configured in
            OAuth2Client(
                id: configured.clientId, origin: .config, metadata: configured.metadata,
                secretHash: configured.secret.map(ClientSecret.hash), createdAt: now)
        })
    }

    /// A client added by `gatehouse clients add`, with the secret to show once.
    public struct Added: Sendable {
        public var client: OAuth2Client
        /// The generated secret of a confidential client; it is not stored and cannot be shown again.
        public var generatedSecret: String?
    }

    /// Adds a static client.
    /// - Parameters:
    ///   - clientId: a ULID to use, or `nil` for a new one.
    ///   - authMethod: how the client authenticates.
    ///   - secret: the secret of a confidential client, or `nil` to generate one.
    ///   - redirectURIs: its redirect URIs.
    ///   - clientName: a display name.
    ///   - clientURI: its home page.
    /// - Throws: ``ClientAdministrationError`` for a bad value, ``StorageError/conflict(_:)`` for a taken id.
    public func add(
        clientId: String?, authMethod: ClientAuthMethod, secret: String?, redirectURIs: [String], clientName: String?, clientURI: String?,
        idTokenSignedResponseAlg: String? = nil, userinfoSignedResponseAlg: String? = nil, signingAlgorithms: [SigningAlgorithm] = []
    ) async throws -> Added {
        if let clientId, !ULID.isValid(clientId) {
            throw ClientAdministrationError("--client-id '\(clientId)' is not a ULID (26 characters of Crockford base32)")
        }
        guard !redirectURIs.isEmpty else { throw ClientAdministrationError("give at least one --redirect-uri") }
        for uri in redirectURIs {
            if let problem = StaticClientConfiguration.problem(withRedirectURI: uri) {
                throw ClientAdministrationError("--redirect-uri '\(uri)' \(problem)")
            }
        }
        if secret != nil, !authMethod.usesSecret {
            throw ClientAdministrationError("a public client (--auth-method none) has no secret")
        }
        if let secret, secret.utf8.count < StaticClientConfiguration.minimumSecretBytes {
            throw ClientAdministrationError(
                "the secret is \(secret.utf8.count) bytes; at least \(StaticClientConfiguration.minimumSecretBytes) are needed "
                    + "(leave it out to generate one)")
        }
        let idTokenAlgorithm = try Self.signingAlgorithm(idTokenSignedResponseAlg, option: "--id-token-signed-response-alg", among: signingAlgorithms)
        let userinfoAlgorithm = try Self.signingAlgorithm(
            userinfoSignedResponseAlg, option: "--userinfo-signed-response-alg", among: signingAlgorithms)
        let generated = authMethod.usesSecret && secret == nil ? ClientSecret.generate(random: random) : nil
        let now = clock.now()
        let configured = StaticClientConfiguration(
            clientId: clientId ?? ULID.make(at: now, random: random), authMethod: authMethod, secret: secret ?? generated,
            redirectURIs: redirectURIs, clientName: clientName, clientURI: clientURI, idTokenSignedResponseAlg: idTokenAlgorithm,
            userinfoSignedResponseAlg: userinfoAlgorithm)
        let client = OAuth2Client(
            id: configured.clientId, origin: .cli, metadata: configured.metadata, secretHash: configured.secret.map(ClientSecret.hash),
            createdAt: now)
        try await repository.add(client)
        return Added(client: client, generatedSecret: generated)
    }

    /// A signed-response algorithm given on the command line: one that a key of `secrets.keys` signs with.
    private static func signingAlgorithm(_ name: String?, option: String, among algorithms: [SigningAlgorithm]) throws -> SigningAlgorithm? {
        guard let name else { return nil }
        switch ClientRegistrationPolicy.signingAlgorithm(name, among: algorithms) {
        case .success(let algorithm):
            return algorithm
        case .failure(.unsupported):
            throw ClientAdministrationError(
                "\(option) '\(name)' is not an algorithm Gatehouse signs with (\(SigningAlgorithm.allCases.map(\.rawValue).joined(separator: " or ")))")
        case .failure(.noKey):
            throw ClientAdministrationError("\(option) \(name): no key of `secrets.keys` signs with it; add one or leave the option out")
        }
    }

    /// Every client, dynamic ones included.
    public func list() async throws -> [OAuth2Client] {
        try await repository.list()
    }

    /// Removes a client added on the command line or registered dynamically.
    /// - Parameter clientId: the `client_id`.
    /// - Throws: ``ClientAdministrationError`` for an unknown id or a client of the configuration.
    public func remove(clientId: String) async throws -> OAuth2Client {
        guard let client = try await repository.find(id: clientId) else {
            throw ClientAdministrationError("no client with id \(clientId)")
        }
        guard client.origin != .config else {
            throw ClientAdministrationError(
                "client \(clientId) comes from clients[] in the configuration; remove it there and restart `gatehouse serve`, which deletes it")
        }
        _ = try await repository.remove(id: clientId)
        return client
    }
}

/// A `gatehouse clients` request that cannot be carried out, with what to change.
public struct ClientAdministrationError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String

    /// - Parameter description: the problem and its fix.
    public init(_ description: String) {
        self.description = description
    }
}
