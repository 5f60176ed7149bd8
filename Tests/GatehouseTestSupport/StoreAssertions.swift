#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation
import GatehouseCore
import GatehouseStorage
import Testing

/// Expects `body` to throw a `StorageError` equal (by kind) to `expected` whose message contains `fragment`.
public func expectStorageError(
    _ expected: StorageError, containing fragment: String = "", sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async {
    do {
        try await body()
        Issue.record("expected \(expected), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as StorageError {
        #expect(error == expected, "got \(error)", sourceLocation: sourceLocation)
        #expect(fragment.isEmpty || error.message.contains(fragment), "message: \(error.message)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(expected), got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
    }
}

/// Fixtures at whole milliseconds (the storage precision).
public enum Fixture {
    public static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    public static func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    public static func user(_ name: String, at seconds: Double = 0) -> User {
        User(id: "user-\(name)", username: name, createdAt: at(seconds))
    }

    public static func session(_ id: String, user: User, device: String, at seconds: Double = 0) -> CompatSession {
        CompatSession(id: id, userId: user.id, deviceId: device, displayName: "Phone \(device)", createdAt: at(seconds))
    }

    public static func accessToken(_ id: String, session: CompatSession, at seconds: Double = 0) -> CompatAccessToken {
        CompatAccessToken(id: id, sessionId: session.id, tokenHash: "hash-\(id)", createdAt: at(seconds), expiresAt: at(seconds + 300))
    }

    public static func refreshToken(_ id: String, session: CompatSession, accessToken: CompatAccessToken, at seconds: Double = 0) -> CompatRefreshToken {
        CompatRefreshToken(id: id, sessionId: session.id, accessTokenId: accessToken.id, tokenHash: "hash-\(id)", createdAt: at(seconds))
    }

    public static func job(_ id: String, kind: String = "provision_user", runAt seconds: Double, createdAt created: Double = 0) -> Job {
        Job(id: id, kind: kind, payload: #"{"user":"\#(id)"}"#, runAt: at(seconds), createdAt: at(created))
    }
}
