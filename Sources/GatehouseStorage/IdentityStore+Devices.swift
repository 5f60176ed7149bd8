extension IdentityStore {
    /// The Matrix devices of a user's unfinished sessions, compat and OAuth 2.0 alike, sorted and
    /// without repeats: what Synapse's device list must be (`sync_devices`), and what an orphan-device
    /// clean-up must keep.
    /// - Parameter userId: the user.
    public func activeDeviceIds(userId: String) async throws -> [String] {
        let compat = try await compatSessions.activeSessions(userId: userId).map(\.deviceId)
        let oauth2 = try await oauth2Sessions.activeSessions(userId: userId).compactMap(\.deviceId)
        return Array(Set(compat + oauth2)).sorted()
    }
}
