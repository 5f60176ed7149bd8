/// The rules a dynamic client registration (RFC 7591, MSC2966) must pass: MAS's
/// `client_registration` policy, made stricter where the security requirements ask for it, as a pure
/// function from the request body to ``ClientMetadata`` or the first rule that failed.
///
/// - `client_uri` is required, `https`, on a domain name (not loopback, not an IP address); its
///   host anchors every other URI.
/// - `logo_uri`, `tos_uri`, `policy_uri` (and localized variants of all four) are `https` on that
///   host or a subdomain.
/// - `web` apps: redirect URIs are `https` on that host or a subdomain.
/// - `native` apps (RFC 8252): `http` on `localhost`, `127.0.0.1` or `[::1]` with any port and path
///   (§7.3), or a private-use scheme that is the reverse-DNS form of that host (`io.element.app:/cb`
///   for `https://element.io`) without an authority (§7.1).
/// - No redirect URI has a fragment (RFC 6749 §3.1.2) or user information.
/// - Grants: `authorization_code`, `refresh_token`, the device code grant; `response_types` only
///   `code`. Stricter than MAS: dynamically registered clients are public
///   (`token_endpoint_auth_method: none`): anybody can register, so a secret would prove nothing
///   about who the client is (ASVS 10.4.7), and no `client_credentials` grant exists for them.
/// - `id_token_signed_response_alg` and `userinfo_signed_response_alg` (OpenID Connect Registration
///   §2) name an algorithm of a configured signing key (`secrets.keys`): one Gatehouse can sign with.
/// - Unknown members are ignored (RFC 7591 §2).
public enum ClientRegistrationPolicy {
    /// The grants a dynamic client may register.
    public static let allowedGrantTypes = [GrantType.authorizationCode, GrantType.refreshToken, GrantType.deviceCode]
    /// Longest accepted URI, display name or contact, in bytes.
    public static let maximumValueLength = 2048
    /// Most redirect URIs one client may register.
    public static let maximumRedirectURIs = 20

    /// The localizable members (RFC 7591 §2.2).
    static let localizable = ["client_name", "client_uri", "logo_uri", "tos_uri", "policy_uri"]

    /// Validates a request body.
    /// - Parameters:
    ///   - body: the raw JSON body.
    ///   - signingAlgorithms: the algorithms of the configured signing keys, which the signed-response
    ///     members may name.
    /// - Returns: the metadata to register, or the error to answer.
    public static func validate(
        body: some Collection<UInt8>, signingAlgorithms: [SigningAlgorithm]
    ) -> Result<ClientMetadata, ClientRegistrationError> {
        guard let value = JSONValue.parse(body) else {
            return .failure(ClientRegistrationError(.invalidRequest, "The body is not valid JSON"))
        }
        guard case .object(let object) = value else {
            return .failure(.metadata("The body must be a JSON object of client metadata (RFC 7591 §2)"))
        }
        return validate(object, signingAlgorithms: signingAlgorithms)
    }

    /// Validates parsed client metadata.
    /// - Parameters:
    ///   - object: the members of the request's JSON object.
    ///   - signingAlgorithms: the algorithms of the configured signing keys.
    public static func validate(
        _ object: [String: JSONValue], signingAlgorithms: [SigningAlgorithm]
    ) -> Result<ClientMetadata, ClientRegistrationError> {
        do throws(ClientRegistrationError) {
            return .success(try check(object, signingAlgorithms: signingAlgorithms))
        } catch {
            return .failure(error)
        }
    }

    /// The algorithm a signed-response member names, when a configured key can sign with it
    /// (shared with the `clients[]` configuration, whose error wording differs).
    /// - Parameters:
    ///   - name: the member's value, e.g. `RS256`.
    ///   - signingAlgorithms: the algorithms of the configured signing keys.
    /// - Returns: the algorithm, or why it cannot be used.
    public static func signingAlgorithm(_ name: String, among signingAlgorithms: [SigningAlgorithm]) -> Result<SigningAlgorithm, SigningAlgorithmProblem> {
        guard let algorithm = SigningAlgorithm(rawValue: name) else { return .failure(.unsupported) }
        guard signingAlgorithms.contains(algorithm) else { return .failure(.noKey) }
        return .success(algorithm)
    }

    /// Why a signed-response algorithm cannot be used.
    public enum SigningAlgorithmProblem: Error, Sendable, Equatable {
        /// Gatehouse cannot sign with it at all (only RS256 and ES256; never `none`).
        case unsupported
        /// No key of `secrets.keys` has this algorithm.
        case noKey
    }

