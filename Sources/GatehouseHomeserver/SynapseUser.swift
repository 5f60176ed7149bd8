/// A user as Synapse reports it from `GET /_synapse/mas/query_user`.
public struct SynapseUser: Sendable, Equatable, Decodable {
    /// The full Matrix ID, `@localpart:server_name`.
    public var userId: String
    public var displayName: String?
    /// An `mxc://` URI.
    public var avatarURL: String?
    public var isSuspended: Bool
    public var isDeactivated: Bool

    /// - Parameters:
    ///   - userId: the full Matrix ID.
    ///   - displayName: the display name, if any.
    ///   - avatarURL: the avatar, if any.
    ///   - isSuspended: suspended by a Synapse admin (MSC3823).
    ///   - isDeactivated: deactivated (e.g. through `delete_user`).
    public init(userId: String, displayName: String? = nil, avatarURL: String? = nil, isSuspended: Bool = false, isDeactivated: Bool = false) {
        self.userId = userId
        self.displayName = displayName
        self.avatarURL = avatarURL
        self.isSuspended = isSuspended
        self.isDeactivated = isDeactivated
    }

    private enum CodingKeys: String, CodingKey {
        case userId = "user_id"
        case displayName = "display_name"
        case avatarURL = "avatar_url"
        case isSuspended = "is_suspended"
        case isDeactivated = "is_deactivated"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        userId = try container.decode(String.self, forKey: .userId)
        displayName = try container.decodeIfPresent(String.self, forKey: .displayName)
        avatarURL = try container.decodeIfPresent(String.self, forKey: .avatarURL)
        isSuspended = try container.decodeIfPresent(Bool.self, forKey: .isSuspended) ?? false
        isDeactivated = try container.decodeIfPresent(Bool.self, forKey: .isDeactivated) ?? false
    }
}
