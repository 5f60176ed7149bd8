#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseStorage

/// One session of a user as an administrator sees it (`gatehouse manage list-sessions`), whatever
/// kind of login made it.
///
/// Compatibility sessions (`/login`, `issue-compatibility-token`) are the only kind today; OAuth 2.0
/// sessions join as ``Kind-swift.enum/oauth2`` with their `clientId`, so the listing's columns and
/// JSON keys stay the same when they arrive (as MAS lists both in `mas-cli manage`'s and the admin
/// API's session views).
public struct SessionSummary: Sendable, Equatable {
    /// How the session was started.
    public enum Kind: String, Sendable, CaseIterable {
        /// The Matrix legacy login layer (MAS's "compat" sessions).
        case compat
        /// An OAuth 2.0 grant (not issued yet).
        case oauth2
    }

    /// The session's ULID, what `end-session` takes.
    public var id: String
    public var kind: Kind
    /// The Matrix device the session owns.
    public var deviceId: String
    /// The OAuth 2.0 client; always `nil` for compat sessions.
    public var clientId: String?
    public var createdAt: Date
    /// The last request seen with one of its tokens, when recorded.
    public var lastActiveAt: Date?
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
    public init(
        id: String, kind: Kind, deviceId: String, clientId: String? = nil, createdAt: Date, lastActiveAt: Date? = nil, finishedAt: Date? = nil
    ) {
        self.id = id
        self.kind = kind
        self.deviceId = deviceId
        self.clientId = clientId
        self.createdAt = createdAt
        self.lastActiveAt = lastActiveAt
        self.finishedAt = finishedAt
    }

    /// The summary of a compat session.
    /// - Parameter session: the stored session.
    public init(_ session: CompatSession) {
        self.init(
            id: session.id, kind: .compat, deviceId: session.deviceId, createdAt: session.createdAt, lastActiveAt: session.lastActiveAt,
            finishedAt: session.finishedAt)
    }

    /// Not ended yet.
    public var isActive: Bool { finishedAt == nil }
}
