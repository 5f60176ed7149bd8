import Foundation
import Testing

@testable import GatehouseOperator

/// Each `doctor` check turns what Synapse or Gatehouse answered into the right verdict and names
/// the fault; the answers are the ones Synapse 1.163 gives (the Synapse ⇄ MAS contract).
struct DoctorVerdictsTests {
    static func json(_ status: Int, _ body: String, server: String? = nil) -> Result<ProbeResponse, ProbeFailure> {
        .success(ProbeResponse(status: status, headers: server.map { [(name: "Server", value: $0)] } ?? [], body: Array(body.utf8)))
    }

    @Test func sharedSecretProbeTellsRightWrongAndOff() {
        let right = DoctorVerdicts.sharedSecret(answer: Self.json(400, #"{"errcode":"M_MISSING_PARAM","error":"Missing string query argument localpart"}"#))
        #expect(right.status == .ok)
        let wrong = DoctorVerdicts.sharedSecret(answer: Self.json(403, #"{"errcode":"M_UNKNOWN","error":"This endpoint must only be called by MAS"}"#))
        #expect(wrong.status == .fail && wrong.detail.hasPrefix("wrong secret"))
        #expect(wrong.fix?.contains("matrix_authentication_service.secret") == true)
        let off = DoctorVerdicts.sharedSecret(answer: Self.json(404, "<html>No Such Resource</html>"))
        #expect(off.status == .fail && off.detail.contains("integration is off"))
        #expect(off.fix?.contains("migrate-config") == true)
    }

    @Test func synapseVersionFromTheAdminEndpointOrTheServerHeader() {
        #expect(DoctorVerdicts.synapseVersion(endpoint: "http://s/", answer: Self.json(200, #"{"server_version":"1.163.2"}"#)).status == .ok)
        let old = DoctorVerdicts.synapseVersion(endpoint: "http://s/", answer: Self.json(200, #"{"server_version":"1.135.9"}"#))
        #expect(old.status == .fail && old.detail.contains("older than 1.136"))
        #expect(DoctorVerdicts.synapseVersion(endpoint: "http://s/", answer: Self.json(404, "", server: "Synapse/1.140.0")).status == .ok)
        let down = DoctorVerdicts.synapseVersion(endpoint: "http://127.0.0.1:9/", answer: .failure(ProbeFailure("connection refused")))
        #expect(down.status == .fail && down.detail == "Synapse does not answer at http://127.0.0.1:9/: connection refused")
        let notSynapse = DoctorVerdicts.synapseVersion(endpoint: "http://g/", answer: Self.json(404, #"{"errcode":"M_UNRECOGNIZED"}"#))
        #expect(notSynapse.status == .fail && notSynapse.detail.contains("does not say it is Synapse"))
        #expect(DoctorVerdicts.parseVersion("1.163.2 (b=main,abc)") == [1, 163, 2])
        #expect(DoctorVerdicts.parseVersion("1.136") == [1, 136, 0])
    }

    @Test func introspectionReachabilityIs401Not503() {
        let ok = DoctorVerdicts.introspection(answer: Self.json(401, #"{"errcode":"M_UNKNOWN_TOKEN","error":"Token is not active"}"#))
        #expect(ok.status == .ok)
        let unreachable = DoctorVerdicts.introspection(answer: Self.json(503, #"{"errcode":"M_UNKNOWN","error":"Unable to introspect the access token"}"#))
        #expect(unreachable.status == .fail && unreachable.detail.contains("could not introspect"))
    }

    @Test func loginAnsweredBySynapseIsNamed() {
        let gatehouse = DoctorVerdicts.loginRoute(answer: Self.json(200, #"{"flows":[{"type":"m.login.password"},{"type":"m.login.token"}]}"#))
        #expect(gatehouse.status == .ok && gatehouse.detail == "answered by Gatehouse (flows: m.login.password, m.login.token)")
        let synapseDelegated = DoctorVerdicts.loginRoute(
            answer: Self.json(404, #"{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}"#, server: "Synapse/1.163.2"))
        #expect(synapseDelegated.status == .fail && synapseDelegated.detail.hasPrefix("answered by Synapse (Synapse/1.163.2"))
        let synapseOwnLogin = DoctorVerdicts.loginRoute(
            answer: Self.json(200, #"{"flows":[{"type":"m.login.password"},{"type":"m.login.application_service"}]}"#))
        #expect(synapseOwnLogin.status == .fail && synapseOwnLogin.detail.contains("Synapse's own login"))
    }

    @Test func issuerMustMatchByteForByte() {
        let expected = "https://matrix.example.org/"
        #expect(DoctorVerdicts.issuerMatch(expected: expected, answer: Self.json(200, #"{"issuer":"https://matrix.example.org/"}"#)).status == .ok)
        let slash = DoctorVerdicts.issuerMatch(expected: expected, answer: Self.json(200, #"{"issuer":"https://matrix.example.org"}"#))
        #expect(slash.status == .fail)
        #expect(slash.detail == #"issuer mismatch: Synapse advertises "https://matrix.example.org", Gatehouse's is "https://matrix.example.org/" (http.public_base)"#)
        let unfetchable = DoctorVerdicts.issuerMatch(expected: expected, answer: Self.json(500, #"{"errcode":"M_UNKNOWN","error":"Internal server error"}"#))
        #expect(unfetchable.status == .fail && unfetchable.detail.contains("could not fetch the metadata"))
        #expect(DoctorVerdicts.issuerIsHTTPS(publicBase: "http://matrix.example.org/").status == .fail)
        #expect(DoctorVerdicts.issuerIsHTTPS(publicBase: expected).status == .ok)
    }

    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func certificate(names: [String], days: Double, selfSigned: Bool) -> CertificateSummary {
        CertificateSummary(
            dnsNames: names, ipAddresses: [], notValidBefore: now.addingTimeInterval(-86400), notValidAfter: now.addingTimeInterval(days * 86400),
            selfSigned: selfSigned, issuer: "CN=Test CA")
    }

    @Test func certificateVerdicts() {
        func verdict(_ certificate: CertificateSummary, trustFailure: String? = nil) -> DoctorCheck {
            DoctorVerdicts.publicTLS(
                host: "matrix.example.org", port: 443, inspection: .success(TLSInspection(certificate: certificate, trustFailure: trustFailure)),
                now: Self.now, caFile: nil)
        }
        let good = verdict(Self.certificate(names: ["matrix.example.org"], days: 60.5, selfSigned: false))
        #expect(good.status == .ok && good.detail.contains("(in 60 days)"))
        #expect(verdict(Self.certificate(names: ["*.example.org"], days: 60, selfSigned: false)).status == .ok)
        #expect(verdict(Self.certificate(names: ["example.org"], days: 60, selfSigned: false)).status == .fail, "wrong name")
        #expect(verdict(Self.certificate(names: ["matrix.example.org"], days: 5, selfSigned: false)).status == .warn, "expires soon")
        #expect(verdict(Self.certificate(names: ["matrix.example.org"], days: -1, selfSigned: false)).status == .fail, "expired")
        let selfSigned = verdict(Self.certificate(names: ["matrix.example.org"], days: 300, selfSigned: true), trustFailure: "unable to get local issuer")
        #expect(selfSigned.status == .warn && selfSigned.detail.hasPrefix("self-signed certificate"))
        let untrusted = verdict(Self.certificate(names: ["matrix.example.org"], days: 300, selfSigned: false), trustFailure: "unable to get local issuer")
        #expect(untrusted.status == .fail && untrusted.fix?.contains("full chain") == true)
        let down = DoctorVerdicts.publicTLS(host: "h", port: 1, inspection: .failure(ProbeFailure("connection refused")), now: Self.now, caFile: nil)
        #expect(down.status == .fail && down.detail == "no TLS connection to h:1: connection refused")
    }

    @Test func wildcardsCoverOneLabelAndAddressesOnlyMatchAddresses() {
        let certificate = CertificateSummary(
            dnsNames: ["*.example.org", "localhost"], ipAddresses: ["127.0.0.1", "::1"], notValidBefore: Self.now, notValidAfter: Self.now,
            selfSigned: true, issuer: "")
        #expect(certificate.isValid(for: "matrix.example.org"))
        #expect(certificate.isValid(for: "LOCALHOST"))
        #expect(!certificate.isValid(for: "a.b.example.org"))
        #expect(!certificate.isValid(for: "example.org"))
        #expect(certificate.isValid(for: "127.0.0.1") && certificate.isValid(for: "0:0:0:0:0:0:0:1"))
        #expect(!certificate.isValid(for: "127.0.0.2"))
    }

    @Test func reportFailsOnlyOnFailures() {
        let warnOnly = DoctorReport(checks: [DoctorCheck(name: "a", title: "A", status: .warn, detail: "d"), DoctorCheck(name: "b", title: "B", status: .skip, detail: "d")])
        #expect(warnOnly.passed)
        let failed = DoctorReport(checks: [DoctorCheck(name: "a", title: "A", status: .fail, detail: "broken", fix: "mend it")])
        #expect(!failed.passed)
        #expect(failed.text().contains("[FAIL] A (a)\n       broken\n       fix: mend it"))
        let decoded = try? JSONSerialization.jsonObject(with: Data(failed.json().utf8)) as? [String: Any]
        #expect(decoded?["passed"] as? Bool == false)
        #expect((decoded?["checks"] as? [[String: Any]])?.first?["fix"] as? String == "mend it")
    }
}
