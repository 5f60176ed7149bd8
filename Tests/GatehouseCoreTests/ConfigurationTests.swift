import Crypto
import CryptoExtras
import Foundation
import Testing

@testable import GatehouseCore

/// A temporary directory with a secret file, a route file and a certificate-shaped pair of files.
final class ConfigFixture {
    let directory: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-config-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // Secrets and keys are private (0600), and the shared secret has the 32 bytes it needs.
        try write("  \(Self.secret)  \n", to: "secret", mode: 0o600)
        try write("", to: "empty_secret", mode: 0o600)
        try write(DefaultRoutes.text, to: "matrix.routes")
        try write("cert", to: "cert.pem")
        try write("key", to: "key.pem", mode: 0o600)
        try write(Self.encryptionHex + "\n", to: "encryption", mode: 0o600)
        try write(Self.rsaPEM, to: "signing_rsa.pem", mode: 0o600)
        try write(Self.ecPEM, to: "signing_ec.pem", mode: 0o600)
    }

    static let secret = "s3cret-value-that-is-32-bytes-long"
    static let encryptionHex = String(repeating: "0123456789abcdef", count: 4)
    /// Made once per test process: RSA key generation is slow.
    static let rsaPEM = try! _RSA.Signing.PrivateKey(keySize: .bits2048).pemRepresentation
    static let ecPEM = P256.Signing.PrivateKey().pemRepresentation


    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func write(_ text: String, to name: String, mode: Int = 0o644) throws {
        try text.write(toFile: "\(directory)/\(name)", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: "\(directory)/\(name)")
    }

    static let valid = """
        http:
          public_base: https://matrix.example.org
          listeners:
            - name: public
              binds: [{address: "0.0.0.0:8443"}, {address: "[::]:8443"}]
              tls: {certificate_file: cert.pem, key_file: key.pem}
            - name: internal
              binds: [{host: 127.0.0.1, port: 8081}]
        matrix:
          homeserver: example.org
          endpoint: http://127.0.0.1:8008
          secret_path: secret
        database: {path: gatehouse.db}
        routes: {files: [matrix.routes]}
        upstreams:
          synapse: {members: ["http://127.0.0.1:8008/"]}
        secrets:
          encryption_file: encryption
          keys:
            - {kid: rsa-1, key_file: signing_rsa.pem}
            - {kid: ec-1, key_file: signing_ec.pem}
        """

    func load(_ yaml: String) throws(ConfigurationErrors) -> GatehouseConfiguration {
        try ConfigurationLoader.parse(yaml: yaml, file: "\(directory)/gatehouse.yaml")
    }

    /// The error messages for `yaml`, or a failure when it loads.
    func errors(_ yaml: String) -> [String] {
        do {
            _ = try load(yaml)
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }
}

struct ConfigurationTests {
    @Test func validFileLoadsWithDefaults() throws {
        let fixture = try ConfigFixture()
        let config = try fixture.load(ConfigFixture.valid)
        #expect(config.http.publicBase == "https://matrix.example.org/")
        #expect(config.http.listeners.count == 2)
        #expect(config.http.listeners[0].binds == [BindAddress(host: "0.0.0.0", port: 8443), BindAddress(host: "::", port: 8443)])
        #expect(config.http.listeners[0].tls?.certificateFile == "\(fixture.directory)/cert.pem")
        #expect(config.http.listeners[0].tls?.hstsMaxAge == 31_536_000)
        #expect(config.http.listeners[1].binds == [BindAddress(host: "127.0.0.1", port: 8081)])
        #expect(config.http.listeners[1].tls == nil)
        #expect(config.matrix.secret == ConfigFixture.secret, "secret file content is trimmed")
        #expect(config.warnings.isEmpty)
        #expect(config.matrix.endpoint == "http://127.0.0.1:8008/")
        #expect(config.matrix.kind == .synapse)
        #expect(config.database.sqlitePath == "\(fixture.directory)/gatehouse.db")
        #expect(config.routes.files == ["\(fixture.directory)/matrix.routes"])
        #expect(config.routes.matchLimits == .default)
        #expect(config.upstreams["synapse"]?.members == [UpstreamMember(host: "127.0.0.1", port: 8008)])
        #expect(config.upstreams["synapse"]?.balance == .roundRobin)
        #expect(config.limits.maxBodyBytes == 50 << 20)
        #expect(config.timeouts.upstream == .seconds(60))
        #expect(config.log.access)
        #expect(config.http.trustedProxies.map(\.description) == ["127.0.0.0/8", "::1/128"])
    }

