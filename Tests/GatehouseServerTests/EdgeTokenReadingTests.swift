import GatehouseCore
import GatehouseIdentity
import GatehouseTestSupport
import GatehouseTesting
import NIOPosix
import Testing

@testable import GatehouseServer

/// The edge token check end to end in-process: real sockets, a scripted origin standing in for Synapse.
@Suite(.serialized)
struct EdgeTokenReadingTests {
    /// Two tokens of the fixture's user: one whose session has ended, one live.
    private static func deadAndLiveTokens(_ fixture: IntrospectionFixture) async throws -> (dead: String, live: String) {
        let (dead, _) = try await fixture.issue(device: "DEAD")
        let (live, _) = try await fixture.issue(device: "LIVE")
        let sessions = try await fixture.store.compatSessions.activeSessions(userId: fixture.user.id)
        let session = try #require(sessions.first(where: { $0.deviceId == "DEAD" }))
        try await fixture.store.compatSessions.finish(sessionId: session.id, at: fixture.clock.now())
        return (dead, live)
    }

    /// A refreshed-away (dead) Gatehouse token never reaches the upstream, in any spelling Synapse
    /// would read; the live one still does.
    @Test(arguments: StoreBackend.allCases) func deadTokenNeverReachesTheUpstreamInAnySpelling(_ backend: StoreBackend) async throws {
        let fixture = try await IntrospectionFixture(backend)
        let (dead, live) = try await Self.deadAndLiveTokens(fixture)

        let origin = try await FakeOrigin(group: MultiThreadedEventLoopGroup.singleton)
        try await withTestGateway(routes: "*  ^/  proxy origin", upstreams: ["origin": origin.port], identityStore: fixture.store) { port in
            func send(_ target: String, _ headers: [String] = [], body: String? = nil) async throws -> RawHTTPClient.Response {
                var raw = "\(body == nil ? "GET" : "POST") \(target) HTTP/1.1\r\nHost: x\r\n"
                for header in headers { raw += header + "\r\n" }
                if let body { raw += "Content-Length: \(body.utf8.count)\r\n" }
                return try await request(port: port, raw + "\r\n" + (body ?? ""))
            }
            let queries = [
                "access_token=\(dead)", "access%5Ftoken=\(dead)", "access%5ftoken=\(dead)", "%61ccess_token=\(dead)",
                "access_token=\(dead)&access_token=\(dead)", "access_token=\(dead)&x=%zz", "access_token=\(dead)&x=%ff",
                "x=1;access_token=\(dead)", "access_token=\(dead);x=1", "access_token=&access_token=\(dead)",
                "access_token=\(dead)+", "access_token=\(live)&access_token=\(dead)",
            ]
            var refused: [(String, RawHTTPClient.Response)] = []
            for query in queries {
                refused.append((query, try await send("/echo?\(query)")))
            }
            let auth = "Authorization: Bearer"
            refused.append(("two headers", try await send("/echo", ["\(auth) \(live)", "\(auth) \(dead)"])))
            refused.append(("header and query", try await send("/echo?access_token=\(dead)", ["\(auth) \(live)"])))
            refused.append(("bearer, lower case", try await send("/echo", ["authorization: bearer \(dead)"])))
            refused.append(("empty query value and header", try await send("/echo?access_token=", ["\(auth) \(live)"])))
            let form = "Content-Type: application/x-www-form-urlencoded"
            refused.append(("form body", try await send("/echo", [form], body: "access_token=\(dead)")))
            refused.append(("form body, live query", try await send("/echo?access_token=\(live)", [form], body: "access_token=\(dead)")))
            // The header a body token would be "mixed" with is dropped on the way (it is named in Connection).
            refused.append((
                "form body, header dropped",
                try await send("/echo", ["Authorization: Basic eDp5", "Connection: authorization", form], body: "access_token=\(dead)")
            ))
            for (what, response) in refused {
                #expect(response.status == 401, "\(what): \(response.status) \(response.body)")
                #expect(response.body.contains("M_UNKNOWN_TOKEN") || response.body.contains("M_MISSING_TOKEN"), "\(what): \(response.body)")
            }
            #expect(origin.requests.isEmpty, "nothing with the dead token may be forwarded: \(origin.requests.map(\.uri))")

            #expect(try await send("/echo/1", ["\(auth) \(live)"]).status == 200)
            #expect(try await send("/echo/2?access_token=\(live)").status == 200)
            #expect(try await send("/echo/3?since=1", ["\(auth) \(live)", "Content-Type: application/json"], body: "{}").status == 200)
            #expect(origin.requests.count == 3)
        }
        try await origin.stop()
    }

