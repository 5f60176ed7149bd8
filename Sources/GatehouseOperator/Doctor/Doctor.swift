import Foundation
import GatehouseCore

/// Where `doctor` looks: the values it takes from Gatehouse's configuration.
public struct DoctorTarget: Sendable {
    /// `http.public_base`, the URL clients use and the OAuth 2.0 issuer.
    public var publicBase: String
    /// `matrix.endpoint`, Synapse's listener.
    public var synapseEndpoint: String
    /// The shared secret; sent to Synapse only, never printed.
    public var secret: String

    /// - Parameters mirror the properties.
    public init(publicBase: String, synapseEndpoint: String, secret: String) {
        self.publicBase = publicBase
        self.synapseEndpoint = synapseEndpoint
        self.secret = secret
    }
}

/// Inspects the public listener's TLS; ``TLSInspector`` does it over the network.
public protocol TLSInspecting: Sendable {
    /// The certificate `host:port` presents and whether its chain is trusted.
    func inspect(host: String, port: Int) async -> Result<TLSInspection, ProbeFailure>
}

extension TLSInspector: TLSInspecting {}

/// `gatehouse doctor`: walks the chain client → Gatehouse → Synapse → Gatehouse with real requests
/// and judges each link (``DoctorVerdicts``). A check whose precondition failed is reported as
/// skipped, naming the failure, rather than failing a second time for the same cause.
public struct Doctor: Sendable {
    let probe: any HTTPProbing
    let tls: any TLSInspecting
    let clock: any WallClock
    let random: any RandomSource
    let caFile: String?

    /// - Parameters:
    ///   - probe: makes the HTTP requests.
    ///   - tls: inspects the public certificate.
    ///   - clock: for the certificate's days to expiry.
    ///   - random: makes the probe token, new each run so Synapse's two-minute cache of
    ///     introspection answers never answers for Gatehouse.
    ///   - caFile: the extra trust anchors given to `tls`, for the texts.
    public init(probe: any HTTPProbing, tls: any TLSInspecting, clock: any WallClock, random: any RandomSource, caFile: String? = nil) {
        self.probe = probe
        self.tls = tls
        self.clock = clock
        self.random = random
        self.caFile = caFile
    }

    /// Runs every check, in order.
    /// - Parameter target: what to check.
    public func run(_ target: DoctorTarget) async -> [DoctorCheck] {
        var checks: [DoctorCheck] = [DoctorVerdicts.issuerIsHTTPS(publicBase: target.publicBase)]
        let publicURL = URLComponents(string: target.publicBase)
        let host = publicURL?.host?.trimmingCharacters(in: CharacterSet(charactersIn: "[]")) ?? ""
        let https = publicURL?.scheme?.lowercased() == "https"
        var publicReachable = true
        if https {
            let port = publicURL?.port ?? 443
            let inspection = await tls.inspect(host: host, port: port)
            if case .failure = inspection { publicReachable = false }
            checks.append(DoctorVerdicts.publicTLS(host: host, port: port, inspection: inspection, now: clock.now(), caFile: caFile))
        }

        let synapseAnswer = await probe.get(Self.join(target.synapseEndpoint, "/_synapse/admin/v1/server_version"), headers: [])
        let versionCheck = DoctorVerdicts.synapseVersion(endpoint: target.synapseEndpoint, answer: synapseAnswer)
        checks.append(versionCheck)
        let synapseReachable: Bool
        if case .failure = synapseAnswer { synapseReachable = false } else { synapseReachable = true }

        let secretTitle = "Synapse's /_synapse/mas/ API accepts the shared secret"
        if synapseReachable {
            let answer = await probe.get(
                Self.join(target.synapseEndpoint, "/_synapse/mas/query_user"), headers: [("Authorization", "Bearer \(target.secret)")])
            checks.append(DoctorVerdicts.sharedSecret(answer: answer))
        } else {
            checks.append(DoctorVerdicts.skipped(name: "synapse_secret", title: secretTitle, dependency: "synapse_version"))
        }

        let introspectionTitle = "Synapse reaches Gatehouse to check access tokens"
        let loginTitle = "/_matrix/client/v3/login is answered by Gatehouse"
        if publicReachable {
            // Not in Gatehouse's token format, so Gatehouse forwards it and Synapse must ask.
            let token = "gatehouse_doctor_" + random.string(length: 24, alphabet: Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8))
            let whoami = await probe.get(
                Self.join(target.publicBase, "/_matrix/client/v3/account/whoami"), headers: [("Authorization", "Bearer \(token)")])
            checks.append(DoctorVerdicts.introspection(answer: whoami))
            let login = await probe.get(Self.join(target.publicBase, "/_matrix/client/v3/login"), headers: [])
            checks.append(DoctorVerdicts.loginRoute(answer: login))
        } else {
            checks.append(DoctorVerdicts.skipped(name: "introspection", title: introspectionTitle, dependency: "public_tls"))
            checks.append(DoctorVerdicts.skipped(name: "login_route", title: loginTitle, dependency: "public_tls"))
        }

        if synapseReachable {
            let metadata = await probe.get(Self.join(target.synapseEndpoint, "/_matrix/client/v1/auth_metadata"), headers: [])
            checks.append(DoctorVerdicts.issuerMatch(expected: target.publicBase, answer: metadata))
        } else {
            checks.append(DoctorVerdicts.skipped(name: "issuer_match", title: "Synapse advertises Gatehouse's issuer", dependency: "synapse_version"))
        }
        return checks
    }

    /// `base` (with or without a trailing `/`, possibly with a path prefix) joined with `path`.
    static func join(_ base: String, _ path: String) -> String {
        var base = base
        while base.hasSuffix("/") { base.removeLast() }
        return base + path
    }
}
