#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseCore
import GatehouseHomeserver

/// Why an account operation was refused or failed; each says what to do about it.
public struct AccountError: Error, CustomStringConvertible, Sendable {
    private enum Code: Sendable {
        case userNotFound
        case userExists
        case takenInSynapse
        case invalidUsername
        case invalidDeviceId
        case userInactive
        case synapseRefused
        case synapseUnreachable
        case storage
        case passwordsDisabled
        case sessionNotFound
        case sessionFinished
        case deviceNotFound
        case invalidDisplayName
        case invalidPassword
    }

    private let code: Code
    public let description: String

    private init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

    static func userNotFound(_ username: String) -> AccountError {
        AccountError(.userNotFound, "no user '\(username)'; `gatehouse manage list-users` shows who exists")
    }
    static func userExists(_ username: String) -> AccountError {
        AccountError(.userExists, "user '\(username)' already exists")
    }
    static func takenInSynapse(_ username: String) -> AccountError {
        AccountError(.takenInSynapse, "Synapse reports '\(username)' as taken or reserved (an existing Synapse user or an appservice namespace)")
    }
    static func invalidUsername(_ username: String, _ reason: String) -> AccountError {
        // Quoted as JSON so control characters show as escapes instead of reaching the terminal.
        AccountError(.invalidUsername, "\(JSONText.quote(username)) is not a valid username: \(reason)")
    }
    static func invalidDeviceId(_ deviceId: String, _ reason: String) -> AccountError {
        AccountError(.invalidDeviceId, "\(JSONText.quote(deviceId)) is not a valid device ID: \(reason)")
    }
    static func userInactive(_ username: String, _ state: String) -> AccountError {
        AccountError(.userInactive, "user '\(username)' is \(state)")
    }
    static func synapseRefused(_ error: SynapseError) -> AccountError {
        AccountError(.synapseRefused, "Synapse refused: \(error)")
    }
    static func synapseUnreachable(_ error: SynapseError) -> AccountError {
        AccountError(.synapseUnreachable, "Synapse could not be reached (\(error)); nothing was changed")
    }
    static func storage(_ error: any Error) -> AccountError {
        AccountError(.storage, "the store failed: \(error)")
    }
    static func sessionNotFound(_ sessionId: String) -> AccountError {
        AccountError(.sessionNotFound, "no session \(JSONText.quote(sessionId)); `gatehouse manage list-sessions NAME` shows a user's sessions")
    }
    static func sessionFinished(_ sessionId: String, at finishedAt: Date) -> AccountError {
        AccountError(.sessionFinished, "session \(sessionId) already ended at \(finishedAt.formatted(.iso8601)); nothing was changed")
    }
    static let passwordsDisabled = AccountError(.passwordsDisabled, "password login is disabled (`passwords.enabled: false`)")
    /// A session id that is unknown or another user's, ended or not: one answer, so a user never
    /// learns whether someone else's session exists. One of the user's own sessions that ended is
    /// ``sessionFinished(_:at:)`` instead (viewing, renaming or ending it).
    static func sessionNotFound(ofUser sessionId: String) -> AccountError {
        AccountError(.sessionNotFound, "you have no active session \(JSONText.quote(sessionId))")
    }
    /// No active session of the user owns this device (or it is another user's).
    static func deviceNotFound(_ deviceId: String) -> AccountError {
        AccountError(.deviceNotFound, "you have no active session on device \(JSONText.quote(deviceId))")
    }
    static func invalidDisplayName(_ reason: String) -> AccountError {
        AccountError(.invalidDisplayName, "the name is not valid: \(reason)")
    }
    static func invalidPassword(_ reason: String) -> AccountError {
        AccountError(.invalidPassword, "the new password is not valid: \(reason)")
    }

    public var isUserNotFound: Bool { code == .userNotFound }
    public var isUserExists: Bool { code == .userExists }
    public var isSynapseUnreachable: Bool { code == .synapseUnreachable }
    public var isTakenInSynapse: Bool { code == .takenInSynapse }
    public var isInvalidUsername: Bool { code == .invalidUsername }
    public var isSessionNotFound: Bool { code == .sessionNotFound }
    public var isSessionFinished: Bool { code == .sessionFinished }
    public var isDeviceNotFound: Bool { code == .deviceNotFound }
    public var isInvalidDisplayName: Bool { code == .invalidDisplayName }
    public var isInvalidPassword: Bool { code == .invalidPassword }
    public var isSynapseRefused: Bool { code == .synapseRefused }
    public var isPasswordsDisabled: Bool { code == .passwordsDisabled }
}