    private static func check(_ object: [String: JSONValue], signingAlgorithms: [SigningAlgorithm]) throws(ClientRegistrationError) -> ClientMetadata {
        var metadata = ClientMetadata(redirectURIs: [])
        metadata.idTokenSignedResponseAlg = try signingAlgorithm(object, "id_token_signed_response_alg", among: signingAlgorithms)
        metadata.userinfoSignedResponseAlg = try signingAlgorithm(object, "userinfo_signed_response_alg", among: signingAlgorithms)

        if let text = try string(object, "application_type") {
            guard let type = ClientMetadata.ApplicationType(rawValue: text) else {
                throw .metadata("application_type '\(text)' is unknown; use \"web\" or \"native\"")
            }
            metadata.applicationType = type
        }

        switch try string(object, "token_endpoint_auth_method") {
        case nil:
            throw .metadata(
                "token_endpoint_auth_method is missing, which means client_secret_basic (RFC 7591 §2); "
                    + "dynamically registered clients are public clients: send \"none\"")
        case "none":
            metadata.tokenEndpointAuthMethod = ClientAuthMethod.none.rawValue
        case let other?:
            throw .metadata(
                "token_endpoint_auth_method '\(other)' is not allowed: anybody can register a client here, so a secret would not "
                    + "identify it; dynamically registered clients are public clients and must send \"none\" (and use PKCE)")
        }

        if let grants = try strings(object, "grant_types") {
            guard !grants.isEmpty else { throw .metadata("grant_types is empty; use e.g. [\"authorization_code\", \"refresh_token\"]") }
            for grant in grants where !allowedGrantTypes.contains(grant) {
                throw .metadata(
                    "grant_types: '\(grant)' is not allowed; a dynamically registered client may use only "
                        + allowedGrantTypes.joined(separator: ", "))
            }
            metadata.grantTypes = unique(grants)
        }
        let hasCodeGrant = metadata.grantTypes.contains(GrantType.authorizationCode)
        if metadata.grantTypes.contains(GrantType.refreshToken) && !hasCodeGrant && !metadata.grantTypes.contains(GrantType.deviceCode) {
            throw .metadata("grant_types: refresh_token needs authorization_code or the device code grant to obtain the first token")
        }

        if let responses = try strings(object, "response_types") {
            for response in responses where response != "code" {
                throw .metadata("response_types: '\(response)' is not allowed; only \"code\" is supported (no implicit or hybrid flows)")
            }
            metadata.responseTypes = unique(responses)
        } else {
            metadata.responseTypes = hasCodeGrant ? ["code"] : []
        }
        if hasCodeGrant && !metadata.responseTypes.contains("code") {
            throw .metadata("response_types must contain \"code\" when grant_types contains authorization_code (RFC 7591 §2.1)")
        }
        if !hasCodeGrant && metadata.responseTypes.contains("code") {
            throw .metadata("response_types contains \"code\" but grant_types lacks authorization_code (RFC 7591 §2.1)")
        }

        // Localized fields: `name` and `name#tag`.
        var localized: [String: ClientMetadata.Localized] = [:]
        for (key, value) in object {
            let parts = key.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            guard localizable.contains(name) else { continue }
            let tag = parts.count == 2 ? String(parts[1]) : ""
            if parts.count == 2 && !isLanguageTag(tag) {
                throw .metadata("\(key): '\(tag)' is not a language tag (BCP 47, e.g. client_name#fr or client_name#pt-BR)")
            }
            if case .null = value { continue }
            guard case .string(let text) = value else { throw .metadata("\(key) must be a string") }
            try checkText(text, key: key)
            localized[name, default: [:]][tag] = text
        }
        metadata.clientName = localized["client_name"] ?? [:]
        metadata.clientURI = localized["client_uri"] ?? [:]
        metadata.logoURI = localized["logo_uri"] ?? [:]
        metadata.tosURI = localized["tos_uri"] ?? [:]
        metadata.policyURI = localized["policy_uri"] ?? [:]

        guard let clientURIText = metadata.clientURI[""] else {
            throw .metadata(
                "client_uri is required: the https home page of the client, whose host its redirect URIs and other URIs must be on")
        }
        let clientHost = try clientHost(clientURIText, key: "client_uri")
        for (tag, text) in metadata.clientURI where !tag.isEmpty {
            let host = try self.clientHost(text, key: "client_uri#\(tag)")
            guard host == clientHost || host.hasSuffix("." + clientHost) else {
                throw .metadata("client_uri#\(tag): host \(host) is not \(clientHost) (the host of client_uri) or a subdomain of it")
            }
        }
        for (name, values) in [("logo_uri", metadata.logoURI), ("tos_uri", metadata.tosURI), ("policy_uri", metadata.policyURI)] {
            for (tag, text) in values.sorted(by: { $0.key < $1.key }) {
                try checkSameHostHTTPS(text, key: tag.isEmpty ? name : "\(name)#\(tag)", clientHost: clientHost)
            }
        }

        if let contacts = try strings(object, "contacts") {
            for contact in contacts { try checkText(contact, key: "contacts") }
            metadata.contacts = contacts
        }

        let redirects = try strings(object, "redirect_uris") ?? []
        if redirects.isEmpty && hasCodeGrant {
            throw .redirectURI("redirect_uris is required (a non-empty list) for the authorization_code grant")
        }
        guard redirects.count <= maximumRedirectURIs else {
            throw .redirectURI("redirect_uris lists \(redirects.count) URIs; at most \(maximumRedirectURIs) are accepted")
        }
        for (index, uri) in redirects.enumerated() {
            try checkRedirectURI(uri, key: "redirect_uris[\(index)]", type: metadata.applicationType, clientHost: clientHost)
        }
        metadata.redirectURIs = unique(redirects)
        return metadata
    }

