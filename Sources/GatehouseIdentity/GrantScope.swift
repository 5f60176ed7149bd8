import GatehouseCore

/// The scope an interactive grant records, from the scope a client asked for (MAS's
/// `authorization_grant` policy, the rules that do not depend on the user):
/// - every token is a valid RFC 6749 §3.3 scope token; repeats are dropped;
/// - stable (`urn:matrix:client:`) and unstable (`urn:matrix:org.matrix.msc2967.client:`) Matrix
///   scopes are not mixed;
/// - a device scope or `urn:synapse:admin:*` needs the Client-Server API scope;
/// - at most one device, whose id Synapse can take (``DeviceId``);
/// - the Client-Server API scope without a device scope gets one with a generated id (10 upper-case
///   letters, as compat logins generate), in the same spelling.
///
/// Whether the *user* may have `urn:synapse:admin:*` is decided at consent and again at the token
/// endpoint.
public enum GrantScope {
    /// Length of generated device ids.
    public static let generatedDeviceIdLength = 10

    /// The scope to record.
    /// - Parameters:
    ///   - requested: the `scope` parameter, if any.
    ///   - random: for a generated device id.
    /// - Throws: `invalid_scope` naming the rule broken.
    public static func resolve(_ requested: String?, random: some RandomSource) throws(OAuth2TokenError) -> String {
        var tokens: [String] = []
        for token in OAuth2Scope.tokens(requested ?? "") where !tokens.contains(token) {
            guard MatrixScope.isValidToken(token) else { throw .invalidScope("The scope contains an invalid token") }
            tokens.append(token)
        }
        let stable = tokens.contains { $0.hasPrefix("urn:matrix:client:") }
        let unstable = tokens.contains { $0.hasPrefix("urn:matrix:org.matrix.msc2967.client:") }
        if stable && unstable { throw .invalidScope("The scope cannot mix unstable and stable Matrix scopes") }
        let api = tokens.contains(MatrixScope.clientAPI) || tokens.contains(MatrixScope.unstableClientAPI)
        let deviceId = try OAuth2Scope.deviceId(of: tokens.joined(separator: " "))
        if deviceId != nil, !api { throw .invalidScope("A device scope needs the Client-Server API scope") }
        if tokens.contains(MatrixScope.synapseAdmin), !api { throw .invalidScope("\(MatrixScope.synapseAdmin) needs the Client-Server API scope") }
        if api, deviceId == nil {
            let prefix = unstable ? MatrixScope.unstableDevicePrefix : MatrixScope.devicePrefix
            tokens.append(prefix + random.string(length: generatedDeviceIdLength, alphabet: Alphabet.upper))
        }
        return tokens.joined(separator: " ")
    }
}
