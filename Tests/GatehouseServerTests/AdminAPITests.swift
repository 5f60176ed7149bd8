import Foundation
import GatehouseCore
import GatehouseIdentity
import GatehouseStorage
import GatehouseTestSupport
import GatehouseTesting
import Testing

@testable import GatehouseServer

/// The admin API through the in-process gateway: authentication, the listener switch, every
/// endpoint, pagination, filters and MAS's error shapes.
@Suite(.serialized)
struct AdminAPITests {
    typealias F = AdminAPIFixture

    @Test(arguments: StoreBackend.allCases) func authenticationIsRequiredAndChecked(_ backend: StoreBackend) async throws {
        try await F.run(backend) { fixture in
            let missing = try await fixture.call("GET", "/api/admin/v1/users", token: nil)
            #expect(missing.status == 400 && F.title(missing) == "Missing authorization header")
            #expect(missing.body == #"{"errors":[{"title":"Missing authorization header"}]}"#)
            let basic = try await fixture.call("GET", "/api/admin/v1/users", token: nil, authorization: "Basic Zm9vOmJhcg==")
            #expect(basic.status == 400 && F.title(basic) == "Invalid authorization header")
            let compatShaped = try await fixture.call("GET", "/api/admin/v1/users", token: "mct_notatoken")
            #expect(compatShaped.status == 401 && F.title(compatShaped) == "Invalid type of access token")
            #expect(compatShaped.header("WWW-Authenticate") == "Bearer")

            // A client outside admin_api.clients cannot get the scope; with another scope its token is refused.
            let refused = try await fixture.tokenResponse(client: F.otherClient, scope: "urn:mas:admin")
            #expect(try refused.status != 200 && (F.object(refused))["error"] as? String == "invalid_scope")
            let openid = try await fixture.token(client: F.otherClient, scope: "openid")
            let wrongScope = try await fixture.call("GET", "/api/admin/v1/users", token: openid)
            #expect(wrongScope.status == 401 && F.title(wrongScope) == "Missing urn:mas:admin scope")

            // An interactive session with the scope works only for an active administrator.
            let alice = try await fixture.seedUser("alice")
            let aliceToken = try await fixture.userToken(alice, scope: "urn:mas:admin").token
            let notAdmin = try await fixture.call("GET", "/api/admin/v1/users", token: aliceToken)
            #expect(notAdmin.status == 401 && F.title(notAdmin) == "The user is not an administrator")
            let root = try await fixture.seedUser("root", admin: true)
            let (rootToken, rootSession) = try await fixture.userToken(root, scope: "urn:mas:admin")
            #expect(try await fixture.call("GET", "/api/admin/v1/users", token: rootToken).status == 200)
            _ = try await fixture.accounts.lockUser(username: "root")
            let locked = try await fixture.call("GET", "/api/admin/v1/users", token: rootToken)
            #expect(locked.status == 401, "locking ends the session: \(F.title(locked) ?? "")")
            #expect(try await fixture.store.oauth2Sessions.find(sessionId: rootSession.id)?.finishedAt != nil)

            let token = try await fixture.token()
            #expect(try await fixture.call("GET", "/api/admin/v1/users", token: token).status == 200)
            fixture.clock.advance(by: 301)
            let expired = try await fixture.call("GET", "/api/admin/v1/users", token: token)
            #expect(expired.status == 401 && F.title(expired) == "Access token expired")
            let unknown = try await fixture.call("GET", "/api/admin/v1/users", token: "mat_" + String(repeating: "a", count: 30))
            #expect(unknown.status == 401)
        }
    }

    @Test(arguments: StoreBackend.allCases) func onlyTheConfiguredListenerServesTheAPI(_ backend: StoreBackend) async throws {
        try await F.run(backend) { fixture in
            let token = try await fixture.token()
            let elsewhere = try await fixture.call("GET", "/api/admin/v1/users", token: token, port: fixture.publicPort)
            #expect(elsewhere.status == 404 && elsewhere.body.contains("M_UNRECOGNIZED"))
            let specElsewhere = try await fixture.call("GET", "/api/spec.json", token: nil, port: fixture.publicPort)
            #expect(specElsewhere.status == 404)
            let spec = try await fixture.call("GET", "/api/spec.json", token: nil)
            #expect(spec.status == 200 && spec.header("Content-Type") == "application/json")
            let unknownPath = try await fixture.call("GET", "/api/admin/v1/nothing-here", token: token)
            #expect(unknownPath.status == 404 && F.title(unknownPath) == "Not found")
            let wrongMethod = try await fixture.call("DELETE", "/api/admin/v1/users", token: token)
            #expect(wrongMethod.status == 405)
        }
    }