    // MARK: - URIs

    /// Checks `client_uri` and returns its lower-cased host.
    private static func clientHost(_ text: String, key: String) throws(ClientRegistrationError) -> String {
        let uri = try parse(text, key: key, code: .invalidClientMetadata)
        guard uri.scheme == "https", uri.hasAuthority else { throw .metadata("\(key) '\(text)' must be an https URL") }
        guard !uri.hasUserInfo else { throw .metadata("\(key) '\(text)' must not contain user information (user@)") }
        guard !uri.isLoopback else {
            throw .metadata("\(key) '\(text)' is a loopback address; it must be the client's public https home page")
        }
        guard !uri.isIPLiteral, uri.host.contains("."), !uri.host.hasSuffix("."), !uri.host.hasPrefix(".") else {
            throw .metadata("\(key) '\(text)' must be on a domain name (e.g. https://app.example.com/), not an IP address or a single label")
        }
        return uri.host
    }

    private static func checkSameHostHTTPS(_ text: String, key: String, clientHost: String) throws(ClientRegistrationError) {
        let uri = try parse(text, key: key, code: .invalidClientMetadata)
        guard uri.scheme == "https", uri.hasAuthority else { throw .metadata("\(key) '\(text)' must be an https URL") }
        guard !uri.hasUserInfo else { throw .metadata("\(key) '\(text)' must not contain user information (user@)") }
        guard uri.isHost(under: clientHost) else {
            throw .metadata("\(key): host \(uri.host) is not \(clientHost) (the host of client_uri) or a subdomain of it")
        }
    }

    private static func checkRedirectURI(
        _ text: String, key: String, type: ClientMetadata.ApplicationType, clientHost: String
    ) throws(ClientRegistrationError) {
        let uri = try parse(text, key: key, code: .invalidRedirectURI)
        guard !uri.hasFragment else {
            throw .redirectURI("\(key) '\(text)' has a fragment (#); redirect URIs must not (RFC 6749 §3.1.2)")
        }
        guard !uri.hasUserInfo else {
            throw .redirectURI("\(key) '\(text)' contains user information (user@host); redirect URIs must not")
        }
        switch type {
        case .web:
            guard uri.scheme == "https", uri.hasAuthority else {
                throw .redirectURI(
                    "\(key) '\(text)': a web application's redirect URIs must use https (apps on the user's device register "
                        + "application_type \"native\")")
            }
            guard !uri.isLoopback else {
                throw .redirectURI("\(key) '\(text)': loopback redirect URIs are for native applications (application_type \"native\")")
            }
            guard uri.isHost(under: clientHost) else {
                throw .redirectURI("\(key): host \(uri.host) is not \(clientHost) (the host of client_uri) or a subdomain of it")
            }
        case .native:
            switch uri.scheme {
            case "http":
                guard uri.hasAuthority, URIReference.loopbackHosts.contains(uri.host) else {
                    throw .redirectURI(
                        "\(key) '\(text)': a native application's http redirect URI must be on the loopback interface "
                            + "(http://localhost, http://127.0.0.1 or http://[::1], any port; RFC 8252 §7.3)")
                }
            case "https":
                throw .redirectURI(
                    "\(key) '\(text)': a native application uses a loopback http redirect URI or a private-use scheme "
                        + "(RFC 8252 §7.1, §7.3); https redirect URIs belong to web applications (application_type \"web\")")
            default:
                let reversed = clientHost.split(separator: ".").reversed().joined(separator: ".")
                guard uri.scheme == reversed || uri.scheme.hasPrefix(reversed + ".") else {
                    throw .redirectURI(
                        "\(key) '\(text)': the private-use scheme \(uri.scheme) must be the reverse-DNS form of client_uri's host "
                            + "(\(reversed) or \(reversed).something; RFC 8252 §7.1)")
                }
                guard !uri.hasAuthority else {
                    throw .redirectURI(
                        "\(key) '\(text)': a private-use scheme redirect URI has no authority (//); write \(uri.scheme):/path "
                            + "(RFC 8252 §7.1)")
                }
            }
        }
    }

