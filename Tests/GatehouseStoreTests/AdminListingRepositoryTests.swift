#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseStorage
import GatehouseTestSupport
import Testing

/// The admin API's paginated reads on a real database: cursor bounds, both directions, filters and
/// counts that honour the same filter.
/// A hung store call fails its test instead of the whole run.
@Suite(.storeTimeLimit)
struct AdminListingRepositoryTests {
    private static func user(_ index: Int, _ name: String, admin: Bool = false, locked: Bool = false, deactivated: Bool = false) -> User {
        User(
            id: "user-\(index)", username: name, createdAt: Fixture.t0, lockedAt: locked ? Fixture.t0 : nil,
            deactivatedAt: deactivated ? Fixture.t0 : nil, isAdmin: admin)
    }

    @Test(arguments: StoreBackend.allCases) func pagesForwardAndBackwardWithinCursors(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            for index in 1...5 { _ = try await store.users.create(Self.user(index, "name\(index)")) }
            let listings = store.adminListings
            let first = try await listings.users(UserFilter(), page: Pagination(count: 2))
            #expect(first.items.map(\.id) == ["user-1", "user-2"] && first.hasNextPage && !first.hasPreviousPage)
            let next = try await listings.users(UserFilter(), page: Pagination(count: 2, after: "user-2"))
            #expect(next.items.map(\.id) == ["user-3", "user-4"] && next.hasNextPage)
            let end = try await listings.users(UserFilter(), page: Pagination(count: 2, after: "user-4"))
            #expect(end.items.map(\.id) == ["user-5"] && !end.hasNextPage)

            let last = try await listings.users(UserFilter(), page: Pagination(direction: .backward, count: 2))
            #expect(last.items.map(\.id) == ["user-4", "user-5"] && last.hasPreviousPage && !last.hasNextPage)
            let before = try await listings.users(UserFilter(), page: Pagination(direction: .backward, count: 2, before: "user-2"))
            #expect(before.items.map(\.id) == ["user-1"] && !before.hasPreviousPage)
            let between = try await listings.users(UserFilter(), page: Pagination(count: 10, after: "user-1", before: "user-4"))
            #expect(between.items.map(\.id) == ["user-2", "user-3"])
        }
    }

    @Test(arguments: StoreBackend.allCases) func userFiltersAndCounts(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            _ = try await store.users.create(Self.user(1, "ann", admin: true))
            _ = try await store.users.create(Self.user(2, "bob", locked: true))
            _ = try await store.users.create(Self.user(3, "cat", locked: true, deactivated: true))
            _ = try await store.users.create(Self.user(4, "a_b"))
            _ = try await store.users.create(Self.user(5, "axb"))
            let listings = store.adminListings
            func ids(_ filter: UserFilter) async throws -> [String] {
                try await listings.users(filter, page: Pagination(count: 10)).items.map(\.id)
            }
            #expect(try await ids(UserFilter(admin: true)) == ["user-1"])
            #expect(try await ids(UserFilter(status: .active)) == ["user-1", "user-4", "user-5"])
            #expect(try await ids(UserFilter(status: .locked)) == ["user-2"], "deactivated wins over locked")
            #expect(try await ids(UserFilter(status: .deactivated)) == ["user-3"])
            #expect(try await ids(UserFilter(search: "B")) == ["user-2", "user-4", "user-5"], "case-insensitive substring")
            // `_` and `%` in the search text are literal, not LIKE wildcards.
            #expect(try await ids(UserFilter(search: "a_b")) == ["user-4"])
            #expect(try await ids(UserFilter(search: "%")).isEmpty)
            #expect(try await listings.countUsers(UserFilter(status: .active, search: "a")) == 3)
            #expect(try await listings.countUsers(UserFilter()) == 5)
        }
    }

    @Test(arguments: StoreBackend.allCases) func sessionFiltersByUserClientAndStatus(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            _ = try await store.users.create(Self.user(1, "ann"))
            _ = try await store.users.create(Self.user(2, "bob"))
            for (id, user, client) in [("s-1", "user-1", "c-a"), ("s-2", "user-2", "c-a"), ("s-3", "user-1", "c-b")] {
                try await store.oauth2Sessions.create(
                    session: OAuth2Session(id: id, clientId: client, userId: user, scope: "openid", deviceId: nil, createdAt: Fixture.t0),
                    accessToken: OAuth2AccessToken(
                        id: "t-\(id)", sessionId: id, tokenHash: "hash-\(id)", createdAt: Fixture.t0, expiresAt: Fixture.t0.addingTimeInterval(300)),
                    refreshToken: nil, grantId: nil)
            }
            _ = try await store.oauth2Sessions.finish(sessionId: "s-3", at: Fixture.t0)
            try await store.browserSessions.create(BrowserSession(id: "b-1", userId: "user-2", createdAt: Fixture.t0, authenticatedAt: Fixture.t0))
            let listings = store.adminListings
            func ids(_ filter: SessionFilter) async throws -> [String] {
                try await listings.oauth2Sessions(filter, page: Pagination(count: 10)).items.map(\.id)
            }
            #expect(try await ids(SessionFilter(userId: "user-1")) == ["s-1", "s-3"])
            #expect(try await ids(SessionFilter(clientId: "c-a")) == ["s-1", "s-2"])
            #expect(try await ids(SessionFilter(userId: "user-1", status: .active)) == ["s-1"])
            #expect(try await ids(SessionFilter(status: .finished)) == ["s-3"])
            #expect(try await listings.countOAuth2Sessions(SessionFilter(clientId: "c-a", status: .active)) == 2)
            #expect(try await listings.browserSessions(SessionFilter(userId: "user-2"), page: Pagination(count: 10)).items.map(\.id) == ["b-1"])
            #expect(try await listings.countBrowserSessions(SessionFilter(userId: "user-1")) == 0)
            #expect(try await listings.countCompatSessions(SessionFilter()) == 0)
        }
    }
}
