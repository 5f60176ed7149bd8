import Foundation
import Testing

@testable import GatehouseCore

/// `admin_api`: off by default, listeners and clients checked with the key path and a fix.
struct AdminAPIConfigurationTests {
    private static let client = "01J9ZQ3B7N6Y2W8K4R5T0V1X2Y"

    @Test func offUnlessAListenerIsNamed() throws {
        let fixture = try ConfigFixture()
        let configuration = try fixture.load(ConfigFixture.valid)
        #expect(configuration.adminAPI == AdminAPIConfiguration())
        #expect(!configuration.adminAPI.isServed(on: "public") && !configuration.adminAPI.isServed(on: "internal"))
    }

    @Test func namesListenersAndClients() throws {
        let fixture = try ConfigFixture()
        let configuration = try fixture.load(ConfigFixture.valid + "\nadmin_api: {listeners: [internal, internal], clients: [\(Self.client)]}\n")
        #expect(configuration.adminAPI.listeners == ["internal"] && configuration.adminAPI.clients == [Self.client])
        #expect(configuration.adminAPI.isServed(on: "internal") && !configuration.adminAPI.isServed(on: "public"))
    }

    @Test func refusesUnknownListenersBadIdsAndPublicClients() throws {
        let fixture = try ConfigFixture()
        let listener = fixture.errors(ConfigFixture.valid + "\nadmin_api: {listeners: [admin]}\n")
        #expect(listener.count == 1 && listener.first?.contains("admin_api.listeners[0]: no listener is named 'admin'") == true, "\(listener)")
        #expect(listener.first?.contains("public, internal") == true)
        let id = fixture.errors(ConfigFixture.valid + "\nadmin_api: {clients: [my-admin-script]}\n")
        #expect(id.count == 1 && id.first?.contains("admin_api.clients[0]: 'my-admin-script' is not a ULID") == true, "\(id)")
        let publicClient = fixture.errors(
            ConfigFixture.valid + """

                clients:
                  - {client_id: \(Self.client), client_auth_method: none, redirect_uris: ["https://app.example.org/cb"]}
                admin_api: {clients: [\(Self.client)]}

                """)
        #expect(publicClient.count == 1 && publicClient.first?.contains("cannot use the client_credentials grant") == true, "\(publicClient)")
        let unknownKey = fixture.errors(ConfigFixture.valid + "\nadmin_api: {listener: [internal]}\n")
        #expect(unknownKey.first?.contains("admin_api.listener: unknown key") == true, "\(unknownKey)")
    }
}
