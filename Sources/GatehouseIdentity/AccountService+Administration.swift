#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseStorage

/// Account operations the admin API needs beyond the ones `gatehouse manage` already had; they live
/// on ``AccountService`` so the CLI and the API keep one behaviour.
extension AccountService {
    /// Grants or withdraws the right to request `urn:synapse:admin:*` and `urn:mas:admin` (MAS
    /// `can_request_admin`). Sessions already granted keep their scope until they end, as in MAS.
    /// - Parameters:
    ///   - username: the user.
    ///   - admin: the new value.
    /// - Returns: the user as stored now.
    public func setAdmin(username: String, _ admin: Bool) async throws(AccountError) -> User {
        let user = try await requireUser(username)
        try await storing { try await store.users.setAdmin(userId: user.id, admin) }
        var updated = user
        updated.isAdmin = admin
        return updated
    }

    /// The user with this id, whatever its state.
    /// - Parameter id: the user's ULID.
    public func user(id: String) async throws(AccountError) -> User? {
        do {
            return try await store.users.find(id: id)
        } catch {
            throw .storage(error)
        }
    }

    /// Ends one browser session of the HTML pages (MAS's "user session"): its cookie no longer
    /// counts. It owns no device, so Synapse is not involved; OAuth 2.0 sessions it consented to keep
    /// running, as in MAS.
    /// - Parameter id: the browser session's id.
    /// - Returns: the session as it is now (finished).
    /// - Throws: ``AccountError`` for an unknown or already finished session.
    public func endBrowserSession(id: String) async throws(AccountError) -> BrowserSession {
        let found: (BrowserSession, User)?
        do {
            found = try await store.browserSessions.find(id: id)
        } catch {
            throw .storage(error)
        }
        guard var session = found?.0 else { throw .sessionNotFound(id) }
        if let finishedAt = session.finishedAt { throw .sessionFinished(id, at: finishedAt) }
        let now = clock.now()
        var ended = false
        try await storing { ended = try await store.browserSessions.finish(id: id, at: now) }
        // A concurrent sign-out won: report the session as finished, as the second caller would see it.
        guard ended else { throw .sessionFinished(id, at: now) }
        onRevocation()
        session.finishedAt = now
        return session
    }
}
