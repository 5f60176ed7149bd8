import Foundation
import GatehouseCore

/// The judgement of each `doctor` check, from what a probe saw to ok/warn/fail with the reason and
/// the fix. Pure: no I/O, so every branch is unit-tested with canned answers. What Synapse answers
/// in each case is taken from the Synapse ⇄ MAS contract (Synapse 1.163).
public enum DoctorVerdicts {
    /// The oldest Synapse with the stable `matrix_authentication_service` integration.
    public static let minimumSynapseVersion = [1, 136, 0]
    /// A certificate closer than this to its expiry is a warning.
    public static let expiryWarningDays = 14

    /// `issuer_https`: the issuer (`http.public_base`) is https, as OAuth 2.0 (RFC 8414 §2) and
    /// Matrix clients require.
    public static func issuerIsHTTPS(publicBase: String) -> DoctorCheck {
        let title = "the issuer is an https URL"
        if publicBase.lowercased().hasPrefix("https://") {
            return DoctorCheck(name: "issuer_https", title: title, status: .ok, detail: "issuer \(publicBase)")
        }
        return DoctorCheck(
            name: "issuer_https", title: title, status: .fail,
            detail: "http.public_base is \(publicBase); it is the OAuth 2.0 issuer, and clients refuse an issuer that is not https",
            fix: "Set http.public_base to the https URL clients use (e.g. https://matrix.example.org/) and serve it on a TLS listener")
    }

    /// `public_tls`: the public URL answers over TLS with a certificate that is valid for its host,
    /// trusted, and not about to expire.
    /// - Parameters:
    ///   - host: the host of `http.public_base`.
    ///   - port: its port.
    ///   - inspection: what the handshakes showed.
    ///   - now: the current time.
    ///   - caFile: the `--ca-file` that was trusted, for the texts.
    public static func publicTLS(host: String, port: Int, inspection: Result<TLSInspection, ProbeFailure>, now: Date, caFile: String?) -> DoctorCheck {
        let name = "public_tls"
        let title = "the public URL answers over TLS with a valid certificate"
        let inspected: TLSInspection
        switch inspection {
        case .failure(let failure):
            return DoctorCheck(
                name: name, title: title, status: .fail, detail: "no TLS connection to \(host):\(port): \(failure)",
                fix: "Start `gatehouse serve`, and make http.public_base name the host and port of its TLS listener (or of the load balancer in front of it)")
        case .success(let value): inspected = value
        }
        let certificate = inspected.certificate
        let days = Int((certificate.notValidAfter.timeIntervalSince(now) / 86400).rounded(.down))
        let validity = "valid for \(certificate.namesText), expires \(dateText(certificate.notValidAfter)) (in \(days) days)"
        guard certificate.isValid(for: host) else {
            return DoctorCheck(
                name: name, title: title, status: .fail, detail: "the certificate is not valid for \(host): it names \(certificate.namesText)",
                fix: "Use a certificate whose subjectAltName includes \(host) (http.listeners[].tls.certificate_file), or correct the host in http.public_base")
        }
        if now > certificate.notValidAfter {
            return DoctorCheck(
                name: name, title: title, status: .fail, detail: "the certificate expired on \(dateText(certificate.notValidAfter))",
                fix: "Renew it (e.g. `certbot renew`), install the new files named in http.listeners[].tls and restart Gatehouse")
        }
        if now < certificate.notValidBefore {
            return DoctorCheck(
                name: name, title: title, status: .fail, detail: "the certificate is not valid before \(dateText(certificate.notValidBefore))",
                fix: "Check this machine's clock, or the certificate's dates")
        }
        if let trustFailure = inspected.trustFailure {
            if certificate.selfSigned {
                return DoctorCheck(
                    name: name, title: title, status: .warn,
                    detail: "self-signed certificate, \(validity); clients will refuse it unless they were told to trust it",
                    fix: "Fine for a development setup (pass --ca-file with the certificate to trust it here); in production use one from a CA, e.g. Let's Encrypt")
            }
            return DoctorCheck(
                name: name, title: title, status: .fail,
                detail: "the certificate chain does not verify\(caFile.map { " (system roots plus \($0))" } ?? ""): \(trustFailure)",
                fix: "Put the full chain in certificate_file (leaf first, then the intermediates, e.g. certbot's fullchain.pem); for a private CA pass --ca-file")
        }
        if days < expiryWarningDays {
            return DoctorCheck(
                name: name, title: title, status: .warn, detail: validity,
                fix: "Renew it soon (e.g. `certbot renew`) and restart Gatehouse so it serves the new one")
        }
        return DoctorCheck(name: name, title: title, status: .ok, detail: "\(validity), issued by \(certificate.issuer)")
    }