    @Test func generatedTemplateLoads() throws {
        let fixture = try ConfigFixture()
        let template = ConfigurationTemplate(
            serverName: "example.org", publicBase: "https://example.org:8443/", listen: "127.0.0.1:8443",
            internalListen: "127.0.0.1:8081", synapseURL: "http://127.0.0.1:8008/", databasePath: "gh.db",
            secretPath: "secret", certificateFile: "cert.pem", keyFile: "key.pem", routesFile: "matrix.routes")
        let config = try fixture.load(template.render())
        #expect(config.http.listeners.map(\.name) == ["public", "internal"])
        #expect(config.upstreams["synapse"]?.members == [UpstreamMember(host: "127.0.0.1", port: 8008)])
        #expect(config.matrix.homeserver == "example.org")
        #expect(config.secrets == nil, "no secrets section unless keys are given")
        var withSecrets = template
        withSecrets.encryptionFile = "encryption"
        withSecrets.signingKeys = [(kid: "rs256-a", file: "signing_rsa.pem"), (kid: "es256-b", file: "signing_ec.pem")]
        let secrets = try #require(try fixture.load(withSecrets.render()).secrets)
        #expect(secrets.keys.map(\.kid) == ["rs256-a", "es256-b"] && secrets.encryption.count == 32)
        var withoutInternal = template
        withoutInternal.internalListen = nil
        #expect(try fixture.load(withoutInternal.render()).http.listeners.count == 1)
    }

    @Test func sizesDurationsAndTuningAreRead() throws {
        let fixture = try ConfigFixture()
        let config = try fixture.load(ConfigFixture.valid + """

            limits: {max_request_target_bytes: 4KiB, max_header_bytes: 32768, max_body_bytes: 100MiB}
            timeouts: {header: 10s, body: 500ms, idle: 2m, upstream: 1h, shutdown_grace: 0}
            log: {level: debug, access: false}
            server: {threads: 2}
            """)
        #expect(config.limits.maxRequestTargetBytes == 4096)
        #expect(config.limits.maxHeaderBytes == 32768)
        #expect(config.limits.maxBodyBytes == 100 << 20)
        #expect(config.timeouts.header == .seconds(10))
        #expect(config.timeouts.body == .milliseconds(500))
        #expect(config.timeouts.idle == .seconds(120))
        #expect(config.timeouts.upstream == .seconds(3600))
        #expect(config.timeouts.shutdownGrace == .zero)
        #expect(config.log.level == .debug)
        #expect(!config.log.access)
        #expect(config.server.threads == 2)
    }

    /// Each broken file produces an error that names the key path and says how to fix it.
    @Test(arguments: [
        ("http:\n  public_base: x\n", "http.public_base: 'x' is not an http(s) URL"),
        ("", "the configuration file is empty"),
        ("http: [1", "not valid YAML"),
        ("- a\n- b\n", "expected a mapping"),
        ("log: {level: info}\nlog: {access: true}\n", "gatehouse.yaml:1: duplicated key(s) log"),
        ("http:\n  a: 'unterminated\n", "gatehouse.yaml:3: not valid YAML"),
    ])
    func wholeFileProblems(yaml: String, message: String) throws {
        let errors = try ConfigFixture().errors(yaml)
        #expect(errors.contains { $0.contains(message) }, "\(errors)")
    }

