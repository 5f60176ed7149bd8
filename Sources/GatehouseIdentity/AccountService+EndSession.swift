#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseStorage

/// Ending one session, whoever asks: the account page (a user, their own sessions), the admin API and
/// `gatehouse manage` (an administrator, any session). One method with one set of outcomes, so the
/// adapters cannot disagree about what "already ended" or "not yours" means; each maps the outcome to
/// its own format (a JSON:API error, an HTML page, a CLI line).
///
/// | outcome | when | admin API | account page |
/// |---|---|---|---|
/// | ended, with the ``AccountService/SynapseOutcome`` | it was active | 200 and the session | redirect with a notice |
/// | ``AccountError/isSessionNotFound`` | unknown id, not of the kinds asked, or (for a user) another user's | 404 | 404 page |
/// | ``AccountError/isSessionFinished`` | it had already ended (for a user: one of their own) | 400, as MAS | 400 page |
///
/// A user never learns anything about another user's session: it answers exactly as an unknown id.
extension AccountService {
    /// Who asks to end a session; it decides which sessions an id may name.
    public enum Requester: Sendable, Equatable {
        /// The signed-in user (the account page): only their own sessions.
        case user(id: String)
        /// An administrator (the admin API, `gatehouse manage`): any session.
        case administrator
    }

    /// The kinds of session an id may name.
    public enum EndableKind: Sendable, Hashable, CaseIterable {
        /// A session of the Matrix legacy login layer.
        case compat
        /// An OAuth 2.0 session.
        case oauth2
        /// A browser session of the HTML pages (MAS's "user session").
        case browser
    }

    /// A session as the store has it once it ended.
    public enum EndedSession: Sendable, Equatable {
        case compat(CompatSession)
        case oauth2(OAuth2Session)
        case browser(BrowserSession)
    }

    /// Ends one session. A compat or OAuth 2.0 session's tokens die at once (this process's caches
    /// are told; a running server sees the store revision move) and its device is deleted in Synapse
    /// before this returns (``SynapseOutcome/queued(jobId:reason:)`` when Synapse did not confirm: a
    /// job keeps trying). A browser session's cookie stops counting; it owns no device, and the OAuth
    /// 2.0 sessions it consented to keep running, as in MAS.
    /// - Parameters:
    ///   - id: the session id.
    ///   - kinds: the kinds the id may name (the admin API's paths name one kind each).
    ///   - requester: who asks.
    /// - Returns: the session as it is now, and what happened in Synapse.
    /// - Throws: ``AccountError/isSessionNotFound`` or ``AccountError/isSessionFinished`` (see the
    ///   table above), or a storage error.
    public func endSession(
        id: String, kinds: Set<EndableKind> = Set(EndableKind.allCases), requestedBy requester: Requester
    ) async throws(AccountError) -> (EndedSession, SynapseOutcome) {
        let found = try await findSession(id: id, kinds: kinds)
        guard let found, requester.mayEnd(sessionOf: found.userId) else {
            if case .user = requester { throw .sessionNotFound(ofUser: id) }
            throw .sessionNotFound(id)
        }
        if let finishedAt = found.finishedAt { throw .sessionFinished(id, at: finishedAt) }
        var owner: User?
        if let userId = found.userId { owner = try await requireUser(id: userId) }
        var ended = false
        let finish = { (now: Date) async throws -> [SessionSummary] in
            switch found.session {
            case .compat(let session):
                try await store.compatSessions.finish(sessionId: session.id, at: now)
                ended = true
                return [SessionSummary(session)]
            case .oauth2(let session):
                ended = try await store.oauth2Sessions.finish(sessionId: session.id, at: now)
                return ended ? [SessionSummary(session)] : []
            case .browser(let session):
                ended = try await store.browserSessions.finish(id: session.id, at: now)
                return []
            }
        }
        let outcome: SynapseOutcome
        if let owner {
            outcome = try await endSessionsDeletingDevices(of: owner, finish).1
        } else {
            // A client_credentials session acts for no user and owns no device: nothing in Synapse.
            try await storing { _ = try await finish(clock.now()) }
            onRevocation()
            outcome = .notNeeded
        }
        guard let now = try await findSession(id: id, kinds: kinds) else { throw .sessionNotFound(id) }
        // Another request ended it between the read and the write: answer as that request's second caller.
        if !ended { throw .sessionFinished(id, at: now.finishedAt ?? clock.now()) }
        return (now.session, outcome)
    }

    /// A session of one of `kinds`, with what the rules above need.
    private func findSession(id: String, kinds: Set<EndableKind>) async throws(AccountError) -> FoundSession? {
        // No session id holds a NUL, and the SQLite store would read `<id>\u{0}x` as `<id>`.
        guard !id.utf8.contains(0) else { return nil }
        do {
            if kinds.contains(.compat), let session = try await store.compatSessions.find(sessionId: id) {
                return FoundSession(session: .compat(session), userId: session.userId, finishedAt: session.finishedAt)
            }
            if kinds.contains(.oauth2), let session = try await store.oauth2Sessions.find(sessionId: id) {
                return FoundSession(session: .oauth2(session), userId: session.userId, finishedAt: session.finishedAt)
            }
            if kinds.contains(.browser), let (session, _) = try await store.browserSessions.find(id: id) {
                return FoundSession(session: .browser(session), userId: session.userId, finishedAt: session.finishedAt)
            }
            return nil
        } catch {
            throw .storage(error)
        }
    }
}

/// A session found by id, whatever its kind.
private struct FoundSession {
    var session: AccountService.EndedSession
    /// The user it acts for; `nil` for a client_credentials OAuth 2.0 session.
    var userId: String?
    var finishedAt: Date?
}

extension AccountService.Requester {
    /// Whether this requester may end a session of `userId` (a user: only their own).
    fileprivate func mayEnd(sessionOf userId: String?) -> Bool {
        switch self {
        case .administrator: true
        case .user(let id): userId == id
        }
    }
}