    /// `synapse_version`: `matrix.endpoint` answers and is a Synapse recent enough for the
    /// `matrix_authentication_service` integration.
    /// - Parameters:
    ///   - endpoint: `matrix.endpoint`.
    ///   - answer: `GET /_synapse/admin/v1/server_version`.
    public static func synapseVersion(endpoint: String, answer: Result<ProbeResponse, ProbeFailure>) -> DoctorCheck {
        let name = "synapse_version"
        let title = "Synapse answers at matrix.endpoint, version 1.136 or later"
        let response: ProbeResponse
        switch answer {
        case .failure(let failure):
            return DoctorCheck(
                name: name, title: title, status: .fail, detail: "Synapse does not answer at \(endpoint): \(failure)",
                fix: "Start Synapse, or set matrix.endpoint to its client listener (the homeserver.yaml `listeners` entry with the `client` resource, e.g. http://127.0.0.1:8008/)")
        case .success(let value): response = value
        }
        var versionText = response.status == 200 ? response.jsonObject?["server_version"] as? String : nil
        if versionText == nil, let server = response.header("server"), server.hasPrefix("Synapse/") {
            versionText = String(server.dropFirst("Synapse/".count))
        }
        guard let versionText, let version = parseVersion(versionText) else {
            return DoctorCheck(
                name: name, title: title, status: .fail,
                detail: "\(endpoint) answers (\(response.summary)) but does not say it is Synapse",
                fix: "Set matrix.endpoint to Synapse's client listener, not to Gatehouse or another proxy")
        }
        if version.lexicographicallyPrecedes(minimumSynapseVersion) {
            return DoctorCheck(
                name: name, title: title, status: .fail, detail: "Synapse \(versionText) is older than 1.136",
                fix: "Upgrade Synapse to 1.136 or later: older versions lack the matrix_authentication_service integration Gatehouse uses")
        }
        return DoctorCheck(name: name, title: title, status: .ok, detail: "Synapse \(versionText) at \(endpoint)")
    }

    /// `synapse_secret`: Synapse's `/_synapse/mas/` API accepts the shared secret. The probe is a
    /// `query_user` without a user: Synapse answers 400 when the secret is right, 403 when it is
    /// wrong, and 404 when the integration is off (the API is then not mounted).
    public static func sharedSecret(answer: Result<ProbeResponse, ProbeFailure>) -> DoctorCheck {
        let name = "synapse_secret"
        let title = "Synapse's /_synapse/mas/ API accepts the shared secret"
        let response: ProbeResponse
        switch answer {
        case .failure(let failure):
            return DoctorCheck(name: name, title: title, status: .fail, detail: "no answer: \(failure)", fix: "See synapse_version")
        case .success(let value): response = value
        }
        switch response.status {
        case 400:
            return DoctorCheck(
                name: name, title: title, status: .ok,
                detail: "the secret is accepted (\(response.summary) for a probe that names no user, as expected)")
        case 403:
            return DoctorCheck(
                name: name, title: title, status: .fail, detail: "wrong secret: Synapse refused it (\(response.summary))",
                fix: "Give Synapse's matrix_authentication_service.secret (or secret_path) the same value as Gatehouse's matrix.secret (or secret_path), then restart Synapse")
        case 401:
            return DoctorCheck(
                name: name, title: title, status: .fail, detail: "Synapse saw no token (\(response.summary)): something between drops the Authorization header",
                fix: "Point matrix.endpoint straight at Synapse's listener")
        case 404:
            return DoctorCheck(
                name: name, title: title, status: .fail,
                detail: "the integration is off in Synapse: /_synapse/mas/ is not served (\(response.summary))",
                fix: "Add `matrix_authentication_service: {enabled: true, endpoint: <Gatehouse's internal URL>, secret_path: <the shared secret file>}` to homeserver.yaml and restart Synapse (`gatehouse synapse migrate-config` converts an experimental_features.msc3861 section); if it is there, check that matrix.endpoint is Synapse and not Gatehouse")
        default:
            return DoctorCheck(
                name: name, title: title, status: .fail, detail: "unexpected answer: \(response.summary)",
                fix: "Check Synapse's log (homeserver.log) for the request to /_synapse/mas/query_user")
        }
    }

