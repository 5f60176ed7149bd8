#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseCore

/// A local account. Identified by a ULID (the OAuth `sub`) and a Matrix localpart (`username`).
public struct User: Sendable, Equatable {
    public var id: String
    public var username: String
    public var createdAt: Date
    public var lockedAt: Date?
    public var deactivatedAt: Date?
    /// May obtain `urn:synapse:admin:*` (MAS `can_request_admin`).
    public var isAdmin: Bool

    public init(id: String, username: String, createdAt: Date, lockedAt: Date? = nil, deactivatedAt: Date? = nil, isAdmin: Bool = false) {
        self.id = id
        self.username = username
        self.createdAt = createdAt
        self.lockedAt = lockedAt
        self.deactivatedAt = deactivatedAt
        self.isAdmin = isAdmin
    }

    /// Neither locked nor deactivated.
    public var isActive: Bool { lockedAt == nil && deactivatedAt == nil }
}

/// One stored password hash; the newest row of a user is the current one.
public struct PasswordRecord: Sendable, Equatable {
    public var id: String
    public var userId: String
    /// The scheme version (`passwords.schemes[].version`) that produced `hash`.
    public var version: Int
    /// A PHC string (`$argon2id$...`) or a bcrypt hash (`$2b$...`).
    public var hash: String
    public var createdAt: Date

    public init(id: String, userId: String, version: Int, hash: String, createdAt: Date) {
        self.id = id
        self.userId = userId
        self.version = version
        self.hash = hash
        self.createdAt = createdAt
    }
}

/// An email address of a user (MAS `user_emails`); imported from Synapse's email 3PIDs.
public struct UserEmail: Sendable, Equatable {
    public var id: String
    public var userId: String
    /// The address as Synapse stored it.
    public var email: String
    public var createdAt: Date

    /// - Parameters:
    ///   - id: a ULID.
    ///   - userId: the user.
    ///   - email: the address.
    ///   - createdAt: when it was added (Synapse's `added_at` for imported ones).
    public init(id: String, userId: String, email: String, createdAt: Date) {
        self.id = id
        self.userId = userId
        self.email = email
        self.createdAt = createdAt
    }
}

/// A legacy (compatibility) login session: one Matrix device of one user.
public struct CompatSession: Sendable, Equatable {
    public var id: String
    public var userId: String
    public var deviceId: String
    public var displayName: String?
    /// Grants `urn:synapse:admin:*` to its tokens.
    public var isSynapseAdmin: Bool
    public var createdAt: Date
    public var finishedAt: Date?
    public var lastActiveAt: Date?

    public init(
        id: String, userId: String, deviceId: String, displayName: String? = nil, isSynapseAdmin: Bool = false,
        createdAt: Date, finishedAt: Date? = nil, lastActiveAt: Date? = nil
    ) {
        self.id = id
        self.userId = userId
        self.deviceId = deviceId
        self.displayName = displayName
        self.isSynapseAdmin = isSynapseAdmin
        self.createdAt = createdAt
        self.finishedAt = finishedAt
        self.lastActiveAt = lastActiveAt
    }
}

/// A compat access token; only its SHA-256 is stored.
public struct CompatAccessToken: Sendable, Equatable {
    public var id: String
    public var sessionId: String
    /// Lower-case hex SHA-256 of the token text.
    public var tokenHash: String
    public var createdAt: Date
    /// `nil` for tokens that never expire (compat tokens without refresh).
    public var expiresAt: Date?
    public var revokedAt: Date?

    public init(id: String, sessionId: String, tokenHash: String, createdAt: Date, expiresAt: Date? = nil, revokedAt: Date? = nil) {
        self.id = id
        self.sessionId = sessionId
        self.tokenHash = tokenHash
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }
}

/// A compat refresh token; single use, rotated on every refresh.
///
/// States: live (neither consumed nor revoked); consumed by a refresh (`consumedAt`, with the token
/// that replaced it in `nextRefreshTokenId`); revoked (its session ended, or it was replaced because a
/// client retried a refresh whose answer it never got). A token both consumed and revoked has had
/// that one retry.
public struct CompatRefreshToken: Sendable, Equatable {
    public var id: String
    public var sessionId: String
    /// The access token issued together with it (revoked when this one is used).
    public var accessTokenId: String
    public var tokenHash: String
    public var createdAt: Date
    public var consumedAt: Date?
    public var revokedAt: Date?
    /// The refresh token issued when this one was used (`nil` while live, and for tokens used before
    /// Gatehouse recorded it).
    public var nextRefreshTokenId: String?

