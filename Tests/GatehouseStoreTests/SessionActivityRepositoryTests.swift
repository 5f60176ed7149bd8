import Foundation
import GatehouseStorage
import GatehouseTestSupport
import Testing

/// A hung store call fails its test instead of the whole run.
@Suite(.storeTimeLimit)
struct SessionActivityRepositoryTests {
    @Test(arguments: StoreBackend.allCases) func aBatchMovesActivityForwardKeepsAddressesAndLeavesTheRevisionAlone(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await store.users.create(Fixture.user("alice"))
            let session = Fixture.session("session-A", user: alice, device: "DEVICEA")
            let access = Fixture.accessToken("at-A", session: session)
            try await store.compatSessions.create(session: session, accessToken: access, refreshToken: nil)
            let browser = BrowserSession(id: "browser-A", userId: alice.id, createdAt: Fixture.at(0), authenticatedAt: Fixture.at(0))
            try await store.browserSessions.create(browser)
            let revision = try await store.changeCounter()

            try await store.sessionActivity.record([
                SessionActivity(kind: .compat, sessionId: session.id, lastActiveAt: Fixture.at(50), address: "192.0.2.1"),
                SessionActivity(kind: .browser, sessionId: browser.id, lastActiveAt: Fixture.at(40), address: "2001:db8::1"),
                SessionActivity(kind: .oauth2, sessionId: "no-such-session", lastActiveAt: Fixture.at(40)),
            ])
            // Older activity never moves the time back; a batch without an address keeps the stored one.
            try await store.sessionActivity.record([
                SessionActivity(kind: .compat, sessionId: session.id, lastActiveAt: Fixture.at(45), address: "198.51.100.7"),
                SessionActivity(kind: .browser, sessionId: browser.id, lastActiveAt: Fixture.at(60), address: nil),
            ])
            let compat = try #require(try await store.compatSessions.find(sessionId: session.id))
            #expect(compat.lastActiveAt == Fixture.at(50) && compat.lastActiveAddress == "192.0.2.1")
            let stored = try #require(try await store.browserSessions.find(id: browser.id)?.0)
            #expect(stored.lastActiveAt == Fixture.at(60) && stored.lastActiveAddress == "2001:db8::1")
            #expect(try await store.changeCounter() == revision, "activity empties no cache")
        }
    }

    @Test(arguments: StoreBackend.allCases) func renamesApplyToUnfinishedSessionsOnly(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await store.users.create(Fixture.user("alice"))
            let session = Fixture.session("session-R", user: alice, device: "DEVICER")
            try await store.compatSessions.create(session: session, accessToken: Fixture.accessToken("at-R", session: session), refreshToken: nil)
            #expect(try await store.compatSessions.rename(sessionId: session.id, displayName: "Tablet"))
            #expect(try await store.compatSessions.find(sessionId: session.id)?.displayName == "Tablet")
            try await store.compatSessions.finish(sessionId: session.id, at: Fixture.at(5))
            #expect(try await store.compatSessions.rename(sessionId: session.id, displayName: "Late") == false)
            #expect(try await store.oauth2Sessions.rename(sessionId: "none", humanName: "x") == false)
        }
    }
}