    /// `introspection`: Synapse reaches Gatehouse to check tokens. A `whoami` with a token nobody
    /// issued, sent through the public URL, must come back 401 (Synapse asked Gatehouse, which said
    /// "inactive"); Synapse answers 503 when it cannot ask.
    public static func introspection(answer: Result<ProbeResponse, ProbeFailure>) -> DoctorCheck {
        let name = "introspection"
        let title = "Synapse reaches Gatehouse to check access tokens"
        let response: ProbeResponse
        switch answer {
        case .failure(let failure):
            return DoctorCheck(name: name, title: title, status: .fail, detail: "no answer from the public URL: \(failure)", fix: "See public_tls")
        case .success(let value): response = value
        }
        switch response.status {
        case 401:
            return DoctorCheck(
                name: name, title: title, status: .ok, detail: "an unknown token is refused (\(response.summary)) after Synapse asked Gatehouse")
        case 503:
            return DoctorCheck(
                name: name, title: title, status: .fail,
                detail: "Synapse could not introspect the token (\(response.summary)): its matrix_authentication_service.endpoint does not reach Gatehouse's /oauth2/introspect, or it uses another secret",
                fix: "Set Synapse's matrix_authentication_service.endpoint to a Gatehouse listener Synapse can reach (the internal one, e.g. http://127.0.0.1:8081/) with the same shared secret, and restart Synapse; its log says \"Unable to introspect the access token\" with the cause")
        case 502, 504:
            return DoctorCheck(
                name: name, title: title, status: .fail, detail: "Gatehouse could not forward the request to Synapse (\(response.summary))",
                fix: "Check the `synapse` upstream's members in Gatehouse's configuration and that Synapse runs")
        default:
            return DoctorCheck(
                name: name, title: title, status: .fail, detail: "unexpected answer to whoami with an unknown token: \(response.summary)",
                fix: "Check that /_matrix/ on the public URL is proxied to Synapse (routes/matrix.routes)")
        }
    }

    /// `login_route`: `/_matrix/client/v3/login` on the public URL is answered by Gatehouse, which
    /// owns the legacy login layer once Synapse delegates. Synapse marks its answers with a
    /// `Server: Synapse/…` header (Gatehouse's own answers have none, and it passes Synapse's on), and
    /// Synapse's login flows always include `m.login.application_service`, Gatehouse's never do.
    public static func loginRoute(answer: Result<ProbeResponse, ProbeFailure>) -> DoctorCheck {
        let name = "login_route"
        let title = "/_matrix/client/v3/login is answered by Gatehouse"
        let response: ProbeResponse
        switch answer {
        case .failure(let failure):
            return DoctorCheck(name: name, title: title, status: .fail, detail: "no answer from the public URL: \(failure)", fix: "See public_tls")
        case .success(let value): response = value
        }
        let flows = (response.jsonObject?["flows"] as? [[String: Any]])?.compactMap { $0["type"] as? String } ?? []
        let fix =
            "Route `^/_matrix/client/(api/v1|r0|v3|unstable)/login/?$` (and logout, refresh) to `local matrix-compat` before any `proxy` rule, as routes/matrix.routes does; `gatehouse routes test -c FILE /_matrix/client/v3/login` shows the rule that wins"
        if let server = response.header("server"), server.lowercased().hasPrefix("synapse") {
            return DoctorCheck(
                name: name, title: title, status: .fail, detail: "answered by Synapse (\(server), \(response.summary)): the login route sends it to Synapse", fix: fix)
        }
        if flows.contains("m.login.application_service") {
            return DoctorCheck(
                name: name, title: title, status: .fail, detail: "answered by Synapse's own login (flows: \(flows.joined(separator: ", ")))", fix: fix)
        }
        guard response.status == 200, !flows.isEmpty else {
            return DoctorCheck(
                name: name, title: title, status: .fail, detail: "no login flows: \(response.summary)", fix: fix)
        }
        return DoctorCheck(name: name, title: title, status: .ok, detail: "answered by Gatehouse (flows: \(flows.joined(separator: ", ")))")
    }

