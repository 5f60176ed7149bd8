/// Gatehouse's scope policy, the one place that decides which scope a grant may carry (MAS's
/// `authorization_grant` policy and docs/reference/scopes.md, mas-surface.md §4). Used by
/// `GET /authorize`, the device authorization endpoint, `client_credentials`, and the token endpoint
/// when it reads a stored grant back.
/// - Known tokens only: `openid`, `email`, `urn:mas:graphql:*` (any grant); the Matrix C-S API scope,
///   one device scope and `urn:synapse:admin:*` (interactive grants only: authorization code and
///   device code, where a user is present). `urn:mas:admin` (the admin API) for any grant here; who
///   may hold it is decided with the grant's subject: an administrator (``allows(administrator:)``), or
///   a client listed in `admin_api.clients` for `client_credentials`.
/// - Stable (`urn:matrix:client:…`) and unstable MSC2967 (`urn:matrix:org.matrix.msc2967.client:…`)
///   spellings are never mixed in one request.
/// - At most one device scope, whose id matches MAS's `[A-Za-z0-9._~!$&'()*+,;=:@/-]{10,}` and is at
///   most 255 bytes (``DeviceId/maximumBytes``), and only with the API scope. When the API scope
///   comes without one, a device scope with a fresh id (``DeviceId/generate(random:)``) is added in the
///   same spelling.
/// - `urn:synapse:admin:*` only with the API scope, and only for an administrator: whether the user
///   is one is known at consent and at the token endpoint (``allows(administrator:)``).
public struct AuthorizationScope: Sendable, Equatable {
    /// Which kind of grant asks: Matrix scopes need a user, so only interactive grants may carry them.
    public enum Grant: Sendable {
        /// `authorization_code` and `urn:ietf:params:oauth:grant-type:device_code`.
        case interactive
        /// `client_credentials`: a client acting for itself.
        case clientCredentials
    }

    /// The scope tokens to store, in request order without repeats, a generated device scope last.
    public var tokens: [String]
    /// The Matrix device the grant creates, if any.
    public var deviceId: String?
    /// Whether the device id was generated here (not chosen by the client).
    public var deviceGenerated: Bool
    /// Whether `urn:synapse:admin:*` is requested.
    public var requestsAdmin: Bool
    /// Whether `urn:mas:admin` (Gatehouse's admin API, MAS's name) is requested.
    public var requestsAdminAPI: Bool = false
    /// Whether the Client-Server API scope is requested.
    public var requestsClientAPI: Bool
    /// Whether `openid` is requested.
    public var requestsOpenID: Bool
    /// Whether `email` is requested.
    public var requestsEmail: Bool

    /// The stored form: tokens separated by one space.
    public var text: String { tokens.joined(separator: " ") }

    /// Why a scope is refused (`invalid_scope`, RFC 6749 §4.1.2.1).
    public struct Problem: Error, Equatable, Sendable {
        public var description: String
    }

    /// The scope of the admin API (`/api/admin/v1`), under MAS's name so MAS's tools keep working.
    public static let adminAPI = "urn:mas:admin"

    /// Scopes any grant may carry.
    static let plainScopes: Set<String> = ["openid", "email", "urn:mas:graphql:*"]
    /// The characters a requested device id may use, as in MAS.
    static let deviceIdCharacters = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~!$&'()*+,;=:@/-".utf8)
    /// MAS's shortest requested device id.
    static let minimumDeviceIdLength = 10

    /// Applies the policy to a `scope` parameter.
    /// - Parameters:
    ///   - scope: the parameter as sent (`nil` or empty: no scope).
    ///   - grant: the kind of grant asking.
    ///   - random: for a generated device id.
    public static func resolve(_ scope: String?, for grant: Grant = .interactive, random: any RandomSource) -> Result<AuthorizationScope, Problem> {
        switch check(scope, for: grant) {
        case .failure(let problem):
            return .failure(problem)
        case .success(var result):
            if result.requestsClientAPI && result.deviceId == nil {
                let device = DeviceId.generate(random: random)
                let unstable = result.tokens.contains(MatrixScope.unstableClientAPI)
                result.deviceId = device
                result.deviceGenerated = true
                result.tokens.append((unstable ? MatrixScope.unstableDevicePrefix : MatrixScope.devicePrefix) + device)
            }
            return .success(result)
        }
    }

