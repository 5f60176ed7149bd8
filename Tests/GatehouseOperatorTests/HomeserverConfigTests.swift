import Foundation
import GatehouseCore
import Testing

@testable import GatehouseOperator

/// `gatehouse config generate --synapse-config`: what is read from a homeserver.yaml, and that the
/// generated configuration loads with Synapse's password settings in it.
struct HomeserverConfigTests {
    static let homeserver = """
        server_name: "example.org"
        public_baseurl: "https://matrix.example.org/"
        listeners:
          - port: 9000
            type: metrics
          - port: 8448
            type: http
            bind_addresses: ['0.0.0.0']
            resources: [{names: [federation]}]
          - port: 8008
            type: http
            tls: false
            bind_addresses: ['::']
            resources:
              - names: [client, federation]
        bcrypt_rounds: 13
        password_config:
          pepper: "EKu7pPtKEy8TpZ5D"
          policy: {minimum_length: 10}
        enable_registration: true
        enable_registration_captcha: true
        """

    @Test func readsWhatGatehouseNeeds() throws {
        let config = try HomeserverConfig(text: Self.homeserver)
        #expect(config.serverName == "example.org")
        #expect(config.publicBaseURL == "https://matrix.example.org/")
        #expect(config.clientListenerURL == "http://127.0.0.1:8008/", "the client listener, on loopback when it binds everywhere")
        #expect(config.passwords == SynapsePasswordSettings(enabled: true, pepper: "EKu7pPtKEy8TpZ5D", bcryptRounds: 13))
        #expect(config.registrationEnabled)
        #expect(!config.delegatesAuthentication)
        #expect(config.settingsNotCarriedOver.count == 2)
        #expect(config.settingsNotCarriedOver.contains { $0.hasPrefix("enable_registration_captcha") })
        #expect(config.settingsNotCarriedOver.contains { $0.hasPrefix("password_config.policy") })

        let defaults = try HomeserverConfig(text: "server_name: example.org\n")
        #expect(defaults.passwords == SynapsePasswordSettings(enabled: true, pepper: nil, bcryptRounds: 12))
        #expect(defaults.clientListenerURL == nil && !defaults.registrationEnabled)
    }

    @Test func generatedConfigurationVerifiesSynapseHashesThenMovesToArgon2id() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-generate-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func write(_ text: String, _ name: String, mode: Int) throws {
            try text.write(toFile: "\(directory)/\(name)", atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: "\(directory)/\(name)")
        }
        try write(String(repeating: "ab", count: 32) + "\n", "synapse_secret", mode: 0o600)
        try write("EKu7pPtKEy8TpZ5D\n", "synapse_pepper", mode: 0o600)
        try write("cert", "cert.pem", mode: 0o644)
        try write("key", "key.pem", mode: 0o600)
        try write(DefaultRoutes.text, "matrix.routes", mode: 0o644)

        let homeserver = try HomeserverConfig(text: Self.homeserver)
        let template = ConfigurationTemplate(
            serverName: homeserver.serverName!, publicBase: homeserver.publicBaseURL!, listen: "0.0.0.0:443", internalListen: "127.0.0.1:8081",
            synapseURL: homeserver.clientListenerURL!, databasePath: "gatehouse.db", secretPath: "synapse_secret", certificateFile: "cert.pem",
            keyFile: "key.pem", routesFile: "matrix.routes")
        let text = template.render() + homeserver.gatehouseSections(pepperFile: "synapse_pepper")
        let configuration = try ConfigurationLoader.parse(yaml: text, file: "\(directory)/gatehouse.yaml")

        #expect(configuration.matrix.homeserver == "example.org")
        #expect(configuration.http.publicBase == "https://matrix.example.org/")
        #expect(configuration.matrix.endpoint == "http://127.0.0.1:8008/")
        #expect(configuration.passwords.enabled)
        #expect(
            configuration.passwords.schemes == [
                PasswordSchemeConfiguration(version: 1, algorithm: .bcrypt, cost: 13, pepper: "EKu7pPtKEy8TpZ5D", unicodeNormalization: true),
                PasswordSchemeConfiguration(version: 2, algorithm: .argon2id),
            ])
        #expect(configuration.passwords.newestScheme?.algorithm == .argon2id)
        #expect(configuration.account.passwordRegistrationEnabled)
    }

    @Test func synapseSnippetCarriesTheSameSecretFile() {
        #expect(
            HomeserverConfig.matrixAuthenticationServiceSnippet(endpoint: "http://127.0.0.1:8081/", secretPath: "/etc/gatehouse/synapse_secret") == """
                matrix_authentication_service:
                  enabled: true
                  endpoint: "http://127.0.0.1:8081/"
                  secret_path: "/etc/gatehouse/synapse_secret"
                """)
    }
}