    public init(
        id: String, sessionId: String, accessTokenId: String, tokenHash: String, createdAt: Date,
        consumedAt: Date? = nil, revokedAt: Date? = nil, nextRefreshTokenId: String? = nil
    ) {
        self.id = id
        self.sessionId = sessionId
        self.accessTokenId = accessTokenId
        self.tokenHash = tokenHash
        self.createdAt = createdAt
        self.consumedAt = consumedAt
        self.revokedAt = revokedAt
        self.nextRefreshTokenId = nextRefreshTokenId
    }
}

/// Everything introspection needs about an access token, read in one query.
public struct CompatAccessTokenLookup: Sendable, Equatable {
    public var token: CompatAccessToken
    public var session: CompatSession
    public var user: User

    public init(token: CompatAccessToken, session: CompatSession, user: User) {
        self.token = token
        self.session = session
        self.user = user
    }
}

/// Work that must happen eventually (e.g. provisioning after a Synapse outage), persisted so it
/// survives restarts.
public struct Job: Sendable, Equatable {
    public var id: String
    /// What to do, e.g. `provision_user`; the runner maps it to a handler.
    public var kind: String
    /// JSON arguments for the handler.
    public var payload: String
    public var attempts: Int
    /// Not before this time.
    public var runAt: Date
    public var lastError: String?
    public var createdAt: Date
    public var completedAt: Date?

    public init(
        id: String, kind: String, payload: String, attempts: Int = 0, runAt: Date, lastError: String? = nil,
        createdAt: Date, completedAt: Date? = nil
    ) {
        self.id = id
        self.kind = kind
        self.payload = payload
        self.attempts = attempts
        self.runAt = runAt
        self.lastError = lastError
        self.createdAt = createdAt
        self.completedAt = completedAt
    }
}

/// A single-use `m.login.token` (a `loginToken`), valid for a short time after issue; only its
/// SHA-256 is stored.
public struct CompatLoginToken: Sendable, Equatable {
    public var id: String
    public var userId: String
    public var tokenHash: String
    public var createdAt: Date
    public var expiresAt: Date
    public var consumedAt: Date?

    public init(id: String, userId: String, tokenHash: String, createdAt: Date, expiresAt: Date, consumedAt: Date? = nil) {
        self.id = id
        self.userId = userId
        self.tokenHash = tokenHash
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.consumedAt = consumedAt
    }
}

/// An OAuth 2.0 client (MAS `oauth2_clients`).
public struct OAuth2Client: Sendable, Equatable {
    /// Where the client comes from, which decides who may change or remove it.
    public enum Origin: String, Sendable, CaseIterable {
        /// Registered through `POST /oauth2/registration` (RFC 7591): public, unverified.
        case dynamic
        /// Declared in `clients[]` of the configuration; `serve` adds, updates and removes these.
        case config
        /// Added with `gatehouse clients add`; only `gatehouse clients remove` removes it.
        case cli

        /// Static clients are the admin's: trusted, possibly confidential.
        public var isStatic: Bool { self != .dynamic }
    }

    /// The `client_id`, a ULID.
    public var id: String
    public var origin: Origin
    public var metadata: ClientMetadata
    /// SHA-256 (lower-case hex) of the client secret, for confidential static clients; never the secret.
    public var secretHash: String?
    /// SHA-256 of the canonical metadata of a dynamic client: identical registrations share one
    /// client (as in MAS).
    public var metadataDigest: String?
    public var createdAt: Date

    /// - Parameters:
    ///   - id: the client id (ULID).
    ///   - origin: dynamic, config or cli.
    ///   - metadata: the registered metadata.
    ///   - secretHash: the secret's SHA-256 for confidential clients.
    ///   - metadataDigest: the deduplication digest of a dynamic client.
    ///   - createdAt: registration time (`client_id_issued_at`).
    public init(id: String, origin: Origin, metadata: ClientMetadata, secretHash: String? = nil, metadataDigest: String? = nil, createdAt: Date) {
        self.id = id
        self.origin = origin
        self.metadata = metadata
        self.secretHash = secretHash
        self.metadataDigest = metadataDigest
        self.createdAt = createdAt
    }
}

/// What syncing `clients[]` into the store changed.
public struct ClientSyncResult: Sendable, Equatable {
    public var added: [String]
    public var updated: [String]
    public var removed: [String]

    /// - Parameters:
    ///   - added: ids inserted.
    ///   - updated: ids whose metadata or secret changed.
    ///   - removed: config clients no longer in the configuration.
    public init(added: [String] = [], updated: [String] = [], removed: [String] = []) {
        self.added = added
        self.updated = updated
        self.removed = removed
    }
}
