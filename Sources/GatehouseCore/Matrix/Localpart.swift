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
        /// `@…` that is not `@localpart:serverName` of this server.
        case notThisServer

        public var description: String {
            switch self {
            case .empty: "the username is empty"
            case .notThisServer: "it is not a user ID of this server (@name:server_name)"
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

    /// The canonical localpart that a login or an admin command names, or why no account can have
    /// that name.
    ///
    /// Accepts a bare localpart or `@localpart:serverName` of this server. ASCII capitals are folded to
    /// lower case, because Synapse matches login names case-insensitively and every stored localpart
    /// is lower case (``validate(_:serverName:)`` refuses capitals at registration). Anything else
    /// Synapse does not allow in a localpart (another server's ID, NUL and other control characters,
    /// spaces, non-ASCII, too long) is refused, so that stores and rate limiters only ever see the
    /// canonical name: `alice`, `ALICE` and `@alice:serverName` are one account and one rate-limit key,
    /// while `alice\u{0}x` is no account at all (SQLite would read it as `alice`, since a C string ends
    /// at the NUL).
    /// - Parameters:
    ///   - text: what the user or admin typed.
    ///   - serverName: the homeserver's `server_name`.
    public static func canonical(_ text: String, serverName: String) -> Result<String, Problem> {
        // The longest user ID is 255 bytes; checked first so a huge input costs nothing more.
        let limit = 255 - 2 - serverName.utf8.count
        guard text.utf8.count <= 255 else { return .failure(.tooLong(limit)) }
        guard let localpart = from(text, serverName: serverName) else { return .failure(.notThisServer) }
        let folded = String(decoding: localpart.utf8.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
        if let problem = validate(folded, serverName: serverName) { return .failure(problem) }
        return .success(folded)
    }

    /// `@localpart:serverName`.
    public static func userId(_ localpart: String, serverName: String) -> String {
        "@\(localpart):\(serverName)"
    }
}
