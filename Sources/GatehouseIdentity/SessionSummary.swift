#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseStorage

/// One session of a user as an administrator sees it (`gatehouse manage list-sessions`), whatever
/// kind of login made it.
///
/// Compatibility sessions (`/login`, `issue-compatibility-token`) and OAuth 2.0 sessions (with their
/// `clientId`) share one shape, as MAS lists both in `mas-cli manage`'s and the admin API's session
/// views.
public struct SessionSummary: Sendable, Equatable {
    /// How the session was started.
    public enum Kind: String, Sendable, CaseIterable {
        /// The Matrix legacy login layer (MAS's "compat" sessions).
        case compat
        /// An OAuth 2.0 grant (`/oauth2/token`).
        case oauth2
    }

    /// The session's ULID, what `end-session` takes.
    public var id: String
    public var kind: Kind
    /// The Matrix device the session owns; `nil` for an OAuth 2.0 session without a device scope.
    public var deviceId: String?
    /// The OAuth 2.0 client; always `nil` for compat sessions.
    public var clientId: String?
    public var createdAt: Date
    /// The last request seen with one of its tokens, when recorded.
    public var lastActiveAt: Date?
    /// The client address of that request, when recorded.
    public var lastActiveAddress: String?
    /// The device name the user (or the client at login) chose; `nil` when none was given.
    public var displayName: String?
    /// When it ended; `nil` while active.
    public var finishedAt: Date?

    /// - Parameters:
    ///   - id: the session id.
    ///   - kind: compat or OAuth 2.0.
    ///   - deviceId: the Matrix device.
    ///   - clientId: the OAuth 2.0 client, if any.
    ///   - createdAt: the start.
    ///   - lastActiveAt: the last recorded activity.
    ///   - finishedAt: the end, if it ended.
    ///   - lastActiveAddress: the client address of the last recorded activity.
    ///   - displayName: the device name.
    public init(
        id: String, kind: Kind, deviceId: String?, clientId: String? = nil, createdAt: Date, lastActiveAt: Date? = nil, finishedAt: Date? = nil,
        lastActiveAddress: String? = nil, displayName: String? = nil
    ) {
        self.id = id
        self.kind = kind
        self.deviceId = deviceId
        self.clientId = clientId
        self.createdAt = createdAt
        self.lastActiveAt = lastActiveAt
        self.finishedAt = finishedAt
        self.lastActiveAddress = lastActiveAddress
        self.displayName = displayName
    }

    /// The summary of a compat session.
    /// - Parameter session: the stored session.
    public init(_ session: CompatSession) {
        self.init(
            id: session.id, kind: .compat, deviceId: session.deviceId, createdAt: session.createdAt, lastActiveAt: session.lastActiveAt,
            finishedAt: session.finishedAt, lastActiveAddress: session.lastActiveAddress, displayName: session.displayName)
    }

    /// The summary of an OAuth 2.0 session.
    /// - Parameter session: the stored session.
    public init(_ session: OAuth2Session) {
        self.init(
            id: session.id, kind: .oauth2, deviceId: session.deviceId, clientId: session.clientId, createdAt: session.createdAt,
            lastActiveAt: session.lastActiveAt, finishedAt: session.finishedAt, lastActiveAddress: session.lastActiveAddress,
            displayName: session.humanName)
    }

    /// Not ended yet.
    public var isActive: Bool { finishedAt == nil }
}
