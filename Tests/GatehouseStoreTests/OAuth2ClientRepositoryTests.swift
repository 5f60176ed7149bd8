import Foundation
import GatehouseCore
import GatehouseStorage
import GatehouseTestSupport
import Testing

/// `oauth2_clients` on a real, freshly migrated database.
/// A hung store call fails its test instead of the whole run.
@Suite(.storeTimeLimit)
struct OAuth2ClientRepositoryTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    static func metadata(name: String = "Element") -> ClientMetadata {
        ClientMetadata(
            applicationType: .native, redirectURIs: ["io.element.app:/cb", "http://localhost/cb"],
            grantTypes: ["authorization_code", "refresh_token"], responseTypes: ["code"], tokenEndpointAuthMethod: "none",
            clientName: ["": name, "fr": "Élément"], clientURI: ["": "https://element.io/"], logoURI: ["": "https://element.io/logo.png"],
            tosURI: ["de": "https://element.io/de/tos"], policyURI: [:], contacts: ["admin@element.io"])
    }

    static func client(_ id: String, origin: OAuth2Client.Origin, digest: String? = nil, secretHash: String? = nil, at offset: TimeInterval = 0)
        -> OAuth2Client
    {
        var metadata = metadata()
        if secretHash != nil { metadata.tokenEndpointAuthMethod = "client_secret_basic" }
        return OAuth2Client(
            id: id, origin: origin, metadata: metadata, secretHash: secretHash, metadataDigest: digest, createdAt: start.addingTimeInterval(offset))
    }

    @Test(arguments: StoreBackend.allCases) func everyFieldRoundTrips(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let client = Self.client("01J9Z0XKQ4T3H7YB2V6N8M5R1C", origin: .dynamic, digest: "d1")
            let stored = try await store.clients.register(client)
            #expect(stored == client)
            #expect(try await store.clients.find(id: client.id) == client)
            #expect(try await store.clients.find(id: "01J9Z0XKQ4T3H7YB2V6N8M5R1X") == nil)
            var confidential = Self.client("01J9Z0XKQ4T3H7YB2V6N8M5R1D", origin: .cli, secretHash: String(repeating: "a", count: 64), at: 1)
            // The signed-response algorithms of OpenID Connect Registration (migration 0009).
            confidential.metadata.idTokenSignedResponseAlg = .es256
            confidential.metadata.userinfoSignedResponseAlg = .rs256
            try await store.clients.add(confidential)
            #expect(try await store.clients.list() == [client, confidential])
        }
    }

    @Test(arguments: StoreBackend.allCases) func identicalDynamicRegistrationsShareOneClient(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let first = try await store.clients.register(Self.client("01J9Z0XKQ4T3H7YB2V6N8M5R1C", origin: .dynamic, digest: "same"))
            let second = try await store.clients.register(Self.client("01J9Z0XKQ4T3H7YB2V6N8M5R1D", origin: .dynamic, digest: "same", at: 5))
            #expect(second == first)
            let other = try await store.clients.register(Self.client("01J9Z0XKQ4T3H7YB2V6N8M5R1E", origin: .dynamic, digest: "other"))
            #expect(other.id == "01J9Z0XKQ4T3H7YB2V6N8M5R1E")
            #expect(try await store.clients.list().map(\.id) == ["01J9Z0XKQ4T3H7YB2V6N8M5R1C", "01J9Z0XKQ4T3H7YB2V6N8M5R1E"])
        }
    }

    @Test(arguments: StoreBackend.allCases) func addRefusesATakenIdAndRemoveReportsWhetherItDeleted(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let client = Self.client("01J9Z0XKQ4T3H7YB2V6N8M5R1C", origin: .cli)
            try await store.clients.add(client)
            await #expect(throws: StorageError.conflict("")) { try await store.clients.add(client) }
            #expect(try await store.clients.remove(id: client.id))
            #expect(try await store.clients.remove(id: client.id) == false)
            #expect(try await store.clients.list().isEmpty)
        }
    }

    @Test(arguments: StoreBackend.allCases) func secretHashIsRequiredExactlyForConfidentialClients(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            var publicWithSecret = Self.client("01J9Z0XKQ4T3H7YB2V6N8M5R1C", origin: .cli)
            publicWithSecret.secretHash = "abc"
            await #expect(throws: (any Error).self) { try await store.clients.add(publicWithSecret) }
            var confidentialWithout = Self.client("01J9Z0XKQ4T3H7YB2V6N8M5R1D", origin: .cli)
            confidentialWithout.metadata.tokenEndpointAuthMethod = "client_secret_post"
            await #expect(throws: (any Error).self) { try await store.clients.add(confidentialWithout) }
            let remaining = try await store.clients.list()
            #expect(remaining.isEmpty)
        }
    }

    @Test(arguments: StoreBackend.allCases) func syncMakesTheConfigClientsExactlyTheGivenOnes(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let a = Self.client("01J9Z0XKQ4T3H7YB2V6N8M5R1A", origin: .config)
            let b = Self.client("01J9Z0XKQ4T3H7YB2V6N8M5R1B", origin: .config, at: 1)
            let cli = Self.client("01J9Z0XKQ4T3H7YB2V6N8M5R1C", origin: .cli, at: 2)
            try await store.clients.add(cli)
            #expect(try await store.clients.syncConfigured([a, b]) == ClientSyncResult(added: [a.id, b.id]))
            #expect(try await store.clients.syncConfigured([a, b]) == ClientSyncResult())

            var changedA = a
            changedA.metadata.redirectURIs = ["https://new.example.org/cb"]
            changedA.createdAt = Self.start.addingTimeInterval(100)
            #expect(try await store.clients.syncConfigured([changedA]) == ClientSyncResult(updated: [a.id], removed: [b.id]))
            let storedA = try #require(try await store.clients.find(id: a.id))
            #expect(storedA.metadata.redirectURIs == ["https://new.example.org/cb"])
            #expect(storedA.createdAt == a.createdAt)
            // The CLI client is not the configuration's to remove.
            #expect(try await store.clients.list().map(\.id) == [a.id, cli.id])

            // An id already used by a client of another origin stops the sync and changes nothing.
            let clash = Self.client(cli.id, origin: .config)
            await #expect(throws: StorageError.conflict("")) { try await store.clients.syncConfigured([clash]) }
            #expect(try await store.clients.find(id: a.id) != nil)
            #expect(try await store.clients.find(id: cli.id)?.origin == .cli)
        }
    }
}
