import Foundation
import GatehouseIdentity

/// The two shapes of `gatehouse manage list-sessions`.
///
/// Text: one line per session, tab-separated, always seven columns in this order (compat and OAuth
/// 2.0 sessions alike): id, kind, `device D` (`device -` for an OAuth 2.0 session without a device),
/// `client C` (`client -` for compat sessions), `created T`, `last active T` (`last active -` when not recorded),
/// and `active` or `finished T`. Times are ISO 8601 in UTC.
///
/// JSON: an array with one object per session and every key always present (`null` when absent).
enum SessionListing {
    /// One line of the text listing.
    /// - Parameter session: the session.
    static func line(_ session: SessionSummary) -> String {
        [
            session.id, session.kind.rawValue, "device \(session.deviceId ?? "-")", "client \(session.clientId ?? "-")",
            "created \(time(session.createdAt))", "last active \(session.lastActiveAt.map(time) ?? "-")",
            session.finishedAt.map { "finished \(time($0))" } ?? "active",
        ].joined(separator: "\t")
    }

    /// The JSON listing (keys sorted, one array).
    /// - Parameter sessions: the sessions.
    static func json(_ sessions: [SessionSummary]) throws -> String {
        let objects: [[String: Any]] = sessions.map { session in
            [
                "id": session.id, "kind": session.kind.rawValue, "device_id": session.deviceId ?? NSNull(),
                "client_id": session.clientId ?? NSNull(), "created_at": time(session.createdAt),
                "last_active_at": session.lastActiveAt.map(time) ?? NSNull(), "finished_at": session.finishedAt.map(time) ?? NSNull(),
                "state": session.isActive ? "active" : "finished",
            ]
        }
        let data = try JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    private static func time(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date)
    }
}