    @Test(arguments: [
        ("public_base: https://matrix.example.org", "public_base: ftp://x", "http.public_base: 'ftp://x' is not an http(s) URL. Use e.g. https://matrix.example.com/"),
        ("public_base: https://matrix.example.org", "public_bsae: https://x", "http.public_bsae: unknown key. Known keys here: listeners, public_base, trusted_proxies"),
        ("{address: \"0.0.0.0:8443\"}", "{address: \"0.0.0.0\"}", "http.listeners[0].binds[0].address: '0.0.0.0' is not host:port"),
        ("{address: \"0.0.0.0:8443\"}", "{address: \"0.0.0.0:99999\"}", "is not host:port"),
        ("{address: \"[::]:8443\"}", "{address: \"0.0.0.0:8443\"}", "http.listeners[0].binds[1].address: 0.0.0.0:8443 is already bound by http.listeners[0].binds[0].address"),
        ("key_file: key.pem", "key_file: missing.pem", "http.listeners[0].tls.key_file: cannot read"),
        ("tls: {certificate_file: cert.pem, key_file: key.pem}", "tls: {certificate_file: cert.pem}", "http.listeners[0].tls.key_file: is required"),
        ("homeserver: example.org", "homeserver_name: example.org", "matrix.homeserver_name: unknown key"),
        ("endpoint: http://127.0.0.1:8008", "endpoint: localhost:8008", "matrix.endpoint: 'localhost:8008' is not an http(s) URL"),
        ("secret_path: secret", "secret_path: secret\n  secret: inline", "matrix.secret: `secret` and `secret_path` are both set"),
        ("secret_path: secret", "kind: synapse", "matrix.secret_path: no shared secret is configured"),
        ("secret_path: secret", "secret_path: nosuchfile", "matrix.secret_path: cannot read the secret file"),
        ("secret_path: secret", "secret_path: empty_secret", "matrix.secret_path: the secret file"),
        ("secret_path: secret", "secret_path: secret\n  secret_file: secret", "matrix.secret_file: `secret_path` and its alias `secret_file` are both set"),
        ("homeserver: example.org", "homeserver: example.org\n  kind: dendrite", "matrix.kind: unsupported homeserver kind 'dendrite'"),
        ("database: {path: gatehouse.db}", "database: {}", "database.path: is required"),
        ("routes: {files: [matrix.routes]}", "routes: {files: []}", "routes.files: must list at least one route file"),
        ("routes: {files: [matrix.routes]}", "routes: {files: [matrix.routes], match_limit: 10}", "routes.match_limit: 10 is out of range"),
        ("routes: {files: [matrix.routes]}", "routes: {files: [matrix.routes], depth_limit: lots}", "routes.depth_limit: expected a whole number"),
        ("routes: {files: [matrix.routes]}", "routes: {files: [matrix.routes], jit_stack_size: 1KiB}", "routes.jit_stack_size: 1024 bytes is out of range"),
        ("routes: {files: [matrix.routes]}", "routes: {files: [matrix.routes], heap_limit: 1}", "routes.heap_limit: unknown key"),
        ("members: [\"http://127.0.0.1:8008/\"]", "members: [\"https://127.0.0.1:8008/\"]", "upstreams.synapse.members[0]: 'https://127.0.0.1:8008/' is not an upstream URL"),
        ("members: [\"http://127.0.0.1:8008/\"]", "members: [\"http://127.0.0.1:8008/path\"]", "is not an upstream URL"),
        ("members: [\"http://127.0.0.1:8008/\"]", "members: []", "upstreams.synapse.members: must list at least one server"),
        ("members: [\"http://127.0.0.1:8008/\"]", "members: [\"http://a:1\"], balance: random", "upstreams.synapse.balance: unknown balance 'random'. Use one of round_robin, least_connections"),
        ("members: [\"http://127.0.0.1:8008/\"]", "members: [\"http://a:1\"], connect_timeout: soon", "upstreams.synapse.connect_timeout: 'soon' is not a duration"),
    ])
    func validationErrorsNameTheKeyAndTheFix(original: String, replacement: String, message: String) throws {
        let yaml = ConfigFixture.valid.replacingOccurrences(of: original, with: replacement)
        #expect(yaml != ConfigFixture.valid, "fixture edit did not apply")
        let errors = try ConfigFixture().errors(yaml)
        #expect(errors.contains { $0.contains(message) }, "\(errors)")
    }

    @Test(arguments: [
        ("limits: {max_body_bytes: huge}", "limits.max_body_bytes: 'huge' is not a size"),
        ("limits: {max_header_bytes: 10}", "limits.max_header_bytes: 10 bytes is out of range"),
        ("timeouts: {idle: forever}", "timeouts.idle: 'forever' is not a duration"),
        ("timeouts: {idle: 2d}", "timeouts.idle: '2d' is not a duration"),
        ("log: {level: loud}", "log.level: unknown level 'loud'"),
        ("log: {access: maybe}", "log.access: expected true or false"),
        ("server: {threads: 1000}", "server.threads: 1000 is out of range"),
        ("experimental: {compat_token_ttl: 5}", "experimental.compat_token_ttl: 5 is out of range"),
        ("experimental: {access_token_ttl: 90000}", "experimental.access_token_ttl: 90000 is out of range"),
        ("experimental: {refresh_token_ttl: 300}", "experimental.refresh_token_ttl: unknown key"),
        ("rate_limiting: {device_authorization: {burst: 0}}", "rate_limiting.device_authorization.burst: 0 is out of range"),
        ("proxy: {}", "proxy: unknown key"),
    ])
    func optionalSectionErrors(extra: String, message: String) throws {
        let errors = try ConfigFixture().errors(ConfigFixture.valid + "\n" + extra + "\n")
        #expect(errors.contains { $0.contains(message) }, "\(errors)")
    }

