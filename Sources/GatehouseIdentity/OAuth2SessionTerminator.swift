#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseCore
import GatehouseHomeserver
import GatehouseStorage
import Logging

/// Ends OAuth 2.0 sessions the way every path must (revocation, a replayed code or refresh token):
/// the session is finished in the store (every token dies, the store revision moves), this process's
/// caches are told, then its Matrix device is deleted in Synapse before the caller answers, so the
/// token stops working at once although Synapse caches introspection answers. When Synapse cannot be
/// reached, a `sync_devices` job with the devices that remain makes sure the device goes later.
struct OAuth2SessionTerminator: Sendable {
    let store: any IdentityStore
    let synapse: SynapseClient
    let queue: JobQueue
    let clock: any WallClock
    let random: any RandomSource
    let onRevocation: @Sendable () -> Void
    let logger: Logger

    /// Finishes `session` and removes its device.
    /// - Parameter session: the session (finished or not).
    /// - Returns: whether this call finished it (`false`: it was finished already).
    /// - Throws: when the store fails; nothing was changed then.
    @discardableResult
    func end(_ session: OAuth2Session) async throws -> Bool {
        guard try await store.oauth2Sessions.finish(sessionId: session.id, at: clock.now()) else { return false }
        onRevocation()
        await removeDevice(of: session)
        return true
    }

    /// Deletes the device of a finished session in Synapse, unless another live session of the user
    /// uses it; queues a `sync_devices` job when Synapse fails.
    /// - Parameter session: a finished session.
    func removeDevice(of session: OAuth2Session) async {
        guard let deviceId = session.deviceId, let userId = session.userId else { return }
        let user: User?
        let remaining: [String]
        do {
            user = try await store.users.find(id: userId)
            remaining = try await store.activeDeviceIds(userId: userId)
        } catch {
            logger.error("OAuth 2.0: could not read the user's sessions to remove a device", metadata: ["error": "\(error)"])
            return
        }
        guard let user, !remaining.contains(deviceId) else { return }
        do {
            try await synapse.deleteDevice(localpart: user.username, deviceId: deviceId)
        } catch {
            logger.warning("OAuth 2.0: Synapse did not delete the device; queued", metadata: ["user": "\(user.username)", "error": "\(error)"])
            do {
                try await queue.enqueue(.syncDevices(.init(localpart: user.username, devices: remaining)), clock: clock, random: random)
            } catch {
                logger.error("OAuth 2.0: could not queue the device clean-up", metadata: ["user": "\(user.username)", "error": "\(error)"])
            }
        }
    }
}
