#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseCore
import GatehouseHomeserver
import GatehouseStorage

/// What a signed-in user does to their own account (the account page at `account_management_uri`),
/// and what an administrator does to a user named by id (the admin API): both call these, so the two
/// cannot drift.
///
/// Every method takes the user's id (the store's ULID, the OAuth `sub`) and only ever touches that
/// user's sessions: another user's session id or device answers exactly as one that does not exist.
/// Changes Synapse must make are made before the method returns; a rename, a display name or a
/// cross-signing reset changes nothing locally when Synapse refuses. Ending sessions finishes them in
/// the store first (their tokens die at once), then makes Synapse's device list match; the outcome
/// says whether Synapse confirmed.
extension AccountService {
    /// A user's active sessions: those that own (or may own) a Matrix device, and the browser
    /// sessions of the HTML pages.
    public struct UserSessions: Sendable, Equatable {
        /// Compat and OAuth 2.0 sessions, oldest first.
        public var sessions: [SessionSummary]
        /// Browser sessions, oldest first.
        public var browserSessions: [BrowserSession]
    }

    /// One active session of a user.
    public enum UserSession: Sendable, Equatable {
        /// A compat or OAuth 2.0 session.
        case device(SessionSummary)
        /// A browser session of the HTML pages.
        case browser(BrowserSession)
    }

    /// Synapse's limit on device display names (`MAX_DEVICE_DISPLAY_NAME_LEN`).
    public static let maximumDeviceNameLength = 100
    /// Synapse's limit on profile display names (`MAX_DISPLAYNAME_LEN`).
    public static let maximumDisplayNameLength = 256

    // MARK: Reading

    /// The user's unfinished sessions.
    /// - Parameter userId: the user.
    public func activeSessions(userId: String) async throws(AccountError) -> UserSessions {
        do {
            let compat = try await store.compatSessions.activeSessions(userId: userId).map(SessionSummary.init)
            let oauth2 = try await store.oauth2Sessions.activeSessions(userId: userId).map(SessionSummary.init)
            let browsers = try await store.browserSessions.activeSessions(userId: userId)
            return UserSessions(sessions: Self.ordered(compat + oauth2), browserSessions: browsers)
        } catch {
            throw .storage(error)
        }
    }

    /// One unfinished session of the user, whatever its kind.
    ///
    /// Answers as ``endSession(id:kinds:requestedBy:)`` does for a user, so the session page, its
    /// sign-out confirmation and the sign-out itself agree: one of the user's own sessions that ended
    /// is "already finished"; another user's, ended or not, is "not found" like an unknown id.
    /// - Parameters:
    ///   - id: the session id.
    ///   - userId: the user.
    /// - Throws: ``AccountError/isSessionNotFound`` when it is unknown or another user's;
    ///   ``AccountError/isSessionFinished`` when it is the user's own and has ended.
    public func activeSession(id: String, userId: String) async throws(AccountError) -> UserSession {
        do {
            if let compat = try await store.compatSessions.find(sessionId: id) {
                guard compat.userId == userId else { throw AccountError.sessionNotFound(ofUser: id) }
                if let finishedAt = compat.finishedAt { throw AccountError.sessionFinished(id, at: finishedAt) }
                return .device(SessionSummary(compat))
            }
            if let oauth2 = try await store.oauth2Sessions.find(sessionId: id) {
                guard oauth2.userId == userId else { throw AccountError.sessionNotFound(ofUser: id) }
                if let finishedAt = oauth2.finishedAt { throw AccountError.sessionFinished(id, at: finishedAt) }
                return .device(SessionSummary(oauth2))
            }
            if let (browser, _) = try await store.browserSessions.find(id: id), browser.userId == userId {
                if let finishedAt = browser.finishedAt { throw AccountError.sessionFinished(id, at: finishedAt) }
                return .browser(browser)
            }
        } catch let error as AccountError {
            throw error
        } catch {
            throw .storage(error)
        }
        throw .sessionNotFound(ofUser: id)
    }