    /// One keep-alive connection carrying a live and a dead token in turn (a load balancer's
    /// connection, several clients behind it): each request is judged by its own token, never by the
    /// one before it on the connection, whose digest the connection keeps.
    @Test(arguments: StoreBackend.allCases) func tokensTakingTurnsOnOneConnectionAreEachJudgedByTheirOwn(_ backend: StoreBackend) async throws {
        let fixture = try await IntrospectionFixture(backend)
        let (dead, live) = try await Self.deadAndLiveTokens(fixture)
        #expect(dead.utf8.count == live.utf8.count, "tokens of one format: the comparison looks at every byte")

        let origin = try await FakeOrigin(group: MultiThreadedEventLoopGroup.singleton)
        try await withTestGateway(routes: "*  ^/  proxy origin", upstreams: ["origin": origin.port], identityStore: fixture.store) { port in
            let order = [live, live, dead, dead, live, dead, live]
            // A refusal may close the connection (it is answered before the request's end is read):
            // the next request then opens another. Each connection is numbered by its first request.
            let (statuses, connections) = try await blocking {
                var client: RawHTTPClient?
                var connection = -1
                var statuses: [Int] = []
                var connections: [Int] = []
                for (index, token) in order.enumerated() {
                    if client == nil {
                        client = try RawHTTPClient(port: port)
                        connection = index
                    }
                    try client!.send("GET /echo/\(index) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\n\r\n")
                    let response = try client!.readResponse()
                    statuses.append(response.status)
                    connections.append(connection)
                    if response.header("connection")?.lowercased() == "close" { client = nil }
                }
                return (statuses, connections)
            }
            #expect(statuses == order.map { $0 == live ? 200 : 401 })
            #expect(connections[2] == connections[0], "the dead token came on the connection that had carried the live one")
            #expect(origin.requests.map(\.uri) == ["/echo/0", "/echo/1", "/echo/4", "/echo/6"], "only the live token's requests go on")
            #expect(Set(origin.requests.map { $0.header("authorization") }) == [["Bearer \(live)"]])
        }
        try await origin.stop()
    }