    @Test func metricsAreOffUnlessAnAddressIsGivenAndANonLoopbackOneIsWarnedAbout() throws {
        let fixture = try ConfigFixture()
        #expect(try fixture.load(ConfigFixture.valid).metrics.address == nil)
        let loopback = try fixture.load(ConfigFixture.valid + "\nmetrics: {address: \"127.0.0.1:9109\"}\nserver: {pid_file: run/gatehouse.pid}\n")
        #expect(loopback.metrics.address == BindAddress(host: "127.0.0.1", port: 9109))
        #expect(!loopback.warnings.contains { $0.keyPath == "metrics.address" })
        #expect(loopback.server.pidFile == "\(fixture.directory)/run/gatehouse.pid")
        let open = try fixture.load(ConfigFixture.valid + "\nmetrics: {address: \"0.0.0.0:9109\"}\n")
        #expect(open.warnings.contains { $0.keyPath == "metrics.address" && $0.description.contains("no authentication") })
        #expect(fixture.errors(ConfigFixture.valid + "\nmetrics: {address: nine}\n").contains { $0.contains("metrics.address: 'nine' is not host:port") })
    }

    @Test func routeMatchLimitsAreConfigurable() throws {
        let fixture = try ConfigFixture()
        let yaml = ConfigFixture.valid.replacingOccurrences(
            of: "routes: {files: [matrix.routes]}", with: "routes: {files: [matrix.routes], match_limit: 5000, depth_limit: 300, jit_stack_size: 64KiB}")
        let config = try fixture.load(yaml)
        #expect(config.routes.matchLimits == MatchLimits(matchLimit: 5000, depthLimit: 300, jitStackBytes: 64 << 10))
    }

    @Test func missingSectionsAreAllReportedAtOnce() throws {
        let errors = try ConfigFixture().errors("log: {level: info}\n")
        #expect(errors.contains { $0.contains(" http: is required") })
        #expect(errors.contains { $0.contains(" matrix: is required") })
        #expect(errors.contains { $0.contains(" database: is required") })
        #expect(errors.contains { $0.contains(" routes: is required") })
    }

    @Test func errorsCarryTheLine() throws {
        let errors = try ConfigFixture().errors(ConfigFixture.valid.replacingOccurrences(of: "public_base: https://matrix.example.org", with: "public_base: nope"))
        #expect(errors.first?.contains("gatehouse.yaml:2: http.public_base") == true, "\(errors)")
    }

    @Test func bundleReportsRouteErrorsWithFileAndLine() throws {
        let fixture = try ConfigFixture()
        try fixture.write("GET ^/x$ proxy nowhere\n", to: "matrix.routes")
        try fixture.write(ConfigFixture.valid, to: "gatehouse.yaml")
        do {
            _ = try ConfigurationBundle.load(path: "\(fixture.directory)/gatehouse.yaml")
            Issue.record("bad route file accepted")
        } catch {
            #expect(error.description.contains("matrix.routes:1: unknown upstream 'nowhere'"), "\(error)")
        }
    }

    @Test(arguments: [("1024", 1024), ("64KiB", 65536), ("50M", 52_428_800), ("1GiB", 1 << 30), ("0", 0)])
    func byteSizes(text: String, value: Int) {
        #expect(ByteSize.parse(text) == value)
    }

    @Test func badSizesAndDurations() {
        #expect(ByteSize.parse("") == nil)
        #expect(ByteSize.parse("-1") == nil)
        #expect(ByteSize.parse("1TB") == nil)
        #expect(ByteSize.parse("99999999999999G") == nil)
        #expect(DurationText.parse("30") == .seconds(30))
        #expect(DurationText.parse("250ms") == .milliseconds(250))
        #expect(DurationText.parse("1h") == .seconds(3600))
        #expect(DurationText.parse("1.5s") == nil)
    }

    @Test func addressesAndNetworks() {
        #expect(BindAddress.parse(":8443") == BindAddress(host: "::", port: 8443))
        #expect(BindAddress.parse("[::1]:80") == BindAddress(host: "::1", port: 80))
        #expect(BindAddress.parse("::1:80") == nil)
        #expect(UpstreamMember.parse("http://synapse") == UpstreamMember(host: "synapse", port: 80))
        #expect(UpstreamMember.parse("http://[::1]:8008") == UpstreamMember(host: "::1", port: 8008))
        #expect(UpstreamMember.parse("http://user@host:1") == nil)
        let network = IPNetwork.parse("10.0.0.0/8")!
        #expect(network.contains([10, 1, 2, 3]))
        #expect(!network.contains([11, 0, 0, 1]))
        #expect(IPNetwork.parse("127.0.0.1/8")!.contains([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 127, 0, 0, 1]), "v4-mapped v6")
        #expect(IPNetwork.parse("::1/128")!.contains(IPNetwork.parseAddress("::1")!))
        #expect(IPNetwork.parse("10.0.0.0/33") == nil)
        #expect(IPNetwork.parse("nonsense") == nil)
    }