    /// The unfinished session of the user that owns a Matrix device (the MSC4191 deep links name devices).
    /// - Parameters:
    ///   - deviceId: the device.
    ///   - userId: the user.
    /// - Throws: ``AccountError/isDeviceNotFound`` when no active session of this user has it.
    public func activeSession(deviceId: String, userId: String) async throws(AccountError) -> SessionSummary {
        do {
            if let compat = try await store.compatSessions.activeSession(userId: userId, deviceId: deviceId) { return SessionSummary(compat) }
            if let oauth2 = try await store.oauth2Sessions.activeSession(userId: userId, deviceId: deviceId) { return SessionSummary(oauth2) }
        } catch {
            throw .storage(error)
        }
        throw .deviceNotFound(deviceId)
    }

    /// The user's profile as Synapse has it (display name), asked with a short timeout.
    /// - Parameter userId: the user.
    /// - Returns: `nil` when Synapse does not know the user.
    /// - Throws: ``AccountError/isSynapseUnreachable`` when Synapse does not answer.
    public func profile(userId: String) async throws(AccountError) -> SynapseUser? {
        let user = try await requireUser(id: userId)
        do {
            return try await synapse.queryUser(localpart: user.username, timeout: .seconds(2))
        } catch {
            throw error.isRetryable ? .synapseUnreachable(error) : .synapseRefused(error)
        }
    }

    // MARK: Ending sessions

    /// Ends every session of the user but one browser session (the page's "sign out everywhere else"):
    /// compat and OAuth 2.0 sessions with their devices, and the other browser sessions.
    /// - Parameters:
    ///   - userId: the user.
    ///   - keepingBrowserSession: the browser session that stays signed in, if any.
    /// - Returns: the compat and OAuth 2.0 sessions ended, and what happened in Synapse.
    public func endOtherSessions(
        userId: String, keepingBrowserSession: String?
    ) async throws(AccountError) -> ([SessionSummary], SynapseOutcome) {
        let user = try await requireUser(id: userId)
        return try await endSessionsDeletingDevices(of: user) { now in
            let compat = try await store.compatSessions.finishAll(userId: user.id, at: now).map(SessionSummary.init)
            let oauth2 = try await store.oauth2Sessions.finishAll(userId: user.id, at: now).map(SessionSummary.init)
            for browser in try await store.browserSessions.activeSessions(userId: user.id) where browser.id != keepingBrowserSession {
                _ = try await store.browserSessions.finish(id: browser.id, at: now)
            }
            return Self.ordered(compat + oauth2)
        }
    }

    // MARK: Changing things