    /// Applies the policy without adding anything: for a scope already recorded (the token endpoint
    /// checks a stored grant again), or as the first step of ``resolve(_:for:random:)``.
    /// - Parameters:
    ///   - scope: the scope (`nil` or empty: no scope).
    ///   - grant: the kind of grant asking.
    public static func check(_ scope: String?, for grant: Grant = .interactive) -> Result<AuthorizationScope, Problem> {
        var result = AuthorizationScope(
            tokens: [], deviceId: nil, deviceGenerated: false, requestsAdmin: false, requestsClientAPI: false, requestsOpenID: false,
            requestsEmail: false)
        var stable = false
        var unstable = false
        for token in (scope ?? "").split(separator: " ", omittingEmptySubsequences: true).map(String.init) {
            guard MatrixScope.isValidToken(token) else { return .failure(Problem(description: "The scope contains an invalid token")) }
            if result.tokens.contains(token) { continue }
            if plainScopes.contains(token) {
                if token == "openid" { result.requestsOpenID = true }
                if token == "email" { result.requestsEmail = true }
                result.tokens.append(token)
                continue
            }
            if token == adminAPI {
                result.requestsAdminAPI = true
                result.tokens.append(token)
                continue
            }
            guard token.hasPrefix("urn:matrix:") || token.hasPrefix("urn:synapse:") else {
                return .failure(Problem(description: "The scope \(token) is not supported"))
            }
            guard grant == .interactive else {
                return .failure(Problem(description: "\(token) cannot be granted to a client acting for itself"))
            }
            switch token {
            case MatrixScope.clientAPI:
                stable = true
                result.requestsClientAPI = true
            case MatrixScope.unstableClientAPI:
                unstable = true
                result.requestsClientAPI = true
            case MatrixScope.synapseAdmin:
                result.requestsAdmin = true
            default:
                guard let device = MatrixScope.deviceId(in: token) else {
                    return .failure(Problem(description: "The scope \(token) is not supported"))
                }
                if token.hasPrefix(MatrixScope.devicePrefix) { stable = true } else { unstable = true }
                guard result.deviceId == nil else {
                    return .failure(Problem(description: "The request names more than one device scope"))
                }
                guard (minimumDeviceIdLength...DeviceId.maximumBytes).contains(device.utf8.count), device.utf8.allSatisfy(deviceIdCharacters.contains)
                else {
                    return .failure(Problem(description: "The device ID must be 10 to 255 characters of A-Z a-z 0-9 ._~!$&'()*+,;=:@/-"))
                }
                result.deviceId = device
            }
            result.tokens.append(token)
        }
        if stable && unstable {
            return .failure(Problem(description: "The request cannot mix unstable and stable scopes"))
        }
        if !result.requestsClientAPI && (result.deviceId != nil || result.requestsAdmin) {
            return .failure(Problem(description: "Device and admin scopes require the Client-Server API scope \(MatrixScope.clientAPI)"))
        }
        return .success(result)
    }

    /// The scope of a stored grant, read back for display (its device scope is already present).
    /// - Parameter text: the stored scope.
    public static func stored(_ text: String) -> AuthorizationScope {
        let tokens = text.split(separator: " ").map(String.init)
        return AuthorizationScope(
            tokens: tokens, deviceId: tokens.lazy.compactMap(MatrixScope.deviceId(in:)).first, deviceGenerated: false,
            requestsAdmin: tokens.contains(MatrixScope.synapseAdmin), requestsAdminAPI: tokens.contains(adminAPI),
            requestsClientAPI: tokens.contains(MatrixScope.clientAPI) || tokens.contains(MatrixScope.unstableClientAPI),
            requestsOpenID: tokens.contains("openid"), requestsEmail: tokens.contains("email"))
    }

    /// Whether a user may have this scope: `urn:synapse:admin:*` and `urn:mas:admin` are for
    /// administrators only.
    /// - Parameter administrator: whether the user is a Gatehouse administrator.
    public func allows(administrator: Bool) -> Bool {
        !(requestsAdmin || requestsAdminAPI) || administrator
    }
}
