import Foundation
import Testing

@testable import GatehouseCore

/// The pure parts of `/authorize`: redirect URI matching and form encoding (the scope policy is
/// `AuthorizationScopeTests`).
struct AuthorizationPolicyTests {
    @Test func redirectURIsMatchExactly() {
        let registered = ["https://app.example.com/cb", "com.example.app:/cb", "http://127.0.0.1/cb", "http://[::1]:80/cb", "http://localhost:9/cb"]
        for uri in registered {
            #expect(RedirectURIMatcher.resolve(requested: uri, registered: registered, isNative: false) == uri)
        }
        for uri in ["https://app.example.com/cb/", "https://app.example.com/cb?", "https://app.example.com/CB", "HTTPS://app.example.com/cb",
            "https://app.example.com:443/cb", "com.example.app:/cb#x", "http://127.0.0.1:8080/cb"]
        {
            #expect(RedirectURIMatcher.resolve(requested: uri, registered: registered, isNative: false) == nil, "\(uri)")
        }
    }

    @Test func nativeLoopbackRedirectsIgnoreOnlyThePort() {
        let registered = ["http://127.0.0.1/cb", "http://[::1]:80/cb?x=1", "http://localhost:9/cb"]
        for uri in ["http://127.0.0.1:55555/cb", "http://[::1]/cb?x=1", "http://[::1]:1/cb?x=1", "http://localhost/cb"] {
            #expect(RedirectURIMatcher.resolve(requested: uri, registered: registered, isNative: true) == uri, "\(uri)")
        }
        for uri in ["http://127.0.0.1:5/cb/", "https://127.0.0.1:5/cb", "http://127.0.0.1:5/CB", "http://u@127.0.0.1:5/cb",
            "http://127.0.0.1:5/cb#f", "http://[::1]:5/cb", "http://127.0.0.2:5/cb", "http://LOCALHOST:5/cb"]
        {
            #expect(RedirectURIMatcher.resolve(requested: uri, registered: registered, isNative: true) == nil, "\(uri)")
        }
    }

    @Test func aMissingRedirectURIUsesTheOnlyOneRegistered() {
        #expect(RedirectURIMatcher.resolve(requested: nil, registered: ["https://a.example/cb"], isNative: false) == "https://a.example/cb")
        #expect(RedirectURIMatcher.resolve(requested: nil, registered: ["https://a.example/cb", "https://a.example/2"], isNative: false) == nil)
    }

    @Test func formEncodingRoundTrips() {
        let pairs = [("state", "a b&c=d%/é+~"), ("iss", "https://x.example/")]
        let encoded = FormURLEncoded.encode(pairs)
        #expect(encoded == "state=a%20b%26c%3Dd%25%2F%C3%A9%2B~&iss=https%3A%2F%2Fx.example%2F")
        #expect(FormURLEncoded.parse(Array(encoded.utf8))?.map { "\($0.name)=\($0.value)" } == pairs.map { "\($0.0)=\($0.1)" })
        #expect(FormURLEncoded.appendingQuery(to: "https://a/cb", [("x", "1")]) == "https://a/cb?x=1")
        #expect(FormURLEncoded.appendingQuery(to: "https://a/cb?y=2", [("x", "1")]) == "https://a/cb?y=2&x=1")
        #expect(Base64URL.decode(Base64URL.encode([0, 255, 1, 2, 3])) == [0, 255, 1, 2, 3])
        #expect(Base64URL.decode("a+b") == nil)
    }

    @Test func pagesConfiguration() throws {
        let fixture = try ConfigFixture()
        try FileManager.default.createDirectory(atPath: "\(fixture.directory)/templates", withIntermediateDirectories: true)
        let config = try fixture.load(ConfigFixture.valid + """

            branding: {service_name: "Example Chat", tos_uri: "https://example.org/terms", policy_uri: "https://example.org/privacy"}
            templates: {path: templates}
            account: {password_registration_enabled: true}
            """)
        #expect(config.branding == BrandingConfiguration(serviceName: "Example Chat", policyURI: "https://example.org/privacy", tosURI: "https://example.org/terms"))
        #expect(config.templates.path == "\(fixture.directory)/templates")
        #expect(config.account.passwordRegistrationEnabled)
        let defaults = try fixture.load(ConfigFixture.valid)
        #expect(defaults.branding.serviceName == "Gatehouse" && defaults.templates.path == nil && !defaults.account.passwordRegistrationEnabled)
        for (yaml, key) in [
            ("branding: {tos_uri: \"javascript:alert(1)\"}", "branding.tos_uri"), ("branding: {service_name: \"\"}", "branding.service_name"),
            ("templates: {path: nowhere}", "templates.path"), ("account: {registration: true}", "account.registration"),
            ("account: {password_registration_enabled: maybe}", "account.password_registration_enabled"),
        ] {
            let errors = fixture.errors(ConfigFixture.valid + "\n" + yaml)
            #expect(errors.contains { $0.contains(key) }, "\(yaml): \(errors)")
        }
    }
}