    /// Renames the device of one of the user's sessions: in Synapse first
    /// (`update_device_display_name`), then in the store; nothing changes when Synapse refuses.
    /// - Parameters:
    ///   - sessionId: a compat or OAuth 2.0 session with a device.
    ///   - userId: the user.
    ///   - name: the new name (surrounding spaces are dropped; 1 to ``maximumDeviceNameLength`` characters).
    /// - Throws: ``AccountError/isSessionNotFound``, ``AccountError/isSessionFinished`` (one of the
    ///   user's own that ended), ``AccountError/isInvalidDisplayName``, or a Synapse error.
    public func renameSession(id sessionId: String, userId: String, to name: String) async throws(AccountError) {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw .invalidDisplayName("it is empty") }
        guard trimmed.count <= Self.maximumDeviceNameLength else {
            throw .invalidDisplayName("it is longer than \(Self.maximumDeviceNameLength) characters")
        }
        guard trimmed.unicodeScalars.allSatisfy({ $0.properties.generalCategory != .control }) else {
            throw .invalidDisplayName("it contains control characters")
        }
        guard case .device(let summary) = try await activeSession(id: sessionId, userId: userId), let deviceId = summary.deviceId else {
            throw .sessionNotFound(ofUser: sessionId)
        }
        let user = try await requireUser(id: userId)
        do {
            try await synapse.updateDeviceDisplayName(localpart: user.username, deviceId: deviceId, displayName: trimmed)
        } catch {
            throw error.isRetryable ? .synapseUnreachable(error) : .synapseRefused(error)
        }
        let renamed: Bool
        do {
            switch summary.kind {
            case .compat: renamed = try await store.compatSessions.rename(sessionId: summary.id, displayName: trimmed)
            case .oauth2: renamed = try await store.oauth2Sessions.rename(sessionId: summary.id, humanName: trimmed)
            }
        } catch {
            throw .storage(error)
        }
        // Ended between the check and the write: its device is gone from Synapse too.
        if !renamed { throw .sessionFinished(sessionId, at: clock.now()) }
    }

    /// Sets (or, with `nil` or only spaces, removes) the user's display name in Synapse
    /// (`set_displayname` / `unset_displayname`).
    /// - Parameters:
    ///   - userId: the user.
    ///   - displayName: the name (surrounding spaces are dropped; at most ``maximumDisplayNameLength`` characters).
    public func setDisplayName(userId: String, to displayName: String?) async throws(AccountError) {
        let trimmed = displayName?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard trimmed.count <= Self.maximumDisplayNameLength else {
            throw .invalidDisplayName("it is longer than \(Self.maximumDisplayNameLength) characters")
        }
        guard trimmed.unicodeScalars.allSatisfy({ $0.properties.generalCategory != .control }) else {
            throw .invalidDisplayName("it contains control characters")
        }
        let user = try await requireUser(id: userId)
        do {
            if trimmed.isEmpty {
                try await synapse.unsetDisplayname(localpart: user.username)
            } else {
                try await synapse.setDisplayname(localpart: user.username, displayname: trimmed)
            }
        } catch {
            throw error.isRetryable ? .synapseUnreachable(error) : .synapseRefused(error)
        }
    }

    /// Replaces the user's password, and with `endingOtherSessions` ends every other session as
    /// ``endOtherSessions(userId:keepingBrowserSession:)`` does. The caller has checked the current
    /// password (the account page) or is an administrator.
    /// - Parameters:
    ///   - userId: the user.
    ///   - password: the new password (at least `minimumLength` characters).
    ///   - minimumLength: the shortest password accepted.
    ///   - endingOtherSessions: also sign out everywhere else.
    ///   - keepingBrowserSession: the browser session that stays signed in.
    /// - Returns: what happened in Synapse (``SynapseOutcome/notNeeded`` without ending sessions).
    public func changePassword(
        userId: String, to password: String, minimumLength: Int = 8, endingOtherSessions: Bool, keepingBrowserSession: String?
    ) async throws(AccountError) -> SynapseOutcome {
        guard password.count >= minimumLength else { throw .invalidPassword("it is shorter than \(minimumLength) characters") }
        let user = try await requireUser(id: userId)
        let record = try await hashPassword(password, userId: user.id)
        try await storing { try await store.users.addPassword(record) }
        guard endingOtherSessions else { return .notNeeded }
        return try await endOtherSessions(userId: userId, keepingBrowserSession: keepingBrowserSession).1
    }

    /// Lets the user replace their cross-signing keys without user-interactive auth for Synapse's
    /// window (10 minutes): `allow_cross_signing_reset`, the MSC4191 `org.matrix.cross_signing_reset` action.
    /// - Parameter userId: the user.
    public func allowCrossSigningReset(userId: String) async throws(AccountError) {
        let user = try await requireUser(id: userId)
        do {
            try await synapse.allowCrossSigningReset(localpart: user.username)
        } catch {
            throw error.isRetryable ? .synapseUnreachable(error) : .synapseRefused(error)
        }
    }

    // MARK: Helpers

    /// Ends sessions as ``endSessions(of:_:)`` does, but deletes their devices in Synapse directly
    /// (`delete_device`, one call per device no remaining session uses) so the caller knows the
    /// outcome before it answers; a Synapse failure queues a `sync_devices` job with the devices that
    /// remain and reports ``SynapseOutcome/queued(jobId:reason:)``.
    func endSessionsDeletingDevices(
        of user: User, _ finish: (Date) async throws -> [SessionSummary]
    ) async throws(AccountError) -> ([SessionSummary], SynapseOutcome) {
        let (finished, remaining) = try await finishSessions(of: user, finish)
        let gone = Set(finished.compactMap(\.deviceId)).subtracting(remaining).sorted()
        guard !gone.isEmpty else { return (finished, .notNeeded) }
        do {
            for deviceId in gone {
                try await synapse.deleteDevice(localpart: user.username, deviceId: deviceId)
            }
            return (finished, .done)
        } catch {
            let job: Job
            do {
                job = try await queue.enqueue(.syncDevices(.init(localpart: user.username, devices: remaining)), clock: clock, random: random)
            } catch let storeError {
                throw .storage(storeError)
            }
            return (finished, .queued(jobId: job.id, reason: "\(error)"))
        }
    }

    /// The user with this id.
    func requireUser(id userId: String) async throws(AccountError) -> User {
        guard let found = try await user(id: userId) else { throw .userNotFound(userId) }
        return found
    }
}
