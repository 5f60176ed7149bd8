import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseIdentity
import GatehouseStorage
import GatehouseTestSupport
import Synchronization
import Testing

/// Bytes 0, 1, 2, ... so generated ids and secrets are known in advance.
private final class SequenceRandom: RandomSource {
    private let next = Mutex<UInt8>(0)

    func bytes(_ count: Int) -> [UInt8] {
        next.withLock { value in
            (0..<count).map { _ in
                defer { value &+= 1 }
                return value
            }
        }
    }
}

/// ``ClientRegistrationService``, ``StaticClientService`` and ``ClientSecret`` on a real store, with
/// a manual clock and deterministic randomness.
struct ClientServicesTests {
    private static func withStore(_ backend: StoreBackend, _ body: (any IdentityStore, ManualClock) async throws -> Void) async throws {
        try await GatehouseTestSupport.withStore(backend) { store, _ in try await body(store, ManualClock()) }
    }

    static let nativeBody = Array(#"""
        {"application_type":"native","client_uri":"https://element.io/","client_name":"Element X",
         "redirect_uris":["io.element.app:/cb","http://127.0.0.1/cb"],"grant_types":["authorization_code","refresh_token"],
         "response_types":["code"],"token_endpoint_auth_method":"none"}
        """#.utf8)

    @Test(arguments: StoreBackend.allCases) func registrationStoresAPublicDynamicClientWithAULIDFromTheClock(_ backend: StoreBackend) async throws {
        try await Self.withStore(backend) { store, clock in
            let service = ClientRegistrationService(repository: store.clients, clock: clock, random: SequenceRandom())
            guard case .registered(let client) = try await service.register(body: Self.nativeBody) else {
                Issue.record("refused")
                return
            }
            #expect(client.id == ULID.make(at: clock.now(), random: SequenceRandom()))
            #expect(client.origin == .dynamic && client.secretHash == nil)
            #expect(client.createdAt == clock.now())
            #expect(client.metadata.clientName == ["": "Element X"])
            #expect(client.metadataDigest == TokenHasher.sha256Hex(client.metadata.json()))
            #expect(try await store.clients.find(id: client.id) == client)

            // The same metadata again (other key order) is the same client, as in MAS.
            clock.advance(by: 60)
            let reordered = Array(#"""
                {"token_endpoint_auth_method":"none","response_types":["code"],"grant_types":["authorization_code","refresh_token"],
                 "redirect_uris":["io.element.app:/cb","http://127.0.0.1/cb"],"client_name":"Element X","client_uri":"https://element.io/",
                 "application_type":"native"}
                """#.utf8)
            guard case .registered(let again) = try await service.register(body: reordered) else {
                Issue.record("refused")
                return
            }
            #expect(again == client)
            #expect(try await store.clients.list().count == 1)
        }
    }

    @Test(arguments: StoreBackend.allCases) func refusalsStoreNothing(_ backend: StoreBackend) async throws {
        try await Self.withStore(backend) { store, clock in
            let service = ClientRegistrationService(repository: store.clients, clock: clock, random: SequenceRandom())
            let body = Array(#"{"client_uri":"https://element.io/","redirect_uris":["https://evil.com/cb"],"token_endpoint_auth_method":"none"}"#.utf8)
            guard case .refused(let error) = try await service.register(body: body) else {
                Issue.record("accepted")
                return
            }
            #expect(error == .redirectURI("redirect_uris[0]: host evil.com is not element.io (the host of client_uri) or a subdomain of it"))
            #expect(try await store.clients.list().isEmpty)
        }
    }

    @Test(arguments: StoreBackend.allCases) func staticClientsFromTheConfigurationAreSyncedWithHashedSecrets(_ backend: StoreBackend) async throws {
        try await Self.withStore(backend) { store, clock in
            let service = StaticClientService(repository: store.clients, clock: clock, random: SequenceRandom())
            let secret = String(repeating: "s", count: 40)
            let configured = [
                StaticClientConfiguration(clientId: "01J9Z0XKQ4T3H7YB2V6N8M5R1A", authMethod: .none, redirectURIs: ["http://localhost/cb"]),
                StaticClientConfiguration(
                    clientId: "01J9Z0XKQ4T3H7YB2V6N8M5R1B", authMethod: .clientSecretBasic, secret: secret,
                    redirectURIs: ["https://app.example.org/cb"], clientName: "App"),
            ]
            #expect(try await service.sync(configured).added == ["01J9Z0XKQ4T3H7YB2V6N8M5R1A", "01J9Z0XKQ4T3H7YB2V6N8M5R1B"])
            let confidential = try #require(try await store.clients.find(id: "01J9Z0XKQ4T3H7YB2V6N8M5R1B"))
            #expect(confidential.origin == .config)
            #expect(confidential.secretHash == TokenHasher.sha256Hex(secret))
            #expect(confidential.secretHash != secret)
            #expect(ClientSecret.matches(secret, storedHash: confidential.secretHash))
            #expect(!ClientSecret.matches(secret + "x", storedHash: confidential.secretHash))
            #expect(!ClientSecret.matches(secret, storedHash: nil))
            // A changed secret updates the client; a removed client is deleted.
            var rotated = configured[1]
            rotated.secret = String(repeating: "t", count: 40)
            #expect(try await service.sync([rotated]) == ClientSyncResult(updated: [rotated.clientId], removed: [configured[0].clientId]))
            #expect(ClientSecret.matches(rotated.secret!, storedHash: try await store.clients.find(id: rotated.clientId)?.secretHash))
        }
    }

    @Test(arguments: StoreBackend.allCases) func addGeneratesIdsAndSecretsAndRemoveLeavesConfigClientsAlone(_ backend: StoreBackend) async throws {
        try await Self.withStore(backend) { store, clock in
            let service = StaticClientService(repository: store.clients, clock: clock, random: SequenceRandom())
            let added = try await service.add(
                clientId: nil, authMethod: .clientSecretPost, secret: nil, redirectURIs: ["https://app.example.org/cb"], clientName: "Bot",
                clientURI: nil)
            let secret = try #require(added.generatedSecret)
            #expect(secret.count == ClientSecret.generatedLength)
            #expect(added.client.origin == .cli && ULID.isValid(added.client.id))
            #expect(ClientSecret.matches(secret, storedHash: try await store.clients.find(id: added.client.id)?.secretHash))

            let publicClient = try await service.add(
                clientId: "01J9Z0XKQ4T3H7YB2V6N8M5R1P", authMethod: .none, secret: nil, redirectURIs: ["http://localhost/cb"], clientName: nil,
                clientURI: nil)
            #expect(publicClient.generatedSecret == nil && publicClient.client.secretHash == nil)

            for (call, message) in [
                ({ try await service.add(clientId: "bad", authMethod: .none, secret: nil, redirectURIs: ["http://localhost/"], clientName: nil, clientURI: nil) },
                 "--client-id 'bad' is not a ULID (26 characters of Crockford base32)"),
                ({ try await service.add(clientId: nil, authMethod: .none, secret: nil, redirectURIs: [], clientName: nil, clientURI: nil) },
                 "give at least one --redirect-uri"),
                ({ try await service.add(clientId: nil, authMethod: .none, secret: nil, redirectURIs: ["https://x.org/#f"], clientName: nil, clientURI: nil) },
                 "--redirect-uri 'https://x.org/#f' has a fragment (#), which redirect URIs must not have (RFC 6749 §3.1.2)"),
                ({ try await service.add(clientId: nil, authMethod: .none, secret: String(repeating: "s", count: 40), redirectURIs: ["http://localhost/"], clientName: nil, clientURI: nil) },
                 "a public client (--auth-method none) has no secret"),
                ({ try await service.add(clientId: nil, authMethod: .clientSecretBasic, secret: "short", redirectURIs: ["http://localhost/"], clientName: nil, clientURI: nil) },
                 "the secret is 5 bytes; at least 32 are needed (leave it out to generate one)"),
            ] as [(() async throws -> StaticClientService.Added, String)] {
                await #expect(throws: ClientAdministrationError(message)) { _ = try await call() }
            }
            await #expect(throws: StorageError.conflict("")) {
                _ = try await service.add(
                    clientId: publicClient.client.id, authMethod: .none, secret: nil, redirectURIs: ["http://localhost/"], clientName: nil, clientURI: nil)
            }

            _ = try await service.sync([StaticClientConfiguration(clientId: "01J9Z0XKQ4T3H7YB2V6N8M5R1A", authMethod: .none, redirectURIs: [])])
            await #expect(throws: ClientAdministrationError(
                "client 01J9Z0XKQ4T3H7YB2V6N8M5R1A comes from clients[] in the configuration; remove it there and restart `gatehouse serve`, which deletes it"
            )) { _ = try await service.remove(clientId: "01J9Z0XKQ4T3H7YB2V6N8M5R1A") }
            await #expect(throws: ClientAdministrationError("no client with id 01J9Z0XKQ4T3H7YB2V6N8M5R1Z")) {
                _ = try await service.remove(clientId: "01J9Z0XKQ4T3H7YB2V6N8M5R1Z")
            }
            #expect(try await service.remove(clientId: publicClient.client.id).id == publicClient.client.id)
            #expect(try await service.list().map(\.id).sorted() == [added.client.id, "01J9Z0XKQ4T3H7YB2V6N8M5R1A"].sorted())
        }
    }

    /// `clients add --id-token-signed-response-alg/--userinfo-signed-response-alg`: stored with the
    /// client when a configured key signs with the algorithm, refused with the option's name otherwise.
    @Test(arguments: StoreBackend.allCases) func addTakesTheSignedResponseAlgorithmsOfTheConfiguredKeys(_ backend: StoreBackend) async throws {
        try await Self.withStore(backend) { store, clock in
            let service = StaticClientService(repository: store.clients, clock: clock, random: SequenceRandom())
            let added = try await service.add(
                clientId: nil, authMethod: .none, secret: nil, redirectURIs: ["http://localhost/cb"], clientName: nil, clientURI: nil,
                idTokenSignedResponseAlg: "ES256", userinfoSignedResponseAlg: "RS256", signingAlgorithms: [.es256, .rs256])
            let stored = try #require(try await store.clients.find(id: added.client.id))
            #expect(stored.metadata.idTokenSignedResponseAlg == .es256 && stored.metadata.userinfoSignedResponseAlg == .rs256)

            await #expect(throws: ClientAdministrationError("--id-token-signed-response-alg 'none' is not an algorithm Gatehouse signs with (RS256 or ES256)")) {
                _ = try await service.add(
                    clientId: nil, authMethod: .none, secret: nil, redirectURIs: ["http://localhost/cb"], clientName: nil, clientURI: nil,
                    idTokenSignedResponseAlg: "none", signingAlgorithms: [.rs256])
            }
            await #expect(throws: ClientAdministrationError(
                "--userinfo-signed-response-alg ES256: no key of `secrets.keys` signs with it; add one or leave the option out"
            )) {
                _ = try await service.add(
                    clientId: nil, authMethod: .none, secret: nil, redirectURIs: ["http://localhost/cb"], clientName: nil, clientURI: nil,
                    userinfoSignedResponseAlg: "ES256", signingAlgorithms: [.rs256])
            }
        }
    }
}
