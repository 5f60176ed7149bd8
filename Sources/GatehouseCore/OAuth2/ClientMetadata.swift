/// The registered metadata of an OAuth 2.0 client (RFC 7591 §2, OpenID Connect Dynamic Client
/// Registration §2 for `application_type`), as Gatehouse keeps it for dynamic and static clients.
///
/// Human-readable fields may be localized (RFC 7591 §2.2: `client_name#fr`); each is a
/// ``Localized`` map whose `""` entry is the untagged value.
public struct ClientMetadata: Sendable, Equatable {
    /// OpenID Connect Dynamic Client Registration §2 `application_type`.
    public enum ApplicationType: String, Sendable, CaseIterable {
        /// A web server (confidential or not): https redirect URIs on the client's own host.
        case web
        /// An app on the user's device (RFC 8252): loopback or private-use-scheme redirect URIs.
        case native
    }

    /// Language tag (`""` for none) → value, e.g. `["": "Element", "fr": "Élément"]`.
    public typealias Localized = [String: String]

    public var applicationType: ApplicationType
    /// `redirect_uris`, compared later by exact string (RFC 9700 §4.1.3), except the port of loopback ones.
    public var redirectURIs: [String]
    /// `grant_types` (RFC 7591 §2).
    public var grantTypes: [String]
    /// `response_types` (RFC 7591 §2).
    public var responseTypes: [String]
    /// `token_endpoint_auth_method` (RFC 7591 §2): `none`, `client_secret_basic` or `client_secret_post`.
    public var tokenEndpointAuthMethod: String
    /// `client_name`: shown on the consent page.
    public var clientName: Localized
    /// `client_uri`: the client's home page; for dynamic clients its host anchors every other URI.
    public var clientURI: Localized
    /// `logo_uri`.
    public var logoURI: Localized
    /// `tos_uri`: the client's terms of service.
    public var tosURI: Localized
    /// `policy_uri`: the client's privacy policy.
    public var policyURI: Localized
    /// `contacts`: people responsible for the client (usually e-mail addresses).
    public var contacts: [String]
    /// `id_token_signed_response_alg` (OpenID Connect Registration §2): the algorithm its id_tokens
    /// are signed with; `nil` means the server's default (RS256, the specification's, when an RSA key
    /// is configured).
    public var idTokenSignedResponseAlg: SigningAlgorithm?
    /// `userinfo_signed_response_alg` (OpenID Connect Registration §2): when set, the userinfo
    /// endpoint answers this client a JWT signed with it (`application/jwt`) instead of JSON.
    public var userinfoSignedResponseAlg: SigningAlgorithm?

    /// - Parameters:
    ///   - applicationType: `web` or `native`.
    ///   - redirectURIs: the registered redirect URIs.
    ///   - grantTypes: the grants the client may use.
    ///   - responseTypes: the response types it may ask for.
    ///   - tokenEndpointAuthMethod: how it authenticates at the token endpoint.
    ///   - clientName: its display name, localized.
    ///   - clientURI: its home page, localized.
    ///   - logoURI: its logo, localized.
    ///   - tosURI: its terms of service, localized.
    ///   - policyURI: its privacy policy, localized.
    ///   - contacts: people responsible for it.
    ///   - idTokenSignedResponseAlg: its id_token algorithm (`nil`: the server's default).
    ///   - userinfoSignedResponseAlg: its signed-userinfo algorithm (`nil`: plain JSON).
    public init(
        applicationType: ApplicationType = .web, redirectURIs: [String], grantTypes: [String] = [GrantType.authorizationCode],
        responseTypes: [String] = ["code"], tokenEndpointAuthMethod: String = ClientAuthMethod.none.rawValue,
        clientName: Localized = [:], clientURI: Localized = [:], logoURI: Localized = [:], tosURI: Localized = [:],
        policyURI: Localized = [:], contacts: [String] = [], idTokenSignedResponseAlg: SigningAlgorithm? = nil,
        userinfoSignedResponseAlg: SigningAlgorithm? = nil
    ) {
        self.applicationType = applicationType
        self.redirectURIs = redirectURIs
        self.grantTypes = grantTypes
        self.responseTypes = responseTypes
        self.tokenEndpointAuthMethod = tokenEndpointAuthMethod
        self.clientName = clientName
        self.clientURI = clientURI
        self.logoURI = logoURI
        self.tosURI = tosURI
        self.policyURI = policyURI
        self.contacts = contacts
        self.idTokenSignedResponseAlg = idTokenSignedResponseAlg
        self.userinfoSignedResponseAlg = userinfoSignedResponseAlg
    }

    /// The JSON members of this metadata (RFC 7591 §3.2.1 echoes them), with sorted keys and
    /// localized fields written as `name#tag`; `extra` adds members such as `client_id`.
    /// Deterministic, so it also serves as the input of the deduplication digest.
    /// - Parameter extra: further members, already serialized (`"client_id": "\"…\""`).
    public func json(extra: [String: String] = [:]) -> String {
        var members = extra
        members["application_type"] = JSONText.quote(applicationType.rawValue)
        members["redirect_uris"] = Self.array(redirectURIs)
        members["grant_types"] = Self.array(grantTypes)
        members["response_types"] = Self.array(responseTypes)
        members["token_endpoint_auth_method"] = JSONText.quote(tokenEndpointAuthMethod)
        if !contacts.isEmpty { members["contacts"] = Self.array(contacts) }
        if let idTokenSignedResponseAlg { members["id_token_signed_response_alg"] = JSONText.quote(idTokenSignedResponseAlg.rawValue) }
        if let userinfoSignedResponseAlg { members["userinfo_signed_response_alg"] = JSONText.quote(userinfoSignedResponseAlg.rawValue) }
        for (name, values) in [
            ("client_name", clientName), ("client_uri", clientURI), ("logo_uri", logoURI), ("tos_uri", tosURI), ("policy_uri", policyURI),
        ] {
            for (tag, value) in values {
                members[tag.isEmpty ? name : "\(name)#\(tag)"] = JSONText.quote(value)
            }
        }
        return "{" + members.keys.sorted().map { "\(JSONText.quote($0)):\(members[$0]!)" }.joined(separator: ",") + "}"
    }

    private static func array(_ values: [String]) -> String {
        "[" + values.map(JSONText.quote).joined(separator: ",") + "]"
    }
}

/// Grant type identifiers (RFC 6749 §4, RFC 8628 §3.4).
public enum GrantType {
    public static let authorizationCode = "authorization_code"
    public static let refreshToken = "refresh_token"
    public static let deviceCode = "urn:ietf:params:oauth:grant-type:device_code"
    public static let clientCredentials = "client_credentials"
}

/// Token endpoint client authentication methods Gatehouse accepts (RFC 7591 §2; MAS's
/// `client_auth_method` names). The JWT methods of MAS are not supported.
public enum ClientAuthMethod: String, Sendable, CaseIterable {
    /// A public client: no secret (native and browser apps; PKCE protects the code).
    case none
    /// HTTP Basic with the client secret (RFC 6749 §2.3.1).
    case clientSecretBasic = "client_secret_basic"
    /// The client secret in the form body (RFC 6749 §2.3.1).
    case clientSecretPost = "client_secret_post"

    /// Whether the method presents a secret.
    public var usesSecret: Bool { self != .none }
}