    /// `issuer_match`: the issuer Synapse advertises in `auth_metadata` (fetched from its
    /// `matrix_authentication_service.endpoint`) is Gatehouse's, byte for byte. Clients compare it
    /// with the `iss` of what they receive, so any difference breaks every login.
    /// - Parameters:
    ///   - expected: Gatehouse's issuer (`http.public_base`).
    ///   - answer: `GET {matrix.endpoint}/_matrix/client/v1/auth_metadata`.
    public static func issuerMatch(expected: String, answer: Result<ProbeResponse, ProbeFailure>) -> DoctorCheck {
        let name = "issuer_match"
        let title = "Synapse advertises Gatehouse's issuer"
        let response: ProbeResponse
        switch answer {
        case .failure(let failure):
            return DoctorCheck(name: name, title: title, status: .fail, detail: "no answer: \(failure)", fix: "See synapse_version")
        case .success(let value): response = value
        }
        switch response.status {
        case 200:
            guard let issuer = response.jsonObject?["issuer"] as? String else {
                return DoctorCheck(
                    name: name, title: title, status: .fail, detail: "auth_metadata has no issuer: \(response.summary)",
                    fix: "Point Synapse's matrix_authentication_service.endpoint at Gatehouse")
            }
            if issuer == expected {
                return DoctorCheck(name: name, title: title, status: .ok, detail: "issuer \(issuer)")
            }
            return DoctorCheck(
                name: name, title: title, status: .fail,
                detail: "issuer mismatch: Synapse advertises \(JSONText.quote(issuer)), Gatehouse's is \(JSONText.quote(expected)) (http.public_base)",
                fix: "Synapse repeats the issuer of the service at its matrix_authentication_service.endpoint: point that at this Gatehouse, make http.public_base the exact URL clients use (trailing slash included), and restart Synapse (it keeps the first metadata it fetched)")
        case 404:
            return DoctorCheck(
                name: name, title: title, status: .fail, detail: "Synapse serves no auth_metadata (\(response.summary)): the integration is off",
                fix: "See synapse_secret")
        default:
            return DoctorCheck(
                name: name, title: title, status: .fail,
                detail: "Synapse could not fetch the metadata from its matrix_authentication_service.endpoint (\(response.summary))",
                fix: "Point that endpoint at a Gatehouse listener Synapse can reach (it fetches <endpoint>/.well-known/openid-configuration) and restart Synapse")
        }
    }

    /// A check that did not run because `dependency` failed.
    public static func skipped(name: String, title: String, dependency: String) -> DoctorCheck {
        DoctorCheck(name: name, title: title, status: .skip, detail: "not checked: \(dependency) failed")
    }

    /// `1.163.2` → `[1, 163, 2]`; trailing text such as ` (b=main,…)` or `rc1` is ignored.
    static func parseVersion(_ text: String) -> [Int]? {
        let numeric = text.prefix { $0.isNumber || $0 == "." }
        let parts = numeric.split(separator: ".").compactMap { Int($0) }
        guard parts.count >= 2 else { return nil }
        return parts + Array(repeating: 0, count: max(0, 3 - parts.count))
    }

    static func dateText(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return formatter.string(from: date)
    }
}
