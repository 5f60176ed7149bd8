import Foundation
import GatehouseCore
import Synchronization
import Testing

@testable import GatehouseOperator

/// The order of `doctor`'s checks, what it sends where, and which checks it skips when a link is down,
/// with canned answers in place of the network.
struct DoctorTests {
    /// Answers by URL; records every request.
    final class CannedProbe: HTTPProbing {
        let answers: [String: Result<ProbeResponse, ProbeFailure>]
        let seen = Mutex<[(url: String, headers: [(String, String)])]>([])

        init(_ answers: [String: Result<ProbeResponse, ProbeFailure>]) {
            self.answers = answers
        }

        func get(_ url: String, headers: [(String, String)]) async -> Result<ProbeResponse, ProbeFailure> {
            seen.withLock { $0.append((url: url, headers: headers)) }
            return answers[url] ?? .failure(ProbeFailure("connection refused"))
        }
    }

    struct CannedTLS: TLSInspecting {
        let result: Result<TLSInspection, ProbeFailure>
        func inspect(host: String, port: Int) async -> Result<TLSInspection, ProbeFailure> { result }
    }

    struct CountingRandom: RandomSource {
        func bytes(_ count: Int) -> [UInt8] { (0..<count).map { UInt8($0 % 256) } }
    }

    static let target = DoctorTarget(publicBase: "https://matrix.example.org/", synapseEndpoint: "http://127.0.0.1:8008/", secret: "the-shared-secret")
    static let clock = ManualClock()
    static let goodTLS = CannedTLS(
        result: .success(
            TLSInspection(
                certificate: CertificateSummary(
                    dnsNames: ["matrix.example.org"], ipAddresses: [], notValidBefore: clock.now().addingTimeInterval(-86400),
                    notValidAfter: clock.now().addingTimeInterval(90 * 86400), selfSigned: false, issuer: "CN=R11"),
                trustFailure: nil)))

    static func json(_ status: Int, _ body: String, server: String? = nil) -> Result<ProbeResponse, ProbeFailure> {
        .success(ProbeResponse(status: status, headers: server.map { [(name: "Server", value: $0)] } ?? [], body: Array(body.utf8)))
    }

    static let healthy: [String: Result<ProbeResponse, ProbeFailure>] = [
        "http://127.0.0.1:8008/_synapse/admin/v1/server_version": json(200, #"{"server_version":"1.163.2"}"#),
        "http://127.0.0.1:8008/_synapse/mas/query_user": json(400, #"{"errcode":"M_MISSING_PARAM"}"#),
        "https://matrix.example.org/_matrix/client/v3/account/whoami": json(401, #"{"errcode":"M_UNKNOWN_TOKEN"}"#, server: "Synapse/1.163.2"),
        "https://matrix.example.org/_matrix/client/v3/login": json(200, #"{"flows":[{"type":"m.login.password"}]}"#),
        "http://127.0.0.1:8008/_matrix/client/v1/auth_metadata": json(200, #"{"issuer":"https://matrix.example.org/"}"#),
    ]

    @Test func aHealthySetupPassesEveryCheckAndSendsTheSecretOnlyToSynapse() async {
        let probe = CannedProbe(Self.healthy)
        let checks = await Doctor(probe: probe, tls: Self.goodTLS, clock: Self.clock, random: CountingRandom()).run(Self.target)
        #expect(checks.map(\.name) == ["issuer_https", "public_tls", "synapse_version", "synapse_secret", "introspection", "login_route", "issuer_match"])
        #expect(checks.allSatisfy { $0.status == .ok }, "\(checks)")
        let requests = probe.seen.withLock { $0 }
        let withSecret = requests.filter { request in request.headers.contains { $0.1 == "Bearer the-shared-secret" } }.map(\.url)
        #expect(withSecret == ["http://127.0.0.1:8008/_synapse/mas/query_user"])
        let whoamiAuthorization = requests.first { $0.url.hasSuffix("/whoami") }?.headers.first?.1 ?? ""
        #expect(whoamiAuthorization.hasPrefix("Bearer gatehouse_doctor_"), "a token not in Gatehouse's format")
    }

    @Test func synapseDownSkipsWhatNeedsSynapse() async {
        var answers = Self.healthy
        answers["http://127.0.0.1:8008/_synapse/admin/v1/server_version"] = .failure(ProbeFailure("connection refused"))
        let checks = await Doctor(probe: CannedProbe(answers), tls: Self.goodTLS, clock: Self.clock, random: CountingRandom()).run(Self.target)
        let status = Dictionary(uniqueKeysWithValues: checks.map { ($0.name, $0.status) })
        #expect(status["synapse_version"] == .fail)
        #expect(status["synapse_secret"] == .skip && status["issuer_match"] == .skip)
        #expect(status["introspection"] == .ok && status["login_route"] == .ok)
        #expect(!DoctorReport(checks: checks).passed)
    }

    @Test func noTLSSkipsWhatNeedsThePublicURL() async {
        let tls = CannedTLS(result: .failure(ProbeFailure("connection refused")))
        let probe = CannedProbe(Self.healthy)
        let checks = await Doctor(probe: probe, tls: tls, clock: Self.clock, random: CountingRandom()).run(Self.target)
        let status = Dictionary(uniqueKeysWithValues: checks.map { ($0.name, $0.status) })
        #expect(status["public_tls"] == .fail)
        #expect(status["introspection"] == .skip && status["login_route"] == .skip)
        let urls = probe.seen.withLock { $0.map(\.url) }
        #expect(!urls.contains { $0.hasPrefix("https://") })
    }

    @Test func aPlainHTTPPublicBaseFailsTheIssuerCheckAndSkipsTLS() async {
        let target = DoctorTarget(publicBase: "http://127.0.0.1:8080/", synapseEndpoint: "http://127.0.0.1:8008", secret: "s")
        let checks = await Doctor(probe: CannedProbe([:]), tls: Self.goodTLS, clock: Self.clock, random: CountingRandom()).run(target)
        #expect(checks.first?.status == .fail)
        #expect(!checks.contains { $0.name == "public_tls" })
        #expect(Doctor.join("http://127.0.0.1:8008", "/x") == "http://127.0.0.1:8008/x")
        #expect(Doctor.join("http://h/prefix//", "/x") == "http://h/prefix/x")
    }
}
