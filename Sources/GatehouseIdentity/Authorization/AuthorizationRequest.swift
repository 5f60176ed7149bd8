import GatehouseCore
import GatehouseStorage

/// A validated `GET /authorize` request (RFC 6749 §4.1.1, RFC 7636, OpenID Connect Core §3.1.2.1),
/// stricter than MAS where RFC 9700 asks: `response_type=code` only, PKCE with S256 required.
///
/// Validation runs in two steps, because errors before the redirect URI is known must never
/// redirect (RFC 9700 §4.11): ``target(_:client:)`` finds the redirect URI and response mode (its
/// failures are shown as an error page), then ``validate(_:target:client:registrationEnabled:random:)``
/// checks the rest (its failures go back to the client).
public struct AuthorizationRequest: Sendable, Equatable {
    /// OpenID Connect `prompt` values (OIDC Core §3.1.2.1; Initiating User Registration §4).
    public enum Prompt: String, Sendable, CaseIterable {
        case none
        case login
        case consent
        case create
        case selectAccount = "select_account"
    }

    /// Where answers go: the redirect URI and the response mode.
    public struct Target: Sendable, Equatable {
        public var redirectURI: String
        public var responseMode: ResponseMode

        public init(redirectURI: String, responseMode: ResponseMode) {
            self.redirectURI = redirectURI
            self.responseMode = responseMode
        }
    }

    /// Why the redirect URI could not be determined: shown on an error page, never redirected.
    public enum TargetProblem: Error, Equatable, Sendable {
        case missingClientId
        case unknownClient
        case invalidRedirectURI
        case repeatedParameter(String)

        public var description: String {
            switch self {
            case .missingClientId: "The request names no client (client_id is missing)."
            case .unknownClient: "The application that sent you here is not registered with this server."
            case .invalidRedirectURI: "The application asked to send you back to an address it has not registered."
            case .repeatedParameter(let name): "The parameter \(name) is repeated."
            }
        }
    }

    public var clientId: String
    public var target: Target
    public var scope: AuthorizationScope
    public var state: String?
    public var nonce: String?
    public var codeChallenge: String
    public var prompt: Set<Prompt>
    public var loginHint: String?

    /// The parameters of a query, with repeats kept so they can be refused.
    public typealias Parameters = [(name: String, value: String)]

    /// The single value of a parameter; a repeated one is an error.
    static func single(_ name: String, _ parameters: Parameters) -> Result<String?, TargetProblem> {
        switch FormURLEncoded.single(name, in: parameters) {
        case .absent: .success(nil)
        case .value(let value): .success(value)
        case .duplicate: .failure(.repeatedParameter(name))
        }
    }

    /// The `client_id` of the request.
    public static func clientId(_ parameters: Parameters) -> Result<String, TargetProblem> {
        single("client_id", parameters).flatMap { $0.map(Result.success) ?? .failure(.missingClientId) }
    }

    /// Step one: the redirect URI (exact match, see ``RedirectURIMatcher``) and the response mode
    /// (an unknown mode falls back to `query` here; step two refuses it through the redirect).
    /// - Parameters:
    ///   - parameters: the query.
    ///   - client: the client named by `client_id`.
    public static func target(_ parameters: Parameters, client: OAuth2Client) -> Result<Target, TargetProblem> {
        let requested: String?
        switch single("redirect_uri", parameters) {
        case .success(let value): requested = value
        case .failure(let problem): return .failure(problem)
        }
        guard let redirect = RedirectURIMatcher.resolve(
            requested: requested, registered: client.metadata.redirectURIs, isNative: client.metadata.applicationType == .native)
        else { return .failure(.invalidRedirectURI) }
        let mode = (try? single("response_mode", parameters).get()).flatMap { $0 }.flatMap(ResponseMode.init(rawValue:)) ?? .query
        return .success(Target(redirectURI: redirect, responseMode: mode))
    }

    /// Step two: everything else, with errors for the client.
    /// - Parameters:
    ///   - parameters: the query.
    ///   - target: the result of step one.
    ///   - client: the client.
    ///   - registrationEnabled: `account.password_registration_enabled` (`prompt=create`).
    ///   - random: for a generated device id.
    public static func validate(
        _ parameters: Parameters, target: Target, client: OAuth2Client, registrationEnabled: Bool, random: any RandomSource
    ) -> Result<AuthorizationRequest, AuthorizationError> {
        func value(_ name: String) throws(AuthorizationError) -> String? {
            guard case .success(let value) = single(name, parameters) else {
                throw AuthorizationError(.invalidRequest, "The parameter \(name) is repeated")
            }
            return value
        }
        do throws(AuthorizationError) {
            if let mode = try value("response_mode"), ResponseMode(rawValue: mode) == nil {
                throw AuthorizationError(.invalidRequest, "Unsupported response_mode; use query, fragment or form_post")
            }
            if try value("request") != nil { throw AuthorizationError(.requestNotSupported, "Request objects are not supported") }
            if try value("request_uri") != nil { throw AuthorizationError(.requestURINotSupported, "request_uri is not supported") }
            if try value("registration") != nil {
                throw AuthorizationError(.registrationNotSupported, "The registration parameter is not supported")
            }
            guard let responseType = try value("response_type") else {
                throw AuthorizationError(.invalidRequest, "response_type is missing")
            }
            guard responseType == "code" else {
                throw AuthorizationError(.unsupportedResponseType, "Only response_type=code is supported")
            }
            guard client.metadata.grantTypes.contains(GrantType.authorizationCode), client.metadata.responseTypes.contains("code") else {
                throw AuthorizationError(.unauthorizedClient, "The client is not registered for the authorization code grant")
            }
            // PKCE is required, with S256 only (RFC 9700 §2.1.1; OWASP ASVS 10.4.6).
            guard let challenge = try value("code_challenge") else {
                throw AuthorizationError(.invalidRequest, "code_challenge is required (PKCE with S256)")
            }
            guard try value("code_challenge_method") == "S256" else {
                throw AuthorizationError(.invalidRequest, "code_challenge_method must be S256")
            }
            // An S256 challenge is BASE64URL(SHA-256(verifier)): exactly 43 characters.
            guard challenge.utf8.count == 43, challenge.utf8.allSatisfy(Base64URL.isAlphabet) else {
                throw AuthorizationError(.invalidRequest, "code_challenge is not a valid S256 challenge")
            }
            var prompt: Set<Prompt> = []
            for word in (try value("prompt") ?? "").split(separator: " ") {
                guard let parsed = Prompt(rawValue: String(word)) else {
                    throw AuthorizationError(.invalidRequest, "Unsupported prompt value \(word)")
                }
                prompt.insert(parsed)
            }
            if prompt.contains(.none) && prompt.count > 1 {
                throw AuthorizationError(.invalidRequest, "prompt=none cannot be combined with other values")
            }
            if prompt.contains(.create) && !registrationEnabled {
                throw AuthorizationError(.invalidRequest, "Registration is not available on this server (prompt=create)")
            }
            let scope: AuthorizationScope
            switch AuthorizationScope.resolve(try value("scope"), random: random) {
            case .success(let resolved): scope = resolved
            case .failure(let problem): throw AuthorizationError(.invalidScope, problem.description)
            }
            return .success(AuthorizationRequest(
                clientId: client.id, target: target, scope: scope, state: try value("state"), nonce: try value("nonce"),
                codeChallenge: challenge, prompt: prompt, loginHint: try value("login_hint")))
        } catch {
            return .failure(error)
        }
    }
}
