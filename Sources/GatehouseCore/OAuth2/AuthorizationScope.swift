/// The scope of an interactive grant (authorization code or device code) after Gatehouse's scope
/// policy (MAS's `authorization_grant` policy, docs/reference/scopes.md):
/// - known tokens only: `openid`, the Matrix C-S API scope, one device scope, `urn:synapse:admin:*`;
/// - stable (`urn:matrix:client:…`) and unstable MSC2967 (`urn:matrix:org.matrix.msc2967.client:…`)
///   spellings are never mixed in one request;
/// - at most one device scope, whose id matches `[A-Za-z0-9._~!$&'()*+,;=:@/-]{10,255}`, and only with
///   the API scope; when the API scope comes without one, a device scope with a fresh id (ten
///   upper-case letters and digits) is added in the same spelling;
/// - `urn:synapse:admin:*` only with the API scope (whether the user may have it is decided at
///   consent, where the user is known).
public struct AuthorizationScope: Sendable, Equatable {
    /// The scope tokens to store, in request order, a generated device scope last.
    public var tokens: [String]
    /// The Matrix device the grant creates, if any.
    public var deviceId: String?
    /// Whether the device id was generated here (not chosen by the client).
    public var deviceGenerated: Bool
    /// Whether `urn:synapse:admin:*` is requested.
    public var requestsAdmin: Bool
    /// Whether the Client-Server API scope is requested.
    public var requestsClientAPI: Bool
    /// Whether `openid` is requested.
    public var requestsOpenID: Bool

    /// The stored form: tokens separated by one space.
    public var text: String { tokens.joined(separator: " ") }

    /// Why a scope is refused (`invalid_scope`, RFC 6749 §4.1.2.1).
    public struct Problem: Error, Equatable, Sendable {
        public var description: String
    }

    /// The characters a device id may use, as in MAS.
    static let deviceIdCharacters = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~!$&'()*+,;=:@/-".utf8)
    /// Generated device ids: upper-case letters and digits.
    static let generatedDeviceAlphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)

    /// Applies the policy to a `scope` parameter.
    /// - Parameters:
    ///   - scope: the parameter as sent (`nil` or empty: no scope).
    ///   - random: for a generated device id.
    public static func resolve(_ scope: String?, random: any RandomSource) -> Result<AuthorizationScope, Problem> {
        let tokens = (scope ?? "").split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        var result = AuthorizationScope(
            tokens: [], deviceId: nil, deviceGenerated: false, requestsAdmin: false, requestsClientAPI: false, requestsOpenID: false)
        var stable = false
        var unstable = false
        for token in tokens {
            guard MatrixScope.isValidToken(token) else { return .failure(Problem(description: "The scope contains an invalid token")) }
            if result.tokens.contains(token) { continue }
            switch token {
            case "openid":
                result.requestsOpenID = true
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
                // MAS's pattern, and at most 255 bytes as Synapse stores device ids (``DeviceId``).
                guard (10...255).contains(device.utf8.count), device.utf8.allSatisfy(deviceIdCharacters.contains) else {
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
        if result.requestsClientAPI && result.deviceId == nil {
            let device = random.string(length: 10, alphabet: generatedDeviceAlphabet)
            result.deviceId = device
            result.deviceGenerated = true
            result.tokens.append((unstable ? MatrixScope.unstableDevicePrefix : MatrixScope.devicePrefix) + device)
        }
        return .success(result)
    }

    /// The scope of a stored grant, read back (its device scope is already present).
    /// - Parameter text: the stored scope.
    public static func stored(_ text: String) -> AuthorizationScope {
        let tokens = text.split(separator: " ").map(String.init)
        return AuthorizationScope(
            tokens: tokens, deviceId: tokens.lazy.compactMap(MatrixScope.deviceId(in:)).first, deviceGenerated: false,
            requestsAdmin: tokens.contains(MatrixScope.synapseAdmin),
            requestsClientAPI: tokens.contains(MatrixScope.clientAPI) || tokens.contains(MatrixScope.unstableClientAPI),
            requestsOpenID: tokens.contains("openid"))
    }
}