    @Test func matrixErrorJSON() {
        #expect(MatrixError(status: 404, code: .unrecognized, message: "Unrecognized request").json
            == #"{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}"#)
        #expect(MatrixError(status: 429, code: .limitExceeded, message: "slow \"down\"\n", retryAfterMilliseconds: 1500).json
            == #"{"errcode":"M_LIMIT_EXCEEDED","error":"slow \"down\"\n","retry_after_ms":1500}"#)
        #expect(MatrixError.denied(status: 403).code == .forbidden)
        #expect(MatrixError.denied(status: 404).json == #"{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}"#)
    }

    @Test func passwordsSectionIsReadAndValidated() throws {
        let fixture = try ConfigFixture()
        #expect(try fixture.load(ConfigFixture.valid).passwords == .default, "defaults when the section is absent")
        #expect(PasswordsConfiguration.default.schemes == [PasswordSchemeConfiguration(version: 1, algorithm: .argon2id)])

        try fixture.write("  pepper-from-file \n", to: "pepper", mode: 0o600)
        let config = try fixture.load(ConfigFixture.valid + """

            passwords:
              enabled: false
              schemes:
                - {version: 1, algorithm: bcrypt, unicode_normalization: true, secret: " inline-pepper "}
                - {version: 2, algorithm: bcrypt, cost: 10}
                - version: 3
                  secret_file: pepper
            """)
        #expect(!config.passwords.enabled)
        #expect(config.passwords.schemes == [
            PasswordSchemeConfiguration(version: 1, algorithm: .bcrypt, cost: 12, pepper: "inline-pepper", unicodeNormalization: true),
            PasswordSchemeConfiguration(version: 2, algorithm: .bcrypt, cost: 10),
            PasswordSchemeConfiguration(version: 3, algorithm: .argon2id, pepper: "pepper-from-file"),
        ])
        #expect(config.passwords.newestScheme?.version == 3)
        let onlyEnabled = try fixture.load(ConfigFixture.valid + "\npasswords: {enabled: true}\n")
        #expect(onlyEnabled.passwords == .default)

        let problems: [(String, String)] = [
            ("passwords: {schemes: []}", "passwords.schemes: must list at least one scheme"),
            ("passwords: {schemes: [{algorithm: argon2id}]}", "passwords.schemes[0].version: is required"),
            ("passwords: {schemes: [{version: 0}]}", "passwords.schemes[0].version: 0 is out of range"),
            ("passwords: {schemes: [{version: 70000}]}", "passwords.schemes[0].version: 70000 is out of range"),
            ("passwords: {schemes: [{version: 1}, {version: 1, algorithm: bcrypt}]}",
             "passwords.schemes[1].version: version 1 is already used by passwords.schemes[0]"),
            ("passwords: {schemes: [{version: 1, algorithm: pbkdf2}]}",
             "passwords.schemes[0].algorithm: unknown algorithm 'pbkdf2'. Use one of argon2id, bcrypt"),
            ("passwords: {schemes: [{version: 1, algorithm: bcrypt, cost: 3}]}", "passwords.schemes[0].cost: 3 is out of range"),
            ("passwords: {schemes: [{version: 1, algorithm: bcrypt, cost: 32}]}", "passwords.schemes[0].cost: 32 is out of range"),
            ("passwords: {schemes: [{version: 1, cost: 12}]}", "passwords.schemes[0].cost: `cost` only applies to bcrypt"),
            ("passwords: {schemes: [{version: 1, secret: a, secret_file: pepper}]}",
             "passwords.schemes[0].secret: `secret` and `secret_file` are both set"),
            ("passwords: {schemes: [{version: 1, secret_file: nosuchfile}]}", "passwords.schemes[0].secret_file: cannot read the pepper file"),
            ("passwords: {schemes: [{version: 1, secret_file: empty_secret}]}", "passwords.schemes[0].secret_file: the pepper file"),
            ("passwords: {schemes: [{version: 1, secret: \"  \"}]}", "passwords.schemes[0].secret: must not be empty"),
            ("passwords: {schemes: [{version: 1, unicode_normalization: sometimes}]}",
             "passwords.schemes[0].unicode_normalization: expected true or false"),
            ("passwords: {schemes: [{version: 1, minimum_complexity: 3}]}", "passwords.schemes[0].minimum_complexity: unknown key"),
            ("passwords: {enabled: maybe}", "passwords.enabled: expected true or false"),
            ("passwords: {minimum_complexity: 3}", "passwords.minimum_complexity: unknown key"),
            ("passwords: [argon2id]", "passwords: expected a mapping"),
        ]
        for (extra, message) in problems {
            let errors = fixture.errors(ConfigFixture.valid + "\n" + extra + "\n")
            #expect(errors.contains { $0.contains(message) }, "\(extra): \(errors)")
        }
        let both = fixture.errors(ConfigFixture.valid + "\npasswords: {schemes: [{version: 1, algorithm: md5}, {version: 2, cost: 4}]}\n")
        #expect(both.count == 2, "every scheme is checked: \(both)")
    }

    @Test func rateLimitingSectionIsReadWithMASDefaults() throws {
        let fixture = try ConfigFixture()
        let defaults = try fixture.load(ConfigFixture.valid).rateLimiting
        #expect(defaults == .default, "defaults when the section is absent")
        #expect(defaults.login.perIP == RateLimitConfiguration(burst: 3, perSecond: 0.05))
        #expect(defaults.login.perAccount == RateLimitConfiguration(burst: 1800, perSecond: 0.5))

        let config = try fixture.load(ConfigFixture.valid + """

            rate_limiting:
              login:
                per_ip: {burst: 5, per_second: 0.1}
                per_account: {per_second: 2.5e-1}
            """)
        #expect(config.rateLimiting.login.perIP == RateLimitConfiguration(burst: 5, perSecond: 0.1))
        #expect(config.rateLimiting.login.perAccount == RateLimitConfiguration(burst: 1800, perSecond: 0.25),
            "a key left out keeps its default")
        let whole = try fixture.load(ConfigFixture.valid + "\nrate_limiting: {login: {per_ip: {burst: 1000000, per_second: 1000000}}}\n")
        #expect(whole.rateLimiting.login.perIP == RateLimitConfiguration(burst: 1_000_000, perSecond: 1_000_000))
        let integerRate = try fixture.load(ConfigFixture.valid + "\nrate_limiting: {login: {per_ip: {per_second: 2}}}\n")
        #expect(integerRate.rateLimiting.login.perIP.perSecond == 2)
        #expect(try fixture.load(ConfigFixture.valid + "\nrate_limiting: {}\n").rateLimiting == .default)
        #expect(try fixture.load(ConfigFixture.valid + "\nrate_limiting: {login: {per_ip: ~}}\n").rateLimiting == .default)
    }

    @Test func rateLimitingErrorsNameTheKeyAndTheFix() throws {
        let fixture = try ConfigFixture()
        let problems: [(String, String)] = [
            ("rate_limiting: {login: {per_ip: {burst: 0}}}",
             "rate_limiting.login.per_ip.burst: 0 is out of range. Use a value between 1 and 1000000"),
            ("rate_limiting: {login: {per_ip: {burst: 1000001}}}", "rate_limiting.login.per_ip.burst: 1000001 is out of range"),
            ("rate_limiting: {login: {per_ip: {burst: 2.5}}}", "rate_limiting.login.per_ip.burst: expected a whole number"),
            ("rate_limiting: {login: {per_account: {per_second: 0}}}",
             "rate_limiting.login.per_account.per_second: must be more than 0. Give the refill rate in requests per second"),
            ("rate_limiting: {login: {per_account: {per_second: -1}}}",
             "rate_limiting.login.per_account.per_second: -1 is out of range. Use a value between 0 and 1000000"),
            ("rate_limiting: {login: {per_account: {per_second: 1000001}}}",
             "rate_limiting.login.per_account.per_second: 1000001 is out of range"),
            ("rate_limiting: {login: {per_ip: {per_second: fast}}}",
             "rate_limiting.login.per_ip.per_second: 'fast' is not a number. Write a decimal number such as 0.05"),
            ("rate_limiting: {login: {per_ip: {per_second: 3/60}}}", "rate_limiting.login.per_ip.per_second: '3/60' is not a number"),
            ("rate_limiting: {login: {per_ip: {per_second: .inf}}}", "rate_limiting.login.per_ip.per_second: '.inf' is not a number"),
            ("rate_limiting: {login: {per_ip: {per_second: .nan}}}", "rate_limiting.login.per_ip.per_second: '.nan' is not a number"),
            ("rate_limiting: {login: {per_ip: {per_second: \"0.05\"}}}", "rate_limiting.login.per_ip.per_second: expected a number"),
            ("rate_limiting: {login: {per_ip: {per_second: [1]}}}", "rate_limiting.login.per_ip.per_second: expected a number"),
            ("rate_limiting: {login: {per_ip: {rate: 1}}}",
             "rate_limiting.login.per_ip.rate: unknown key. Known keys here: burst, per_second"),
            ("rate_limiting: {login: {per_user: {burst: 1}}}",
             "rate_limiting.login.per_user: unknown key. Known keys here: per_account, per_ip"),
            ("rate_limiting: {account_recovery: {per_ip: {burst: 1, per_second: 1}}}",
             "rate_limiting.account_recovery: unknown key. Known keys here: client_registration, device_authorization, login, registration"),
            ("rate_limiting: {login: [1]}", "rate_limiting.login: expected a mapping"),
        ]
        for (extra, message) in problems {
            let errors = fixture.errors(ConfigFixture.valid + "\n" + extra + "\n")
            #expect(errors.contains { $0.contains(message) }, "\(extra): \(errors)")
        }
        let all = fixture.errors(ConfigFixture.valid + """

            rate_limiting:
              login:
                per_ip: {burst: 0, per_second: 0}
                per_account: {burst: -1}
            """)
        #expect(all.count == 3, "every limiter and key is checked: \(all)")
        #expect(all.first?.contains("gatehouse.yaml:") == true, "errors carry the line: \(all)")
    }
}