    @Test(arguments: StoreBackend.allCases) func theOpenAPIDocumentListsExactlyTheHandledOperations(_ backend: StoreBackend) async throws {
        try await F.run(backend) { fixture in
            let spec = try F.object(try await fixture.call("GET", "/api/spec.json", token: nil))
            let paths = try #require(spec["paths"] as? [String: [String: Any]])
            var documented = Set<String>()
            for (path, operations) in paths {
                for (method, operation) in operations {
                    documented.insert("\(method.uppercased()) \(path)")
                    let id = try #require((operation as? [String: Any])?["operationId"] as? String)
                    let endpoint = try #require(AdminEndpoint(rawValue: id), "\(id) is not an operation of the responder")
                    #expect(endpoint.path == path && endpoint.method.rawValue == method.uppercased())
                    let names = ((operation as? [String: Any])?["parameters"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
                    #expect(Set(endpoint.filters.map { "filter[\($0)]" }).isSubset(of: Set(names)), "\(id)")
                }
            }
            let handled = Set(AdminEndpoint.allCases.map { "\($0.method.rawValue) \($0.path)" })
            #expect(documented == handled)
            // Every operation the table lists is routed to a handler (not the 404 of an unknown path).
            let token = try await fixture.token()
            for endpoint in AdminEndpoint.allCases {
                let path = endpoint.path.replacingOccurrences(of: "{id}", with: "01J9ZQ3B7N6Y2W8K4R5T0V1XZZ")
                    .replacingOccurrences(of: "{username}", with: "nobody")
                let response = try await fixture.call(endpoint.method.rawValue, path, token: token, json: endpoint.method == .POST ? "{}" : nil)
                #expect(F.title(response) != "Not found" && response.status != 405, "\(endpoint) answered \(response.status)")
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func usersLifecycle(_ backend: StoreBackend) async throws {
        try await F.run(backend) { fixture in
            let token = try await fixture.token()
            let created = try await fixture.call("POST", "/api/admin/v1/users", token: token, json: #"{"username":"carol"}"#)
            #expect(created.status == 201, "\(created.body)")
            let data = try F.data(created)
            let id = try #require(data["id"] as? String)
            #expect(ULID.isValid(id) && data["type"] as? String == "user")
            #expect((data["links"] as? [String: Any])?["self"] as? String == "/api/admin/v1/users/\(id)")
            let attributes = try F.attributes(created)
            #expect(attributes["username"] as? String == "carol" && attributes["admin"] as? Bool == false)
            #expect(attributes["locked_at"] is NSNull && attributes["deactivated_at"] is NSNull)
            #expect(fixture.synapse.user("carol") != nil, "provisioned in Synapse")

            let again = try await fixture.call("POST", "/api/admin/v1/users", token: token, json: #"{"username":"carol"}"#)
            #expect(again.status == 409)
            let invalid = try await fixture.call("POST", "/api/admin/v1/users", token: token, json: #"{"username":"Not Valid"}"#)
            #expect(invalid.status == 400)
            let noName = try await fixture.call("POST", "/api/admin/v1/users", token: token, json: #"{"user":"x"}"#)
            #expect(noName.status == 400 && F.title(noName) == "Invalid request body: `username` is required")
            let notJSON = try await fixture.call("POST", "/api/admin/v1/users", token: token, json: "username=x")
            #expect(notJSON.status == 400)

            #expect(try F.attributes(try await fixture.call("GET", "/api/admin/v1/users/\(id)", token: token))["username"] as? String == "carol")
            let byName = try await fixture.call("GET", "/api/admin/v1/users/by-username/carol", token: token)
            #expect(try F.data(byName)["id"] as? String == id)
            #expect(try await fixture.call("GET", "/api/admin/v1/users/by-username/nobody", token: token).status == 404)
            let unknown = try await fixture.call("GET", "/api/admin/v1/users/01J9ZQ3B7N6Y2W8K4R5T0V1XZZ", token: token)
            #expect(unknown.status == 404 && F.title(unknown) == "User ID 01J9ZQ3B7N6Y2W8K4R5T0V1XZZ not found")
            #expect(try await fixture.call("GET", "/api/admin/v1/users/not-a-ulid", token: token).status == 400)

            let password = try await fixture.call("POST", "/api/admin/v1/users/\(id)/set-password", token: token, json: #"{"password":"correct horse battery"}"#)
            #expect(password.status == 200)
            let stored = try #require(try await fixture.store.users.currentPassword(userId: id))
            #expect(try await fixture.hasher.verify("correct horse battery", version: stored.version, hash: stored.hash) == .valid)
            #expect(try await fixture.call("POST", "/api/admin/v1/users/\(id)/set-password", token: token, json: "{}").status == 400)

            let admin = try await fixture.call("POST", "/api/admin/v1/users/\(id)/set-admin", token: token, json: #"{"admin":true}"#)
            #expect(try F.attributes(admin)["admin"] as? Bool == true)
            #expect(try await fixture.store.users.find(id: id)?.isAdmin == true)
            #expect(try await fixture.call("POST", "/api/admin/v1/users/\(id)/set-admin", token: token, json: #"{"admin":"yes"}"#).status == 400)

            // Locking ends the user's sessions and deletes their devices, as `gatehouse manage lock-user` does.
            let (_, device) = try await fixture.accounts.issueCompatibilityToken(username: "carol", deviceId: "CAROLPHONE", synapseAdmin: false)
            #expect(fixture.synapse.user("carol")?.devices[device] != nil)
            let lock = try await fixture.call("POST", "/api/admin/v1/users/\(id)/lock", token: token)
            #expect(try lock.status == 200 && F.attributes(lock)["locked_at"] is String)
            #expect(fixture.synapse.user("carol")?.locked == true && fixture.synapse.user("carol")?.devices.isEmpty == true)
            #expect(try await fixture.store.compatSessions.activeSessions(userId: id).isEmpty)
            let unlock = try await fixture.call("POST", "/api/admin/v1/users/\(id)/unlock", token: token)
            #expect(try F.attributes(unlock)["locked_at"] is NSNull && fixture.synapse.user("carol")?.locked == false)

            let deactivate = try await fixture.call("POST", "/api/admin/v1/users/\(id)/deactivate", token: token, json: #"{"skip_erase":true}"#)
            #expect(try F.attributes(deactivate)["deactivated_at"] is String)
            #expect(fixture.synapse.user("carol")?.deactivated == true && fixture.synapse.user("carol")?.erased == false)
            let reactivate = try await fixture.call("POST", "/api/admin/v1/users/\(id)/reactivate", token: token)
            #expect(try F.attributes(reactivate)["deactivated_at"] is NSNull && fixture.synapse.user("carol")?.deactivated == false)
        }
    }

    /// An id with a NUL after it is no id: SQLite reads bound text only up to the NUL, so
    /// `/users/<id>%00x/lock` must not lock that user. The request target is refused (400) before
    /// the API sees it; the API's own path matching refuses such a segment as well.
    @Test(arguments: StoreBackend.allCases) func anIdWithANULInItMatchesNoUser(_ backend: StoreBackend) async throws {
        try await F.run(backend) { fixture in
            let token = try await fixture.token()
            let user = try await fixture.store.users.create(
                User(id: ULID.make(at: fixture.clock.now(), random: SystemRandom()), username: "nul.bob", createdAt: fixture.clock.now()),
                password: nil)
            fixture.synapse.addUser(FakeSynapse.User(localpart: "nul.bob"))
            let lock = try await fixture.call("POST", "/api/admin/v1/users/\(user.id)%00x/lock", token: token)
            #expect(lock.status == 400, "\(lock.body)")
            #expect(try await fixture.store.users.find(id: user.id)?.lockedAt == nil)
            let byName = try await fixture.call("GET", "/api/admin/v1/users/by-username/nul.bob%00x", token: token)
            #expect(byName.status == 400, "\(byName.body)")
            #expect(AdminEndpoint.match(path: "/api/admin/v1/users/\(user.id)%00x/lock") == nil)
            #expect(AdminEndpoint.match(path: "/api/admin/v1/users/\(user.id)/lock")?.parameter == user.id)
        }
    }

    /// A user imported from Synapse may keep capitals in its localpart. Every operation the API
    /// addresses by id goes through the id, so none answers 404 for it (they used to look the user up
    /// again by a lower-cased username).
    @Test(arguments: StoreBackend.allCases) func operationsByIdWorkOnAMixedCaseImportedUser(_ backend: StoreBackend) async throws {
        try await F.run(backend) { fixture in
            let token = try await fixture.token()
            let user = try await fixture.store.users.create(
                User(id: ULID.make(at: fixture.clock.now(), random: SystemRandom()), username: "Imported.Bob", createdAt: fixture.clock.now()),
                password: nil)
            fixture.synapse.addUser(FakeSynapse.User(localpart: "Imported.Bob"))
            _ = try await fixture.accounts.issueCompatibilityToken(username: "imported.bob", deviceId: "BOBPHONE", synapseAdmin: false)
            let path = "/api/admin/v1/users/\(user.id)"

            let password = try await fixture.call("POST", "\(path)/set-password", token: token, json: #"{"password":"a new password"}"#)
            #expect(password.status == 200, "\(password.body)")
            let stored = try #require(try await fixture.store.users.currentPassword(userId: user.id))
            #expect(try await fixture.hasher.verify("a new password", version: stored.version, hash: stored.hash) == .valid)

            let admin = try await fixture.call("POST", "\(path)/set-admin", token: token, json: #"{"admin":true}"#)
            #expect(try admin.status == 200 && F.attributes(admin)["admin"] as? Bool == true, "\(admin.body)")
            #expect(try await fixture.store.users.find(id: user.id)?.isAdmin == true)

            let lock = try await fixture.call("POST", "\(path)/lock", token: token)
            #expect(try lock.status == 200 && F.attributes(lock)["locked_at"] is String, "\(lock.body)")
            #expect(try F.attributes(lock)["username"] as? String == "Imported.Bob")
            #expect(fixture.synapse.user("Imported.Bob")?.locked == true && fixture.synapse.user("Imported.Bob")?.devices.isEmpty == true)
            let unlock = try await fixture.call("POST", "\(path)/unlock", token: token)
            #expect(try unlock.status == 200 && F.attributes(unlock)["locked_at"] is NSNull, "\(unlock.body)")
            #expect(fixture.synapse.user("Imported.Bob")?.locked == false)

            let deactivate = try await fixture.call("POST", "\(path)/deactivate", token: token, json: #"{"skip_erase":true}"#)
            #expect(try deactivate.status == 200 && F.attributes(deactivate)["deactivated_at"] is String, "\(deactivate.body)")
            #expect(fixture.synapse.user("Imported.Bob")?.deactivated == true)
            let reactivate = try await fixture.call("POST", "\(path)/reactivate", token: token)
            #expect(try reactivate.status == 200 && F.attributes(reactivate)["deactivated_at"] is NSNull, "\(reactivate.body)")
            #expect(fixture.synapse.user("Imported.Bob")?.deactivated == false)

            let byName = try await fixture.call("GET", "/api/admin/v1/users/by-username/Imported.Bob", token: token)
            #expect(try F.data(byName)["id"] as? String == user.id)
        }
    }

    /// `GET /users/by-username/{username}` finds a user as MAS's `find_by_username` does: ignoring
    /// ASCII case (a user imported from Synapse as `Imported.Bob` is found by `imported.bob`); when
    /// users differ only in case (imported, since registration refuses it), only the exact spelling
    /// finds one. The answer links to the path asked and the user to its id, as in MAS.
    @Test(arguments: StoreBackend.allCases) func byUsernameIgnoresCaseAsMAS(_ backend: StoreBackend) async throws {
        try await F.run(backend) { fixture in
            let token = try await fixture.token()
            func imported(_ username: String) async throws -> User {
                try await fixture.store.users.create(
                    User(id: ULID.make(at: fixture.clock.now(), random: SystemRandom()), username: username, createdAt: fixture.clock.now()),
                    password: nil)
            }
            let carol = try await fixture.seedUser("carol")
            let bob = try await imported("Imported.Bob")
            for (asked, expected) in [("carol", carol), ("CAROL", carol), ("Carol", carol), ("imported.bob", bob), ("IMPORTED.BOB", bob)] {
                let reply = try await fixture.call("GET", "/api/admin/v1/users/by-username/\(asked)", token: token)
                #expect(reply.status == 200, "\(asked): \(reply.body)")
                #expect(try F.data(reply)["id"] as? String == expected.id && F.attributes(reply)["username"] as? String == expected.username)
                #expect(try F.link(reply, "self") == "/api/admin/v1/users/by-username/\(asked)", "\(asked)")
                let data = try F.data(reply)
                #expect((data["links"] as? [String: Any])?["self"] as? String == "/api/admin/v1/users/\(expected.id)")
            }
            let missing = try await fixture.call("GET", "/api/admin/v1/users/by-username/caro", token: token)
            #expect(missing.status == 404 && F.title(missing) == #"User with username "caro" not found"#)

            // Two spellings of one name: each finds itself, any other spelling finds nobody.
            let upper = try await imported("Dave")
            let lower = try await imported("dave")
            _ = try await imported("daveX")
            #expect(try F.data(try await fixture.call("GET", "/api/admin/v1/users/by-username/Dave", token: token))["id"] as? String == upper.id)
            #expect(try F.data(try await fixture.call("GET", "/api/admin/v1/users/by-username/dave", token: token))["id"] as? String == lower.id)
            let ambiguous = try await fixture.call("GET", "/api/admin/v1/users/by-username/DAVE", token: token)
            #expect(ambiguous.status == 404 && F.title(ambiguous) == #"User with username "DAVE" not found"#, "\(ambiguous.body)")
        }
    }

    @Test(arguments: StoreBackend.allCases) func listingUsersFiltersAndPagesBothWays(_ backend: StoreBackend) async throws {
        try await F.run(backend) { fixture in
            let token = try await fixture.token()
            var all: [String] = []
            for name in ["anna", "bert", "cleo", "dora", "emil"] { all.append(try await fixture.seedUser(name, admin: name == "bert").id) }
            _ = try await fixture.accounts.lockUser(username: "cleo")
            _ = try await fixture.accounts.deactivateUser(username: "dora", erase: false)
            all.sort()

            let full = try await fixture.call("GET", "/api/admin/v1/users", token: token)
            #expect(try F.ids(full) == all)
            #expect((try F.object(full)["meta"] as? [String: Any])?["count"] as? Int == 5)
            #expect(try F.link(full, "self") == "/api/admin/v1/users?page[first]=10" && F.link(full, "next") == nil)
            let firstItem = try #require((try F.object(full)["data"] as? [[String: Any]])?.first)
            #expect((firstItem["meta"] as? [String: Any]).flatMap { $0["page"] as? [String: Any] }?["cursor"] as? String == all[0])

            // Forward by two, following `next`.
            var forward: [String] = []
            var path: String? = "/api/admin/v1/users?page[first]=2"
            while let current = path {
                let page = try await fixture.call("GET", current, token: token)
                #expect(page.status == 200, "\(page.body)")
                forward += try F.ids(page)
                path = try F.link(page, "next")
            }
            #expect(forward == all)
            // Backward by two from the end, following `prev`.
            var backward: [String] = []
            path = "/api/admin/v1/users?page[last]=2"
            while let current = path {
                let page = try await fixture.call("GET", current, token: token)
                backward = try F.ids(page) + backward
                path = try F.link(page, "prev")
            }
            #expect(backward == all)
            let between = try await fixture.call("GET", "/api/admin/v1/users?page[after]=\(all[0])&page[before]=\(all[3])", token: token)
            #expect(try F.ids(between) == Array(all[1...2]))

            func names(_ query: String) async throws -> [String] {
                let response = try await fixture.call("GET", "/api/admin/v1/users?\(query)", token: token)
                #expect(response.status == 200, "\(query): \(response.body)")
                return try #require(try F.object(response)["data"] as? [[String: Any]]).compactMap {
                    ($0["attributes"] as? [String: Any])?["username"] as? String
                }.sorted()
            }
            #expect(try await names("filter[admin]=true") == ["bert"])
            #expect(try await names("filter[admin]=false&filter[status]=active") == ["anna", "emil"])
            #expect(try await names("filter[status]=locked") == ["cleo"])
            #expect(try await names("filter[status]=deactivated") == ["dora"])
            #expect(try await names("filter[search]=M") == ["emil"])
            let filteredLinks = try await fixture.call("GET", "/api/admin/v1/users?filter[status]=active&page[first]=1", token: token)
            #expect(try F.link(filteredLinks, "next")?.hasPrefix("/api/admin/v1/users?filter[status]=active&page[after]=") == true)

            let only = try F.object(try await fixture.call("GET", "/api/admin/v1/users?count=only&filter[status]=active", token: token))
            #expect(only["data"] == nil && (only["meta"] as? [String: Any])?["count"] as? Int == 3)
            let uncounted = try F.object(try await fixture.call("GET", "/api/admin/v1/users?count=false", token: token))
            #expect(uncounted["meta"] == nil && (uncounted["data"] as? [Any])?.count == 5)

            for bad in [
                "page[first]=0", "page[first]=1001", "page[first]=2&page[last]=2", "page[after]=nope", "filter[status]=sleeping",
                "filter[admin]=maybe", "filter[colour]=red", "page[size]=3", "count=maybe", "filter[search]=",
            ] {
                let response = try await fixture.call("GET", "/api/admin/v1/users?\(bad)", token: token)
                #expect(response.status == 400 && F.title(response)?.hasPrefix("Invalid parameter") == true, "\(bad): \(response.body)")
            }
        }
    }

    /// Pagination edge cases on the session lists and the in-memory client list: the filter stays in
    /// the links, a page past the end is empty with no `next`, a page larger than the list has no
    /// `prev`, and paging backward from the end returns every item once.
    @Test(arguments: StoreBackend.allCases) func sessionAndClientListsPageAtTheEdges(_ backend: StoreBackend) async throws {
        try await F.run(backend) { fixture in
            let token = try await fixture.token()
            let hana = try await fixture.seedUser("hana")
            _ = try await fixture.seedUser("ivan")
            _ = try await fixture.accounts.issueCompatibilityToken(username: "ivan", deviceId: "IVANPHONE", synapseAdmin: false)
            for device in ["HANAONE", "HANATWO", "HANATHREE"] {
                _ = try await fixture.accounts.issueCompatibilityToken(username: "hana", deviceId: device, synapseAdmin: false)
            }
            let all = try await fixture.store.compatSessions.activeSessions(userId: hana.id).map(\.id).sorted()
            let base = "/api/admin/v1/compat-sessions?filter[user]=\(hana.id)"

            let first = try await fixture.call("GET", "\(base)&page[first]=2", token: token)
            #expect(try F.ids(first) == Array(all[0...1]) && F.link(first, "prev") == nil)
            let next = try #require(try F.link(first, "next"))
            #expect(next == "\(base)&page[after]=\(all[1])&page[first]=2", "the filter stays in the link")
            let second = try await fixture.call("GET", next, token: token)
            #expect(try F.ids(second) == [all[2]] && F.link(second, "next") == nil)

            let pastTheEnd = try await fixture.call("GET", "\(base)&page[after]=\(all[2])", token: token)
            #expect(try pastTheEnd.status == 200 && F.ids(pastTheEnd).isEmpty)
            #expect(try F.link(pastTheEnd, "next") == nil && F.link(pastTheEnd, "prev") == nil)
            #expect((try F.object(pastTheEnd)["meta"] as? [String: Any])?["count"] as? Int == 3, "the count is the filter's, not the page's")
            let larger = try await fixture.call("GET", "\(base)&page[last]=10", token: token)
            #expect(try F.ids(larger) == all && F.link(larger, "prev") == nil && F.link(larger, "next") == nil)
            let unknownCursor = try await fixture.call("GET", "\(base)&page[before]=\(all[0])&page[last]=2", token: token)
            #expect(try F.ids(unknownCursor).isEmpty && F.link(unknownCursor, "prev") == nil)

            // The OAuth 2.0 clients are paged in memory with the same rules: backward from the end.
            var backward: [String] = []
            var path: String? = "/api/admin/v1/oauth2-clients?page[last]=2"
            while let current = path {
                let page = try await fixture.call("GET", current, token: token)
                #expect(page.status == 200, "\(page.body)")
                backward = try F.ids(page) + backward
                path = try F.link(page, "prev")
            }
            #expect(backward == [F.adminClient, F.otherClient, F.publicClient])
            let clientsPastTheEnd = try await fixture.call("GET", "/api/admin/v1/oauth2-clients?page[after]=\(F.publicClient)", token: token)
            #expect(try F.ids(clientsPastTheEnd).isEmpty && F.link(clientsPastTheEnd, "next") == nil)
        }
    }

    @Test(arguments: StoreBackend.allCases) func compatSessionsListGetAndFinish(_ backend: StoreBackend) async throws {
        try await F.run(backend) { fixture in
            let token = try await fixture.token()
            let dave = try await fixture.seedUser("dave")
            let erin = try await fixture.seedUser("erin")
            _ = try await fixture.accounts.issueCompatibilityToken(username: "dave", deviceId: "DAVEPHONE1", synapseAdmin: false)
            _ = try await fixture.accounts.issueCompatibilityToken(username: "erin", deviceId: "ERINPHONE1", synapseAdmin: false)
            let daves = try await fixture.call("GET", "/api/admin/v1/compat-sessions?filter[user]=\(dave.id)", token: token)
            let ids = try F.ids(daves)
            #expect(ids.count == 1)
            let sessionId = try #require(ids.first)
            let attributes = try #require((try F.object(daves)["data"] as? [[String: Any]])?.first?["attributes"] as? [String: Any])
            #expect(attributes["user_id"] as? String == dave.id && attributes["device_id"] as? String == "DAVEPHONE1")
            #expect(attributes["finished_at"] is NSNull)
            let unknownUser = try await fixture.call("GET", "/api/admin/v1/compat-sessions?filter[user]=01J9ZQ3B7N6Y2W8K4R5T0V1XZZ", token: token)
            #expect(unknownUser.status == 404)

            let get = try await fixture.call("GET", "/api/admin/v1/compat-sessions/\(sessionId)", token: token)
            #expect(try F.data(get)["type"] as? String == "compat-session")
            // An id of another kind of session is not a compat session.
            let (_, oauth) = try await fixture.userToken(erin, scope: "openid")
            let wrongKind = try await fixture.call("GET", "/api/admin/v1/compat-sessions/\(oauth.id)", token: token)
            #expect(wrongKind.status == 404 && F.title(wrongKind) == "Compatibility session ID \(oauth.id) not found")
            #expect(try await fixture.call("POST", "/api/admin/v1/compat-sessions/\(oauth.id)/finish", token: token).status == 404)
            #expect(try await fixture.store.oauth2Sessions.find(sessionId: oauth.id)?.finishedAt == nil, "nothing ended")

            let finish = try await fixture.call("POST", "/api/admin/v1/compat-sessions/\(sessionId)/finish", token: token)
            #expect(try finish.status == 200 && F.attributes(finish)["finished_at"] is String)
            #expect(fixture.synapse.user("dave")?.devices["DAVEPHONE1"] == nil, "device deleted in Synapse")
            #expect(fixture.synapse.user("erin")?.devices["ERINPHONE1"] != nil, "another user's device untouched")
            let twice = try await fixture.call("POST", "/api/admin/v1/compat-sessions/\(sessionId)/finish", token: token)
            #expect(twice.status == 400 && F.title(twice) == "Compatibility session with ID \(sessionId) is already finished")

            let active = try await fixture.call("GET", "/api/admin/v1/compat-sessions?filter[status]=active", token: token)
            #expect(try F.ids(active).count == 1)
            let finished = try await fixture.call("GET", "/api/admin/v1/compat-sessions?filter[status]=finished", token: token)
            #expect(try F.ids(finished) == [sessionId])
        }
    }

    /// Finishing goes through the account page's own service method, with its outcomes: a session
    /// its user already signed out on the account page answers 400 "already finished" here, for every
    /// kind, and an unknown id 404, with MAS's titles.
    @Test(arguments: StoreBackend.allCases) func finishingASessionItsUserAlreadyEndedAnswersAlreadyFinished(_ backend: StoreBackend) async throws {
        try await F.run(backend) { fixture in
            let token = try await fixture.token()
            let gina = try await fixture.seedUser("gina")
            _ = try await fixture.accounts.issueCompatibilityToken(username: "gina", deviceId: "GINAPHONE", synapseAdmin: false)
            let compat = try #require(try await fixture.store.compatSessions.activeSession(userId: gina.id, deviceId: "GINAPHONE"))
            let (_, oauth) = try await fixture.userToken(gina, scope: "openid")
            let browser = BrowserSession(
                id: ULID.make(at: fixture.clock.now(), random: SystemRandom()), userId: gina.id, createdAt: fixture.clock.now(),
                authenticatedAt: fixture.clock.now())
            try await fixture.store.browserSessions.create(browser)
            let unknownId = "01J9ZQ3B7N6Y2W8K4R5T0V1XZZ"
            for (path, id, name) in [
                ("compat-sessions", compat.id, "Compatibility session"), ("oauth2-sessions", oauth.id, "OAuth 2.0 session"),
                ("user-sessions", browser.id, "User session"),
            ] {
                _ = try await fixture.accounts.endSession(id: id, requestedBy: .user(id: gina.id))
                let finish = try await fixture.call("POST", "/api/admin/v1/\(path)/\(id)/finish", token: token)
                #expect(finish.status == 400 && F.title(finish) == "\(name) with ID \(id) is already finished", "\(path): \(finish.body)")
                let unknown = try await fixture.call("POST", "/api/admin/v1/\(path)/\(unknownId)/finish", token: token)
                #expect(unknown.status == 404 && F.title(unknown) == "\(name) ID \(unknownId) not found", "\(path): \(unknown.body)")
            }
            #expect(fixture.synapse.user("gina")?.devices.isEmpty == true)
        }
    }

    @Test(arguments: StoreBackend.allCases) func oauth2AndUserSessionsAndClients(_ backend: StoreBackend) async throws {
        try await F.run(backend) { fixture in
            let token = try await fixture.token()
            let frank = try await fixture.seedUser("frank")
            let (frankToken, session) = try await fixture.userToken(frank, scope: "openid")
            _ = frankToken
            let byClient = try await fixture.call("GET", "/api/admin/v1/oauth2-sessions?filter[client]=\(F.adminClient)", token: token)
            let adminSessions = try F.ids(byClient)
            #expect(adminSessions.count == 1, "the caller's own client_credentials session")
            let byUser = try await fixture.call("GET", "/api/admin/v1/oauth2-sessions?filter[user]=\(frank.id)", token: token)
            #expect(try F.ids(byUser) == [session.id])
            let attributes = try F.attributes(try await fixture.call("GET", "/api/admin/v1/oauth2-sessions/\(session.id)", token: token))
            #expect(attributes["client_id"] as? String == F.publicClient && attributes["scope"] as? String == "openid")
            let finish = try await fixture.call("POST", "/api/admin/v1/oauth2-sessions/\(session.id)/finish", token: token)
            #expect(try finish.status == 200 && F.attributes(finish)["finished_at"] is String)
            #expect(try await fixture.call("POST", "/api/admin/v1/oauth2-sessions/\(session.id)/finish", token: token).status == 400)
            #expect(try await fixture.call("GET", "/api/admin/v1/oauth2-sessions?filter[client]=01J9ZQ3B7N6Y2W8K4R5T0V1XZZ", token: token).status == 404)

            let browser = BrowserSession(
                id: ULID.make(at: fixture.clock.now(), random: SystemRandom()), userId: frank.id, createdAt: fixture.clock.now(),
                authenticatedAt: fixture.clock.now(), userAgent: "Firefox")
            try await fixture.store.browserSessions.create(browser)
            let userSessions = try await fixture.call("GET", "/api/admin/v1/user-sessions?filter[user]=\(frank.id)&filter[status]=active", token: token)
            #expect(try F.ids(userSessions) == [browser.id])
            let got = try F.attributes(try await fixture.call("GET", "/api/admin/v1/user-sessions/\(browser.id)", token: token))
            #expect(got["user_agent"] as? String == "Firefox")
            #expect(try await fixture.call("GET", "/api/admin/v1/user-sessions/\(session.id)", token: token).status == 404)
            let end = try await fixture.call("POST", "/api/admin/v1/user-sessions/\(browser.id)/finish", token: token)
            #expect(try end.status == 200 && F.attributes(end)["finished_at"] is String)
            #expect(try await fixture.store.browserSessions.find(id: browser.id)?.0.finishedAt != nil)
            #expect(try await fixture.call("POST", "/api/admin/v1/user-sessions/\(browser.id)/finish", token: token).status == 400)

            let clients = try await fixture.call("GET", "/api/admin/v1/oauth2-clients?page[first]=2", token: token)
            #expect(try F.ids(clients) == [F.adminClient, F.otherClient] && F.link(clients, "next") != nil)
            let client = try F.attributes(try await fixture.call("GET", "/api/admin/v1/oauth2-clients/\(F.publicClient)", token: token))
            #expect(client["token_endpoint_auth_method"] as? String == "none" && client["client_name"] as? String == "Client X4A")
            #expect(try await fixture.call("GET", "/api/admin/v1/oauth2-clients/01J9ZQ3B7N6Y2W8K4R5T0V1XZZ", token: token).status == 404)

            let site = try F.object(try await fixture.call("GET", "/api/admin/v1/site-config", token: token))
            #expect(site["server_name"] as? String == "localhost" && site["password_login_enabled"] as? Bool == true)
        }
    }
}
