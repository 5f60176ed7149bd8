import GatehouseStorage
import Synchronization

/// Keeps the clean-up of orphan Synapse devices from racing logins, inside one process.
///
/// A login creates the Synapse device first and stores its session afterwards, so for a moment a
/// device exists that no session uses yet. When the creation fails in a way that leaves the outcome
/// unknown (Synapse down, frozen or answering 5xx: it may have created the device and lost the
/// answer), a `remove_orphan_device` job deletes the device later, unless a live session uses it by
/// then. Both sides hold this guard's lock for their (user, device) pair while they work, so the job
/// can neither decide "unused" while a login is between its two steps nor delete a device a login
/// has just created.
///
/// The lock covers one process: `serve` shares one guard between its logins and its job runner.
/// `gatehouse manage issue-compatibility-token` in another process takes its own guard; an admin
/// issuing a token for the very device an orphan job is deleting at that moment is not covered.
public final class DeviceGuard: Sendable {
    private let store: any IdentityStore
    /// Held keys, each with the tasks waiting for it, in arrival order.
    private let held = Mutex<[String: [CheckedContinuation<Void, Never>]]>([:])

    /// - Parameter store: where live sessions are looked up.
    public init(store: any IdentityStore) {
        self.store = store
    }

    /// Runs `body` while no other caller of this guard works on the same device of the same user.
    /// - Parameters:
    ///   - localpart: the user.
    ///   - deviceId: the device.
    ///   - body: the work.
    public func withLock<T, E: Error>(localpart: String, deviceId: String, _ body: () async throws(E) -> T) async throws(E) -> T {
        // NUL cannot occur in a valid localpart, so it separates the two parts unambiguously.
        let key = localpart + "\u{0}" + deviceId
        await acquire(key)
        do {
            let result = try await body()
            release(key)
            return result
        } catch {
            release(key)
            throw error
        }
    }

    /// Whether an unfinished session of the user, compat or OAuth 2.0, uses the device.
    /// - Parameters:
    ///   - localpart: the user.
    ///   - deviceId: the device.
    public func isInUse(localpart: String, deviceId: String) async throws -> Bool {
        guard let user = try await store.users.find(username: localpart) else { return false }
        return try await store.activeDeviceIds(userId: user.id).contains(deviceId)
    }

    private func acquire(_ key: String) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let free = held.withLock { held -> Bool in
                guard held[key] != nil else {
                    held[key] = []
                    return true
                }
                held[key]?.append(continuation)
                return false
            }
            if free { continuation.resume() }
        }
    }

    private func release(_ key: String) {
        let next = held.withLock { held -> CheckedContinuation<Void, Never>? in
            guard var waiting = held[key], !waiting.isEmpty else {
                held[key] = nil
                return nil
            }
            let first = waiting.removeFirst()
            held[key] = waiting
            return first
        }
        next?.resume()
    }
}
