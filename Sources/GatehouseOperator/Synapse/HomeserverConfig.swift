import Yams

/// The settings of a Synapse `homeserver.yaml` that Gatehouse's tools read, parsed with Yams (the
/// file itself is never re-serialised: edits are line edits, see ``SynapseConfigMigration``).
/// Not `Sendable`: Yams' nodes are not; the CLI reads it on one thread.
public struct HomeserverConfig {
    /// The whole document.
    let root: Node

    /// Parses `text`.
    /// - Parameter text: the content of `homeserver.yaml`.
    public init(text: String) throws(HomeserverConfigError) {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw .notYAML("\(error)")
        }
        guard let node, node.mapping != nil else { throw .notYAML("the top level is not a mapping") }
        self.root = node
    }

    /// `server_name`.
    public var serverName: String? { root["server_name"]?.string }

    /// `public_baseurl`.
    public var publicBaseURL: String? { root["public_baseurl"]?.string }

    /// `experimental_features.msc3861`, if present.
    var msc3861: Node? { root["experimental_features"]?["msc3861"] }

    /// Whether the file has a `matrix_authentication_service` key (whatever its value).
    public var hasMatrixAuthenticationService: Bool { root["matrix_authentication_service"] != nil }

    /// Whether authentication is delegated already (either section enabled).
    public var delegatesAuthentication: Bool {
        root["matrix_authentication_service"]?["enabled"]?.bool == true || msc3861?["enabled"]?.bool == true
    }

    /// The URL of the first listener that serves the `client` resource, on loopback when it binds
    /// everywhere: where Gatehouse reaches Synapse (`matrix.endpoint`, the `synapse` upstream).
    public var clientListenerURL: String? {
        for listener in root["listeners"]?.sequence ?? [] {
            guard listener["type"]?.string ?? "http" == "http", let port = listener["port"]?.int else { continue }
            let names = (listener["resources"]?.sequence ?? []).flatMap { resource in
                (resource["names"]?.sequence ?? []).compactMap { $0.string }
            }
            guard names.contains("client") else { continue }
            let tls = listener["tls"]?.bool == true
            var host = (listener["bind_addresses"]?.sequence?.first?.string) ?? "127.0.0.1"
            if host == "0.0.0.0" || host == "::" || host.isEmpty { host = "127.0.0.1" }
            if host.contains(":") { host = "[\(host)]" }
            return "\(tls ? "https" : "http")://\(host):\(port)/"
        }
        return nil
    }

    /// Synapse's password settings, as far as Gatehouse can use them to verify imported hashes.
    public var passwords: SynapsePasswordSettings {
        let config = root["password_config"]
        return SynapsePasswordSettings(
            enabled: (config?["enabled"]?.bool ?? true) && (config?["localdb_enabled"]?.bool ?? true),
            pepper: config?["pepper"]?.string.flatMap { $0.isEmpty ? nil : $0 },
            bcryptRounds: root["bcrypt_rounds"]?.int ?? 12)
    }

    /// `enable_registration`.
    public var registrationEnabled: Bool { root["enable_registration"]?.bool ?? false }

    /// Settings Synapse has that Gatehouse does not carry over, each with what to do about it.
    public var settingsNotCarriedOver: [String] {
        var notes: [String] = []
        if root["registration_requires_3pid"] != nil || root["registrations_require_3pid"] != nil {
            notes.append("registrations_require_3pid: Gatehouse's registration page does not ask for an email address")
        }
        if root["enable_registration_captcha"]?.bool == true {
            notes.append("enable_registration_captcha: Gatehouse's registration page has no CAPTCHA; rate_limiting.registration limits sign-ups per address")
        }
        if root["registration_requires_token"]?.bool == true {
            notes.append("registration_requires_token: Gatehouse has no registration tokens; registration stays off unless you turn it on")
        }
        if let providers = root["password_providers"]?.sequence, !providers.isEmpty {
            notes.append("password_providers: Gatehouse checks passwords only against its own store")
        }
        if root["oidc_providers"] != nil || root["saml2_config"] != nil || root["cas_config"] != nil {
            notes.append("oidc_providers / saml2_config / cas_config: upstream SSO is not supported by Gatehouse")
        }
        if root["password_config"]?["policy"] != nil {
            notes.append("password_config.policy: Gatehouse requires at least 8 characters and has no other password rules")
        }
        return notes
    }
}

/// What Synapse's `password_config` and `bcrypt_rounds` say.
public struct SynapsePasswordSettings: Sendable, Equatable {
    /// `password_config.enabled` and `password_config.localdb_enabled`, both defaulting to true.
    public var enabled: Bool
    /// `password_config.pepper`, appended to every password before bcrypt.
    public var pepper: String?
    /// `bcrypt_rounds`: the log2 cost of new hashes (default 12).
    public var bcryptRounds: Int
}
