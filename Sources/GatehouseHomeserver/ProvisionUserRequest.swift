/// The body of `POST /_synapse/mas/provision_user`: creates the user if missing (201), otherwise
/// updates it (200). Fields left alone are not sent and Synapse leaves them unchanged.
///
/// Each `set…`/`unset…` pair is mutually exclusive on the wire (Synapse answers 400
/// `M_INVALID_PARAM` to both); this type keeps one state per field, so setting one side clears the
/// other.
public struct ProvisionUserRequest: Sendable, Equatable {
    private enum Change<Value: Sendable & Equatable>: Sendable, Equatable {
        case keep
        case set(Value)
        case unset

        var value: Value? { if case .set(let value) = self { value } else { nil } }
        var isUnset: Bool { self == .unset }

        mutating func assign(_ value: Value?) {
            if let value { self = .set(value) } else if case .set = self { self = .keep }
        }

        mutating func assignUnset(_ unset: Bool) {
            if unset { self = .unset } else if self == .unset { self = .keep }
        }
    }

    /// The Matrix localpart (the user is `@localpart:server_name`).
    public var localpart: String
    private var displayname: Change<String>
    private var avatarURL: Change<String>
    private var emails: Change<[String]>
    /// Locks (`true`) or unlocks (`false`) the account; `nil` leaves it as it is.
    public var locked: Bool?

    /// - Parameters:
    ///   - localpart: the Matrix localpart.
    ///   - setDisplayname: a new display name.
    ///   - unsetDisplayname: remove the display name (not together with `setDisplayname`).
    ///   - setAvatarURL: a new `mxc://` avatar.
    ///   - unsetAvatarURL: remove the avatar (not together with `setAvatarURL`).
    ///   - setEmails: the complete list of the user's email addresses; Synapse adds and removes
    ///     email 3PIDs to match.
    ///   - unsetEmails: remove every email 3PID (not together with `setEmails`).
    ///   - locked: lock or unlock the account; `nil` leaves it unchanged.
    public init(
        localpart: String, setDisplayname: String? = nil, unsetDisplayname: Bool = false, setAvatarURL: String? = nil,
        unsetAvatarURL: Bool = false, setEmails: [String]? = nil, unsetEmails: Bool = false, locked: Bool? = nil
    ) {
        precondition(setDisplayname == nil || !unsetDisplayname, "setDisplayname and unsetDisplayname are mutually exclusive")
        precondition(setAvatarURL == nil || !unsetAvatarURL, "setAvatarURL and unsetAvatarURL are mutually exclusive")
        precondition(setEmails == nil || !unsetEmails, "setEmails and unsetEmails are mutually exclusive")
        self.localpart = localpart
        self.displayname = unsetDisplayname ? .unset : setDisplayname.map { .set($0) } ?? .keep
        self.avatarURL = unsetAvatarURL ? .unset : setAvatarURL.map { .set($0) } ?? .keep
        self.emails = unsetEmails ? .unset : setEmails.map { .set($0) } ?? .keep
        self.locked = locked
    }

    /// A new display name; assigning one clears `unsetDisplayname`.
    public var setDisplayname: String? {
        get { displayname.value }
        set { displayname.assign(newValue) }
    }

    /// Whether to remove the display name; `true` clears `setDisplayname`.
    public var unsetDisplayname: Bool {
        get { displayname.isUnset }
        set { displayname.assignUnset(newValue) }
    }

    /// A new avatar URL; assigning one clears `unsetAvatarURL`.
    public var setAvatarURL: String? {
        get { avatarURL.value }
        set { avatarURL.assign(newValue) }
    }

    /// Whether to remove the avatar; `true` clears `setAvatarURL`.
    public var unsetAvatarURL: Bool {
        get { avatarURL.isUnset }
        set { avatarURL.assignUnset(newValue) }
    }

    /// The complete list of email addresses; assigning one clears `unsetEmails`.
    public var setEmails: [String]? {
        get { emails.value }
        set { emails.assign(newValue) }
    }

    /// Whether to remove every email address; `true` clears `setEmails`.
    public var unsetEmails: Bool {
        get { emails.isUnset }
        set { emails.assignUnset(newValue) }
    }
}

extension ProvisionUserRequest: Encodable {
    private enum CodingKeys: String, CodingKey {
        case localpart
        case setDisplayname = "set_displayname"
        case unsetDisplayname = "unset_displayname"
        case setAvatarURL = "set_avatar_url"
        case unsetAvatarURL = "unset_avatar_url"
        case setEmails = "set_emails"
        case unsetEmails = "unset_emails"
        case locked
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(localpart, forKey: .localpart)
        try container.encodeIfPresent(setDisplayname, forKey: .setDisplayname)
        if unsetDisplayname { try container.encode(true, forKey: .unsetDisplayname) }
        try container.encodeIfPresent(setAvatarURL, forKey: .setAvatarURL)
        if unsetAvatarURL { try container.encode(true, forKey: .unsetAvatarURL) }
        try container.encodeIfPresent(setEmails, forKey: .setEmails)
        if unsetEmails { try container.encode(true, forKey: .unsetEmails) }
        try container.encodeIfPresent(locked, forKey: .locked)
    }
}
