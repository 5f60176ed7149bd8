import Foundation
import GatehouseCore
import GatehouseHomeserver
import GatehouseStorage
import GatehouseTestSupport
import Synchronization
import Testing

/// The per-device lock that keeps orphan-device clean-up from racing logins (issue 7, item 11).
struct DeviceGuardTests {
    /// How many tasks are inside the lock per device, and the most seen at once.
    private final class Occupancy: Sendable {
        private let state = Mutex<(inside: [String: Int], most: [String: Int])>(([:], [:]))

        func enter(_ device: String) {
            state.withLock { state in
                state.inside[device, default: 0] += 1
                state.most[device] = max(state.most[device, default: 0], state.inside[device, default: 0])
            }
        }

        func leave(_ device: String) {
            state.withLock { $0.inside[device, default: 0] -= 1 }
        }

        var most: [String: Int] { state.withLock { $0.most } }
    }

    @Test(arguments: StoreBackend.allCases) func oneDeviceAtATimeOthersInParallel(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let deviceGuard = DeviceGuard(store: store)
            let occupancy = Occupancy()
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<40 {
                    let device = index % 2 == 0 ? "A" : "B"
                    group.addTask {
                        await deviceGuard.withLock(localpart: "alice", deviceId: device) { () async -> Void in
                            occupancy.enter(device)
                            try? await Task.sleep(for: .milliseconds(2))
                            occupancy.leave(device)
                        }
                    }
                }
            }
            #expect(occupancy.most == ["A": 1, "B": 1])
        }
    }

    @Test(arguments: StoreBackend.allCases) func aDeviceIsInUseWhileASessionHasIt(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let deviceGuard = DeviceGuard(store: store)
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            let user = try await store.users.create(User(id: ULID.make(at: now, random: SystemRandom()), username: "alice", createdAt: now))
            #expect(try await !deviceGuard.isInUse(localpart: "alice", deviceId: "PHONE"))
            #expect(try await !deviceGuard.isInUse(localpart: "nobody", deviceId: "PHONE"))
            let session = CompatSession(id: ULID.make(at: now, random: SystemRandom()), userId: user.id, deviceId: "PHONE", createdAt: now)
            let token = CompatAccessToken(
                id: ULID.make(at: now, random: SystemRandom()), sessionId: session.id, tokenHash: String(repeating: "a", count: 64), createdAt: now)
            try await store.compatSessions.create(session: session, accessToken: token, refreshToken: nil)
            #expect(try await deviceGuard.isInUse(localpart: "alice", deviceId: "PHONE"))
            #expect(try await !deviceGuard.isInUse(localpart: "alice", deviceId: "LAPTOP"))
            try await store.compatSessions.finish(sessionId: session.id, at: now)
            #expect(try await !deviceGuard.isInUse(localpart: "alice", deviceId: "PHONE"))
        }
    }

    @Test(arguments: StoreBackend.allCases) func anOAuth2SessionKeepsItsDeviceInUseToo(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let deviceGuard = DeviceGuard(store: store)
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            let user = try await store.users.create(User(id: ULID.make(at: now, random: SystemRandom()), username: "bob", createdAt: now))
            let session = OAuth2Session(
                id: ULID.make(at: now, random: SystemRandom()), clientId: "client", userId: user.id,
                scope: "urn:matrix:client:api:* urn:matrix:client:device:TABLET", deviceId: "TABLET", createdAt: now)
            let token = OAuth2AccessToken(
                id: ULID.make(at: now, random: SystemRandom()), sessionId: session.id, tokenHash: String(repeating: "b", count: 64), createdAt: now,
                expiresAt: now.addingTimeInterval(300))
            try await store.oauth2Sessions.create(session: session, accessToken: token, refreshToken: nil, grantId: nil)
            #expect(try await deviceGuard.isInUse(localpart: "bob", deviceId: "TABLET"), "an orphan clean-up must not delete it")
            #expect(try await store.activeDeviceIds(userId: user.id) == ["TABLET"])
            _ = try await store.oauth2Sessions.finish(sessionId: session.id, at: now)
            #expect(try await !deviceGuard.isInUse(localpart: "bob", deviceId: "TABLET"))
        }
    }
}