// MARK: - Secrets and private files (issue 7, item 14)

struct ConfigurationSecretsTests {
    /// The matrix section with a given secret line, the rest of `ConfigFixture.valid` unchanged.
    private static func valid(replacing old: String, with new: String) -> String {
        ConfigFixture.valid.replacingOccurrences(of: old, with: new)
    }

    @Test func sharedSecretNeedsThirtyTwoBytes() throws {
        let fixture = try ConfigFixture()
        try fixture.write("short-secret\n", to: "short", mode: 0o600)
        try fixture.write(String(repeating: "x", count: 31) + "\n", to: "thirtyone", mode: 0o600)
        try fixture.write(String(repeating: "x", count: 32) + "\n", to: "thirtytwo", mode: 0o600)
        let fileErrors = fixture.errors(Self.valid(replacing: "secret_path: secret", with: "secret_path: short"))
        #expect(fileErrors.count == 1)
        #expect(fileErrors.first?.contains("matrix.secret_path: the shared secret in the secret file \(fixture.directory)/short is 12 bytes; at least 32 are needed") == true, "\(fileErrors)")
        #expect(fileErrors.first?.contains("openssl rand -hex 32") == true)
        #expect(fixture.errors(Self.valid(replacing: "secret_path: secret", with: "secret_file: thirtyone")).first?.contains("matrix.secret_file: the shared secret") == true)
        #expect(try fixture.load(Self.valid(replacing: "secret_path: secret", with: "secret_path: thirtytwo")).matrix.secret.utf8.count == 32)
        let inline = fixture.errors(Self.valid(replacing: "secret_path: secret", with: "secret: \"  tiny  \""))
        #expect(inline.first?.contains("matrix.secret: the shared secret in `secret` is 4 bytes; at least 32 are needed") == true, "\(inline)")
    }