    /// A form-encoded `POST` without an `Authorization` header is read whole before it goes: one
    /// without a token in its body (a mail client's one-click unsubscribe, RFC 8058, whose URL carries
    /// Synapse's own token in the query) reaches the upstream byte for byte, in one piece or chunked and
    /// trickled; one whose body carries a Gatehouse token goes only when the token is live; a body too
    /// large to read is refused, never forwarded unread.
    @Test(arguments: StoreBackend.allCases) func formBodiesAreReadForTheirTokenThenForwarded(_ backend: StoreBackend) async throws {
        let fixture = try await IntrospectionFixture(backend)
        let (dead, live) = try await Self.deadAndLiveTokens(fixture)

        let origin = try await RawOrigin(group: MultiThreadedEventLoopGroup.singleton)
        try await withTestGateway(routes: "*  ^/  proxy origin", upstreams: ["origin": origin.port], identityStore: fixture.store) { port in
            let form = "Content-Type: application/x-www-form-urlencoded\r\n"
            let unsubscribe = "/_synapse/client/unsubscribe?access_token=MDAxOGxvY2F0aW9uIHN5bmFwc2UK&app_id=m.email&pushkey=a%40example.org"
            let oneClick = "List-Unsubscribe=One-Click"

            let whole = try await request(
                port: port, "POST \(unsubscribe) HTTP/1.1\r\nHost: x\r\n\(form)Content-Length: \(oneClick.utf8.count)\r\n\r\n\(oneClick)")
            #expect(whole.status == 200, "\(whole.status) \(whole.body)")
            let trickled = try await blocking {
                let client = try RawHTTPClient(port: port)
                try client.send("POST \(unsubscribe) HTTP/1.1\r\nHost: x\r\n\(form)Transfer-Encoding: chunked\r\n\r\n")
                for byte in oneClick { try client.send("1\r\n\(byte)\r\n") }
                try client.send("0\r\n\r\n")
                return try client.readResponse()
            }
            #expect(trickled.status == 200, "\(trickled.status) \(trickled.body)")
            let received = origin.requests
            #expect(received.count == 2)
            for request in received {
                #expect(request.target == unsubscribe, "the target goes byte-exact")
                #expect(String(decoding: request.body, as: UTF8.self) == oneClick)
            }

            let liveBody = "access_token=\(live)&x=1"
            let forwarded = try await request(
                port: port, "POST /echo HTTP/1.1\r\nHost: x\r\n\(form)Content-Length: \(liveBody.utf8.count)\r\n\r\n\(liveBody)")
            #expect(forwarded.status == 200, "\(forwarded.status) \(forwarded.body)")
            #expect(origin.requests.count == 3)
            #expect(origin.requests.last.map { String(decoding: $0.body, as: UTF8.self) } == liveBody)

            let deadBody = "x=1&access_token=\(dead)"
            let refused = try await request(
                port: port, "POST /echo HTTP/1.1\r\nHost: x\r\n\(form)Content-Length: \(deadBody.utf8.count)\r\n\r\n\(deadBody)")
            #expect(refused.status == 401 && refused.body.contains("M_UNKNOWN_TOKEN"), "\(refused.status) \(refused.body)")

            let large = String(repeating: "a", count: AccessToken.formBodyLimit + 1)
            let tooLarge = try await request(
                port: port, "POST /echo HTTP/1.1\r\nHost: x\r\n\(form)Content-Length: \(large.utf8.count)\r\n\r\n\(large)")
            #expect(tooLarge.status == 413 && tooLarge.body.contains("M_TOO_LARGE"), "\(tooLarge.status) \(tooLarge.body)")
            #expect(origin.requests.count == 3, "neither the dead token nor the unread body was forwarded")
        }
        try await origin.stop()
    }

    /// The first request with a token that is not in memory goes through a store lookup; that use is
    /// recorded with the client's address as well as the time, so the session's `last_active_ip` is
    /// set after one proxied request (the lookup path used to record the time only).
    @Test(arguments: StoreBackend.allCases) func theFirstProxiedUseOfAnUncachedTokenRecordsTheClientAddress(_ backend: StoreBackend) async throws {
        let fixture = try await IntrospectionFixture(backend)
        let (token, _) = try await fixture.issue(device: "FIRSTUSE")
        let session = try #require(try await fixture.store.compatSessions.activeSessions(userId: fixture.user.id).first)
        #expect(session.lastActiveAddress == nil)
        let activity = SessionActivityRecorder()
        let origin = try await FakeOrigin(group: MultiThreadedEventLoopGroup.singleton)
        try await withTestGateway(
            routes: "*  ^/  proxy origin", upstreams: ["origin": origin.port], identityStore: fixture.store, clock: fixture.clock,
            activity: activity
        ) { port in
            let response = try await request(port: port, "GET /echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\n\r\n")
            #expect(response.status == 200, "\(response.body)")
        }
        try await origin.stop()
        #expect(origin.requests.count == 1)
        #expect(await SessionActivityFlusher(recorder: activity, repository: fixture.store.sessionActivity).flush() == 1)
        let stored = try #require(try await fixture.store.compatSessions.find(sessionId: session.id))
        #expect(stored.lastActiveAddress == "127.0.0.1")
        #expect(stored.lastActiveAt != nil)
    }
}
