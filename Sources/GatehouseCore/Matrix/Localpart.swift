/// Matrix user localparts, validated the way Synapse's `check_username` does, so that Gatehouse
/// never stores a user Synapse would refuse to provision.
public enum Localpart {
    /// Why a localpart is refused.
    public enum Problem: Error, Equatable, CustomStringConvertible {
        case empty
        case invalidCharacters
        case reservedUnderscore
        case numeric
        case tooLong(Int)

        public var description: String {
            switch self {
            case .empty: "the username is empty"
            case .invalidCharacters: "usernames may only contain a-z, 0-9 and . _ = - / +"
            case .reservedUnderscore: "usernames may not begin with '_'"
            case .numeric: "all-numeric usernames are reserved for guests"
            case .tooLong(let limit): "the user ID would exceed 255 characters (username limit here: \(limit))"
            }
        }
    }

    /// Checks `localpart` for `@localpart:serverName`.
    /// - Parameters:
    ///   - localpart: the candidate.
    ///   - serverName: the homeserver's `server_name`.
    public static func validate(_ localpart: String, serverName: String) -> Problem? {
        if localpart.isEmpty { return .empty }
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789._=-/+".utf8)
        if !localpart.utf8.allSatisfy(allowed.contains) { return .invalidCharacters }
        if localpart.hasPrefix("_") { return .reservedUnderscore }
        if localpart.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) { return .numeric }
        let limit = 255 - 2 - serverName.utf8.count
        if localpart.utf8.count > limit { return .tooLong(limit) }
        return nil
    }

    /// The localpart named by `text`: a bare localpart, or `@localpart:serverName` of this server.
    /// - Parameters:
    ///   - text: what the user typed.
    ///   - serverName: the homeserver's `server_name`.
    public static func from(_ text: String, serverName: String) -> String? {
        guard text.hasPrefix("@") else { return text }
        let suffix = ":" + serverName
        guard text.hasSuffix(suffix), text.count > suffix.count + 1 else { return nil }
        return String(text.dropFirst().dropLast(suffix.count))
    }

    /// `@localpart:serverName`.
    public static func userId(_ localpart: String, serverName: String) -> String {
        "@\(localpart):\(serverName)"
    }
}