    private static func parse(_ text: String, key: String, code: ClientRegistrationError.Code) throws(ClientRegistrationError) -> URIReference {
        switch URIReference.parse(text) {
        case .success(let uri):
            return uri
        case .failure(.notASCII):
            throw ClientRegistrationError(code, "\(key) must be printable ASCII without spaces (percent-encode the rest)")
        case .failure(.noScheme):
            throw ClientRegistrationError(code, "\(key) '\(text)' is not an absolute URI (no scheme)")
        case .failure(.badHost):
            throw ClientRegistrationError(code, "\(key) '\(text)' has a host that is not a plain domain name or IP address")
        case .failure(.badPort):
            throw ClientRegistrationError(code, "\(key) '\(text)' has an invalid port")
        }
    }

    // MARK: - Values

    private static func string(_ object: [String: JSONValue], _ key: String) throws(ClientRegistrationError) -> String? {
        switch object[key] {
        case nil, .null?: return nil
        case .string(let text)?: return text
        default: throw .metadata("\(key) must be a string")
        }
    }

    private static func strings(_ object: [String: JSONValue], _ key: String) throws(ClientRegistrationError) -> [String]? {
        let code: ClientRegistrationError.Code = key == "redirect_uris" ? .invalidRedirectURI : .invalidClientMetadata
        let notStrings = ClientRegistrationError(code, "\(key) must be an array of strings")
        switch object[key] {
        case nil, .null?:
            return nil
        case .array(let items)?:
            var result: [String] = []
            for item in items {
                guard case .string(let text) = item else { throw notStrings }
                result.append(text)
            }
            return result
        default:
            throw notStrings
        }
    }

    /// A signed-response member: absent, or an algorithm a configured key signs with.
    private static func signingAlgorithm(
        _ object: [String: JSONValue], _ key: String, among signingAlgorithms: [SigningAlgorithm]
    ) throws(ClientRegistrationError) -> SigningAlgorithm? {
        guard let name = try string(object, key) else { return nil }
        let offered = signingAlgorithms.isEmpty ? "none (no signing key is configured)" : signingAlgorithms.map(\.rawValue).joined(separator: ", ")
        switch signingAlgorithm(name, among: signingAlgorithms) {
        case .success(let algorithm): return algorithm
        case .failure(.unsupported): throw .metadata("\(key) '\(name)' is not supported; this server signs with \(offered)")
        case .failure(.noKey): throw .metadata("\(key) '\(name)' has no signing key on this server; it signs with \(offered)")
        }
    }

    /// Display values end up on the consent page: no control characters, bounded length.
    private static func checkText(_ text: String, key: String) throws(ClientRegistrationError) {
        guard !text.isEmpty else { throw .metadata("\(key) must not be empty") }
        guard text.utf8.count <= maximumValueLength else { throw .metadata("\(key) is longer than \(maximumValueLength) bytes") }
        guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0.properties.generalCategory == .format }) else {
            throw .metadata("\(key) contains control or formatting characters")
        }
    }

    /// A BCP 47 tag in its common shape: `fr`, `pt-BR`, `zh-Hant-TW`.
    private static func isLanguageTag(_ tag: String) -> Bool {
        let subtags = tag.split(separator: "-", omittingEmptySubsequences: false)
        guard let first = subtags.first, (1...8).contains(first.count), first.allSatisfy({ $0.isASCII && $0.isLetter }) else { return false }
        return subtags.dropFirst().allSatisfy { (1...8).contains($0.count) && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } }
    }

    private static func unique(_ values: [String]) -> [String] {
        var seen = Set<String>()
        return values.filter { seen.insert($0).inserted }
    }
}
