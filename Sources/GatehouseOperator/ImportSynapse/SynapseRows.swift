#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The Synapse tables `gatehouse import-synapse` reads, in the order it reads them.
public enum SynapseTable: String, Sendable, CaseIterable {
    case users
    case userThreepids = "user_threepids"
    case devices
    case accessTokens = "access_tokens"
    case refreshTokens = "refresh_tokens"
}

/// One row of Synapse's `users` (the columns an import uses).
public struct SynapseUserRow: Sendable, Equatable {
    /// The full user ID, `@localpart:server`.
    public var name: String
    /// A bcrypt hash (`$2b$…`), or `nil`/empty for accounts without a password (SSO-only).
    public var passwordHash: String?
    public var isAdmin: Bool
    public var isDeactivated: Bool
    /// `users.locked` (schema 80 and later).
    public var isLocked: Bool
    public var isGuest: Bool
    /// The application service that registered the user, if any.
    public var appserviceId: String?
    /// `creation_ts`, stored by Synapse in **seconds**.
    public var createdAt: Date?

    public init(
        name: String, passwordHash: String?, isAdmin: Bool = false, isDeactivated: Bool = false, isLocked: Bool = false,
        isGuest: Bool = false, appserviceId: String? = nil, createdAt: Date? = nil
    ) {
        self.name = name
        self.passwordHash = passwordHash
        self.isAdmin = isAdmin
        self.isDeactivated = isDeactivated
        self.isLocked = isLocked
        self.isGuest = isGuest
        self.appserviceId = appserviceId
        self.createdAt = createdAt
    }
}

/// One row of `user_threepids`.
public struct SynapseThreepidRow: Sendable, Equatable {
    public var userId: String
    /// `email` or `msisdn`.
    public var medium: String
    public var address: String
    /// `added_at`, in milliseconds.
    public var addedAt: Date?

    public init(userId: String, medium: String, address: String, addedAt: Date?) {
        self.userId = userId
        self.medium = medium
        self.address = address
        self.addedAt = addedAt
    }
}

/// One row of `devices`.
public struct SynapseDeviceRow: Sendable, Equatable {
    public var userId: String
    public var deviceId: String
    public var displayName: String?
    /// `last_seen`, in milliseconds.
    public var lastSeen: Date?
    /// Hidden devices hold cross-signing keys; they are not logins.
    public var isHidden: Bool

    public init(userId: String, deviceId: String, displayName: String? = nil, lastSeen: Date? = nil, isHidden: Bool = false) {
        self.userId = userId
        self.deviceId = deviceId
        self.displayName = displayName
        self.lastSeen = lastSeen
        self.isHidden = isHidden
    }
}

/// One row of `access_tokens`. Holds the token text: keep it in memory only, never log it.
public struct SynapseAccessTokenRow: Sendable, Equatable {
    public var id: Int64
    public var userId: String
    public var deviceId: String?
    public var token: String
    /// `valid_until_ms`: set for tokens that came with a refresh token (or an admin-set expiry).
    public var validUntil: Date?
    /// Set for an admin's "log in as" token, which MAS does not carry over either.
    public var puppetsUserId: String?
    /// The refresh token this access token was issued with.
    public var refreshTokenId: Int64?
    /// Whether the token was ever used (Synapse sets it on a refreshed token's first use).
    public var used: Bool

    public init(
        id: Int64, userId: String, deviceId: String?, token: String, validUntil: Date? = nil, puppetsUserId: String? = nil,
        refreshTokenId: Int64? = nil, used: Bool = false
    ) {
        self.id = id
        self.userId = userId
        self.deviceId = deviceId
        self.token = token
        self.validUntil = validUntil
        self.puppetsUserId = puppetsUserId
        self.refreshTokenId = refreshTokenId
        self.used = used
    }
}

/// One row of `refresh_tokens`. Holds the token text: keep it in memory only, never log it.
public struct SynapseRefreshTokenRow: Sendable, Equatable {
    public var id: Int64
    public var userId: String
    public var deviceId: String
    public var token: String
    /// The refresh token that replaced this one when it was used.
    public var nextTokenId: Int64?

    public init(id: Int64, userId: String, deviceId: String, token: String, nextTokenId: Int64? = nil) {
        self.id = id
        self.userId = userId
        self.deviceId = deviceId
        self.token = token
        self.nextTokenId = nextTokenId
    }
}

/// Everything read from one Synapse database, in one consistent snapshot.
public struct SynapseSnapshot: Sendable, Equatable {
    public var schemaVersion: Int
    public var users: [SynapseUserRow] = []
    public var threepids: [SynapseThreepidRow] = []
    public var devices: [SynapseDeviceRow] = []
    public var accessTokens: [SynapseAccessTokenRow] = []
    public var refreshTokens: [SynapseRefreshTokenRow] = []

    public init(schemaVersion: Int) {
        self.schemaVersion = schemaVersion
    }

    /// Rows read from `table`.
    public func count(_ table: SynapseTable) -> Int {
        switch table {
        case .users: users.count
        case .userThreepids: threepids.count
        case .devices: devices.count
        case .accessTokens: accessTokens.count
        case .refreshTokens: refreshTokens.count
        }
    }
}
