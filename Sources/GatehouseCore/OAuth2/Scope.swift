/// OAuth 2.0 scope tokens and the Matrix scopes of MSC2967 / MSC3861.
public enum MatrixScope {
    /// Full Client-Server API access (stable and MSC2967 unstable spelling).
    public static let clientAPI = "urn:matrix:client:api:*"
    public static let unstableClientAPI = "urn:matrix:org.matrix.msc2967.client:api:*"
    /// Device scope prefixes, followed by the device id.
    public static let devicePrefix = "urn:matrix:client:device:"
    public static let unstableDevicePrefix = "urn:matrix:org.matrix.msc2967.client:device:"
    /// Synapse admin API access.
    public static let synapseAdmin = "urn:synapse:admin:*"

    /// Whether `text` is a valid scope token (RFC 6749 §3.3: `%x21 / %x23-5B / %x5D-7E`).
    /// - Parameter text: candidate token.
    public static func isValidToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 == 0x21 || (0x23...0x5B).contains($0) || (0x5D...0x7E).contains($0) }
    }

    /// A scope as introspection reports it (MAS `normalize_scope`): the stable and unstable API
    /// scopes imply each other, a device scope adds both spellings, and the set is sorted and
    /// space-separated.
    /// - Parameter tokens: the session's scope tokens.
    public static func normalized(_ tokens: some Sequence<String>) -> String {
        var set = Set(tokens)
        if set.contains(clientAPI) || set.contains(unstableClientAPI) {
            set.insert(clientAPI)
            set.insert(unstableClientAPI)
        }
        for token in set {
            if let device = deviceId(in: token) {
                set.insert(devicePrefix + device)
                set.insert(unstableDevicePrefix + device)
            }
        }
        return set.sorted().joined(separator: " ")
    }

    /// The device id of a device scope token, in either spelling.
    /// - Parameter token: a scope token.
    public static func deviceId(in token: String) -> String? {
        if token.hasPrefix(devicePrefix) { return String(token.dropFirst(devicePrefix.count)) }
        if token.hasPrefix(unstableDevicePrefix) { return String(token.dropFirst(unstableDevicePrefix.count)) }
        return nil
    }
}