    @Test(arguments: [0o644, 0o640, 0o604, 0o660, 0o666, 0o620])
    func secretFilesAndKeysOthersCanReadAreRefused(mode: Int) throws {
        let fixture = try ConfigFixture()
        let octal = "0" + String(mode, radix: 8)
        try fixture.write(ConfigFixture.secret, to: "open_secret", mode: mode)
        let secret = fixture.errors(Self.valid(replacing: "secret_path: secret", with: "secret_path: open_secret"))
        #expect(secret.count == 1)
        #expect(
            secret.first?.hasSuffix(
                "matrix.secret_path: the shared-secret file \(fixture.directory)/open_secret can be read by other accounts (mode \(octal)). "
                    + "Run `chmod 600 \(fixture.directory)/open_secret` and make it owned by the user Gatehouse runs as") == true, "\(secret)")
        #expect(secret.first?.contains("matrix.secret_path:") == true && secret.first?.contains("(mode \(octal))") == true)
        #expect(secret.first?.contains("chmod 600 \(fixture.directory)/open_secret") == true)

        try fixture.write("key", to: "open_key.pem", mode: mode)
        let key = fixture.errors(Self.valid(replacing: "key_file: key.pem", with: "key_file: open_key.pem"))
        #expect(key.count == 1)
        #expect(key.first?.contains("http.listeners[0].tls.key_file: the TLS private key \(fixture.directory)/open_key.pem") == true, "\(key)")
        #expect(key.first?.contains("(mode \(octal))") == true && key.first?.contains("chmod 600 \(fixture.directory)/open_key.pem") == true)

