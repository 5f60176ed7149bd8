import Foundation
import GatehouseCore
import GatehouseIdentity
import GatehouseStorage
import GatehouseTestSupport
import Testing

/// Client credentials (RFC 6749 §2.3.1) and their check against the registration.
@Suite(.serialized)
struct ClientAuthenticationTests {
    private func parse(_ authorization: String?, _ form: [(String, String)]) -> Result<ClientCredentials, OAuth2TokenError> {
        ClientCredentials.parse(authorization: authorization, form: OAuth2Fixture.form(form))
    }

    private func basic(_ id: String, _ secret: String) -> String {
        "Basic " + Data("\(id):\(secret)".utf8).base64EncodedString()
    }

    @Test func credentialsAreReadFromTheHeaderOrTheForm() throws {
        #expect(try parse(basic("client-1", "s%3Acret"), []).get() == ClientCredentials(clientId: "client-1", secret: "s:cret", method: .clientSecretBasic))
        #expect(try parse(basic("client-1", "pw"), [("client_id", "client-1")]).get().method == .clientSecretBasic)
        #expect(try parse(nil, [("client_id", "c"), ("client_secret", "pw")]).get() == ClientCredentials(clientId: "c", secret: "pw", method: .clientSecretPost))
        #expect(try parse(nil, [("client_id", "c")]).get() == ClientCredentials(clientId: "c", secret: nil, method: .none))
        #expect(try parse(nil, [("client_id", "c"), ("client_secret", "")]).get().method == .none, "an empty parameter counts as omitted")
    }

    @Test func malformedOrContradictoryCredentialsAreRefused() {
        #expect(parse("Basic !!!", []).failure == OAuth2TokenError(.invalidRequest, "Invalid Authorization header"))
        #expect(parse("Bearer abc", []).failure?.code == .invalidRequest)
        #expect(parse("Basic " + Data("no-colon".utf8).base64EncodedString(), []).failure?.code == .invalidRequest)
        #expect(parse(nil, []).failure == OAuth2TokenError(.invalidRequest, "No credentials were presented"))
        #expect(parse(nil, [("client_secret", "pw")]).failure?.code == .invalidRequest)
        #expect(parse(basic("client-1", "pw"), [("client_id", "client-2")]).failure?.code == .invalidGrant)
        #expect(parse(basic("client-1", "pw"), [("client_secret", "pw")]).failure?.code == .invalidRequest)
        #expect(parse(nil, [("client_id", "a"), ("client_id", "b")]).failure?.code == .invalidRequest)
    }

    @Test(arguments: StoreBackend.allCases) func theRegisteredMethodAndSecretAreRequired(_ backend: StoreBackend) async throws {
        let fixture = try await OAuth2Fixture(backend)
        let authenticator = ClientAuthenticator(clients: fixture.store.clients)
        try await fixture.registerClient("public", method: .none)
        try await fixture.registerClient("basic", method: .clientSecretBasic)
        try await fixture.registerClient("post", method: .clientSecretPost)

        #expect(try await authenticator.authenticate(OAuth2Fixture.credentials("public")).id == "public")
        #expect(try await authenticator.authenticate(OAuth2Fixture.credentials("basic", method: .clientSecretBasic)).id == "basic")
        #expect(try await authenticator.authenticate(OAuth2Fixture.credentials("post", method: .clientSecretPost)).id == "post")

        await expectOAuth2Error(.invalidClient) { try await authenticator.authenticate(OAuth2Fixture.credentials("unknown")) }
        await expectOAuth2Error(.invalidClient) { try await authenticator.authenticate(OAuth2Fixture.credentials("basic")) }
        await expectOAuth2Error(.invalidClient) {
            try await authenticator.authenticate(OAuth2Fixture.credentials("basic", method: .clientSecretPost))
        }
        await expectOAuth2Error(.invalidClient) {
            try await authenticator.authenticate(OAuth2Fixture.credentials("basic", method: .clientSecretBasic, secret: "wrong"))
        }
        await expectOAuth2Error(.invalidClient) {
            try await authenticator.authenticate(OAuth2Fixture.credentials("public", method: .clientSecretPost))
        }
        // A client registered without a method (MAS stores an empty one).
        var broken = try #require(try await fixture.store.clients.find(id: "public"))
        broken.id = "no-method"
        broken.metadata.tokenEndpointAuthMethod = ""
        broken.secretHash = ClientSecret.hash(OAuth2Fixture.secret)
        try await fixture.store.clients.add(broken)
        await expectOAuth2Error(.unauthorizedClient) { try await authenticator.authenticate(OAuth2Fixture.credentials("no-method")) }
        try await fixture.close()
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
