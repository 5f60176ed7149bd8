#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The last use of one session, as the activity recorder collects it in memory and the flusher
/// writes it: "last used at / from" of a compat, OAuth 2.0 or browser session.
public struct SessionActivity: Sendable, Equatable {
    /// The table the session lives in.
    public enum Kind: String, Sendable, CaseIterable {
        case compat
        case oauth2
        /// A browser session of the HTML pages.
        case browser
    }

    public var kind: Kind
    public var sessionId: String
    /// The latest use seen.
    public var lastActiveAt: Date
    /// The client address of that use, when known (`nil` keeps the stored one).
    public var address: String?

    /// - Parameters:
    ///   - kind: compat, OAuth 2.0 or browser session.
    ///   - sessionId: the session.
    ///   - lastActiveAt: the latest use.
    ///   - address: the client address of that use, if known.
    public init(kind: Kind, sessionId: String, lastActiveAt: Date, address: String? = nil) {
        self.kind = kind
        self.sessionId = sessionId
        self.lastActiveAt = lastActiveAt
        self.address = address
    }
}

/// Writes collected session activity.
public protocol SessionActivityRepository: Sendable {
    /// Writes a batch in one transaction: each session's `last_active_at` moves forward (never back),
    /// its address is replaced when the batch has one. Unknown sessions are ignored. Never moves the
    /// store revision: no authorization decision reads these columns.
    /// - Parameter batch: at most one entry per session.
    func record(_ batch: [SessionActivity]) async throws
}