        try fixture.write("pepper", to: "open_pepper", mode: mode)
        let pepper = fixture.errors(ConfigFixture.valid + "\npasswords: {schemes: [{version: 1, secret_file: open_pepper}]}\n")
        #expect(pepper.first?.contains("passwords.schemes[0].secret_file: the pepper file") == true, "\(pepper)")
        #expect(pepper.first?.contains("chmod 600") == true)
    }

    @Test func privateFilesAreAccepted() throws {
        let fixture = try ConfigFixture()
        for mode in [0o600, 0o400] {
            try fixture.write(ConfigFixture.secret, to: "private_secret", mode: mode)
            try fixture.write("key", to: "private_key.pem", mode: mode)
            let config = try fixture.load(
                Self.valid(replacing: "secret_path: secret", with: "secret_path: private_secret")
                    .replacingOccurrences(of: "key_file: key.pem", with: "key_file: private_key.pem"))
            #expect(config.warnings.isEmpty)
        }
    }

    @Test func databaseOthersCanReadIsAWarning() throws {
        let fixture = try ConfigFixture()
        try fixture.write("", to: "gatehouse.db", mode: 0o644)
        let config = try fixture.load(ConfigFixture.valid)
        #expect(config.warnings.count == 1)
        #expect(config.warnings.first?.description.hasSuffix(
            "database.path: the database \(fixture.directory)/gatehouse.db can be read by other accounts (mode 0644); it holds password hashes "
                + "and sessions. Run `chmod 600 \(fixture.directory)/gatehouse.db \(fixture.directory)/gatehouse.db-wal "
                + "\(fixture.directory)/gatehouse.db-shm` (as the user Gatehouse runs as)") == true, "\(config.warnings)")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: "\(fixture.directory)/gatehouse.db")
        #expect(try fixture.load(ConfigFixture.valid).warnings.isEmpty)
    }

    @Test func inlineSecretInAReadableConfigurationIsAWarning() throws {
        let fixture = try ConfigFixture()
        let yaml = Self.valid(replacing: "secret_path: secret", with: "secret: \(ConfigFixture.secret)")
        try fixture.write(yaml, to: "gatehouse.yaml", mode: 0o644)
        let warnings = try ConfigurationLoader.load(path: "\(fixture.directory)/gatehouse.yaml").warnings.map(\.description)
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("matrix.secret: this secret is written in \(fixture.directory)/gatehouse.yaml") == true, "\(warnings)")
        #expect(warnings.first?.contains("`secret_path`") == true && warnings.first?.contains("chmod 600") == true)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: "\(fixture.directory)/gatehouse.yaml")
        #expect(try ConfigurationLoader.load(path: "\(fixture.directory)/gatehouse.yaml").warnings.isEmpty)
    }
}

/// `examples/workers.routes` carries the configuration it needs in its header; loaded as written, it
/// is what `gatehouse config check` accepts.
struct WorkersExampleTests {
    @Test func theWorkersExampleLoadsWithAStickySyncPool() throws {
        let example = try String(
            contentsOf: RouteTableTests.repositoryRoot.appendingPathComponent("examples/workers.routes"), encoding: .utf8)
        let lines = example.split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex(of: "# --- configuration ---"))
        let end = try #require(lines.firstIndex(of: "# --- end ---"))
        let snippet = lines[(start + 1)..<end].map { $0.dropFirst(2) }.joined(separator: "\n")
        let fixture = try ConfigFixture()
        try fixture.write(example, to: "workers.routes")
        // The fixture's configuration, with its routes and upstreams replaced by the example's.
        let base = ConfigFixture.valid
            .replacingOccurrences(of: "routes: {files: [matrix.routes]}\n", with: "")
            .replacingOccurrences(of: "upstreams:\n  synapse: {members: [\"http://127.0.0.1:8008/\"]}\n", with: "")
        #expect(!base.contains("upstreams:") && !base.contains("routes:"))
        try fixture.write(base + "\n" + snippet + "\n", to: "gatehouse.yaml")
        let bundle = try ConfigurationBundle.load(path: "\(fixture.directory)/gatehouse.yaml")
        #expect(bundle.configuration.upstreams["sync_workers"]?.balance == .stickyUser)
        #expect(bundle.configuration.upstreams["sync_workers"]?.members.count == 3)
        #expect(bundle.configuration.upstreams["federation_workers"]?.balance == .roundRobin)
        let sync = bundle.routes.match(method: "GET", path: "/_matrix/client/v3/sync", scratch: MatchScratch())
        guard case .matched(let route) = sync else {
            Issue.record("/sync must be routed")
            return
        }
        #expect(route.rule.action == .proxy("sync_workers"))
    }
}
