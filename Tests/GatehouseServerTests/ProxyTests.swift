import GatehouseCore
import GatehouseTesting
import NIOPosix
import Testing

@testable import GatehouseServer

/// The gateway end to end in-process: real sockets, a scripted origin standing in for Synapse.
@Suite(.serialized)
struct ProxyTests {
    static let routes = """
        GET   ^/health$            local health
        *     ^/_synapse/mas(/|$)  deny 404
        *     ^/login$             local matrix-compat  max_body=1KiB
        *     ^/small(/|$)         proxy origin  max_body=16
        *     ^/slow/              proxy origin  timeout=1s
        *     ^/                   proxy origin
        """

    @Test func forwardsExactBytesAndRewritesForwardingHeaders() async throws {
        let origin = try await FakeOrigin(group: MultiThreadedEventLoopGroup.singleton)
        try await withTestGateway(routes: Self.routes, upstreams: ["origin": origin.port]) { port in
            let target = "/echo/rooms/!r%3Ax/state/m.room.topic/a%2Fb%23c%25d?access_token=abc"
            let response = try await request(port: port, """
                GET \(target) HTTP/1.1\r
                Host: matrix.example.org\r
                X-Forwarded-For: 6.6.6.6\r
                X-Real-IP: 6.6.6.6\r
                Forwarded: for=6.6.6.6\r
                X-Forwarded-Proto: https\r
                Connection: keep-alive, X-Secret-Hop\r
                X-Secret-Hop: dropped\r
                TE: trailers\r
                Keep-Alive: timeout=5\r
                \r

                """)
            #expect(response.status == 200)
            let seen = try #require(origin.requests.last)
            #expect(seen.uri == target, "path bytes must reach the upstream unchanged")
            #expect(seen.header("x-forwarded-for") == ["127.0.0.1"])
            #expect(seen.header("x-forwarded-proto") == ["http"])
            #expect(seen.header("host") == ["matrix.example.org"])
            for dropped in ["x-real-ip", "forwarded", "x-secret-hop", "te", "keep-alive"] {
                #expect(seen.header(dropped).isEmpty, "\(dropped) must not be forwarded")
            }
            #expect(response.header("x-origin-hop") == nil, "headers named in the upstream's Connection are hop-by-hop")
        }
        try await origin.stop()
    }

    @Test func reusesUpstreamConnections() async throws {
        let origin = try await FakeOrigin(group: MultiThreadedEventLoopGroup.singleton)
        try await withTestGateway(routes: Self.routes, upstreams: ["origin": origin.port]) { port in
            let responses = try await blocking {
                let client = try RawHTTPClient(port: port)
                var statuses: [Int] = []
                for index in 0..<5 {
                    try client.send("GET /echo/\(index) HTTP/1.1\r\nHost: x\r\n\r\n")
                    statuses.append(try client.readResponse().status)
                }
                return statuses
            }
            #expect(responses == [200, 200, 200, 200, 200])
            #expect(origin.requests.count == 5)
            #expect(origin.connections == 1, "five sequential requests on one client connection share one upstream connection")
        }
        try await origin.stop()
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        let origin = try await FakeOrigin(group: MultiThreadedEventLoopGroup.singleton)
        try await withTestGateway(routes: Self.routes, upstreams: ["origin": origin.port]) { port in
            let responses = try await blocking {
                let client = try RawHTTPClient(port: port)
                // A slow proxied request, a proxied upload, a local answer and a fast proxied request,
                // sent at once: the answers must come back in the same order.
                try client.send(
                    "GET /slow/200 HTTP/1.1\r\nHost: x\r\n\r\n"
                        + "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                        + "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
                        + "GET /echo/last HTTP/1.1\r\nHost: x\r\n\r\n")
                return try (0..<4).map { _ in try client.readResponse() }
            }
            #expect(responses.map(\.status) == [200, 200, 200, 200])
            #expect(responses[0].body == "slow")
            #expect(responses[1].body == "received 5")
            #expect(responses[2].body == "OK")
            #expect(responses[3].body.hasPrefix("GET /echo/last"))
        }
        try await origin.stop()
    }

    @Test func upstreamDownGives502ThenRecovers() async throws {
        // Reserve a port, then close it so nothing listens there.
        let probe = try await FakeOrigin(group: MultiThreadedEventLoopGroup.singleton)
        let deadPort = probe.port
        try await probe.stop()
        try await withTestGateway(routes: Self.routes, upstreams: ["origin": deadPort]) { port in
            let response = try await request(port: port, "GET /_matrix/client/versions HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(response.status == 502)
            #expect(response.header("content-type") == "application/json")
            #expect(response.body.contains(#""errcode":"M_UNKNOWN""#))
        }
    }

    @Test func slowUpstreamGives504() async throws {
        let origin = try await FakeOrigin(group: MultiThreadedEventLoopGroup.singleton)
        try await withTestGateway(routes: Self.routes, upstreams: ["origin": origin.port]) { port in
            let response = try await request(port: port, "GET /slow/3000 HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(response.status == 504)
            #expect(response.body.contains(#""errcode":"M_UNKNOWN""#))
            let fast = try await request(port: port, "GET /slow/10 HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(fast.status == 200)
            #expect(fast.body == "slow")
        }
        try await origin.stop()
    }

    @Test func upstreamClosingWithoutAnswerGives502() async throws {
        let origin = try await FakeOrigin(group: MultiThreadedEventLoopGroup.singleton)
        try await withTestGateway(routes: Self.routes, upstreams: ["origin": origin.port]) { port in
            let response = try await request(port: port, "POST /drop HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            #expect(response.status == 502)
        }
        try await origin.stop()
    }

    @Test func streamsChunkedResponsesAndUploads() async throws {
        let origin = try await FakeOrigin(group: MultiThreadedEventLoopGroup.singleton)
        try await withTestGateway(routes: Self.routes, upstreams: ["origin": origin.port]) { port in
            let streamed = try await request(port: port, "GET /stream/20 HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(streamed.status == 200)
            #expect(streamed.body.count == 20 * 1024)
            #expect(streamed.header("transfer-encoding") == "chunked")

            let upload = try await request(port: port, """
                POST /upload HTTP/1.1\r
                Host: x\r
                Transfer-Encoding: chunked\r
                \r
                5\r
                hello\r
                6\r
                 world\r
                0\r
                \r

                """)
            #expect(upload.body == "received 11")
            let seen = try #require(origin.requests.last)
            #expect(seen.header("transfer-encoding") == ["chunked"])
            #expect(seen.header("content-length").isEmpty)
        }
        try await origin.stop()
    }

    /// A response's head reaches the client as soon as it arrives, not with its body: Gatehouse holds
    /// a head back (to send a small body with it in one write) only for the rest of the upstream read
    /// that brought it. The origin sends the body only after the client has read the head.
    @Test func aResponseHeadIsRelayedBeforeItsBodyArrives() async throws {
        let origin = try await FakeOrigin(group: MultiThreadedEventLoopGroup.singleton)
        try await withTestGateway(routes: Self.routes, upstreams: ["origin": origin.port]) { port in
            let (head, body) = try await blocking {
                let client = try RawHTTPClient(port: port)
                try client.send("GET /held-body HTTP/1.1\r\nHost: x\r\n\r\n")
                let head = try client.readResponse(toHead: true)
                origin.releaseHeldBodies()
                return (head, try client.read(count: 5))
            }
            #expect(head.status == 200)
            #expect(head.header("content-length") == "5")
            #expect(body == "later")
        }
        try await origin.stop()
    }

    /// An upstream that announces a length and closes before sending it (its head and first bytes
    /// in one read, so Gatehouse holds the head and appends them): the client gets exactly what the
    /// upstream sent and then the close, never an error response after a started one, and the next
    /// request is answered.
    @Test func aResponseCutShortUpstreamReachesTheClientCutShortAndClosed() async throws {
        let origin = try await FakeOrigin(group: MultiThreadedEventLoopGroup.singleton)
        try await withTestGateway(routes: Self.routes, upstreams: ["origin": origin.port]) { port in
            let (head, rest) = try await blocking {
                let client = try RawHTTPClient(port: port)
                try client.send("GET /cut-body HTTP/1.1\r\nHost: x\r\n\r\n")
                return (try client.readResponse(toHead: true), client.drain())
            }
            #expect(head.status == 200)
            #expect(head.header("content-length") == "10")
            #expect(rest.bytes == 3, "the three bytes the upstream sent, and nothing after them")
            #expect(rest.closed, "a response cut short ends with the connection")
            #expect(try await request(port: port, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n").status == 200)
        }
        try await origin.stop()
    }

    @Test func localDenyAndUnknownRoutesNeverReachTheUpstream() async throws {
        let origin = try await FakeOrigin(group: MultiThreadedEventLoopGroup.singleton)
        try await withTestGateway(routes: Self.routes.replacingOccurrences(of: "*     ^/                   proxy origin", with: ""), upstreams: ["origin": origin.port]) { port in
            let health = try await request(port: port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(health.status == 200)
            #expect(health.body == "OK")
            for target in ["/_synapse/mas/query_user", "/_synapse/%6Das/x", "/%5Fsynapse/mas/x", "//_synapse/mas"] {
                let denied = try await request(port: port, "GET \(target) HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(denied.status == 404, "\(target)")
                #expect(denied.body == #"{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}"#)
            }
            let dots = try await request(port: port, "GET /_matrix/../_synapse/mas/x HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(dots.status == 400)
            let login = try await request(port: port, "POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
            #expect(login.status == 501)
            #expect(login.body.contains("M_UNRECOGNIZED"))
            let unknown = try await request(port: port, "GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(unknown.status == 404)
            #expect(unknown.header("date")?.hasSuffix(" GMT") == true)
            // Answers to bodiless requests keep the connection: a pipelined request behind them is served.
            let pipelined = try await blocking {
                let client = try RawHTTPClient(port: port)
                try client.send("GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\nGET /_synapse/mas/x HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                return try (0..<3).map { _ in try client.readResponse() }
            }
            #expect(pipelined.map(\.status) == [404, 404, 200])
            #expect(pipelined.allSatisfy { $0.header("connection") == nil })
        }
        #expect(origin.requests.isEmpty)
        try await origin.stop()
    }

    @Test func framingAmbiguitiesAreRefusedAndClosed() async throws {
        let origin = try await FakeOrigin(group: MultiThreadedEventLoopGroup.singleton)
        try await withTestGateway(routes: Self.routes, upstreams: ["origin": origin.port]) { port in
            let cases = [
                "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
                "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
                "GET /echo HTTP/1.1\nHost: x\n\n",
                "GET /echo HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n  b\r\n\r\n",
                "GET /echo HTTP/1.1\r\n\r\n",
                "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
                "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello",
                "GET /echo HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n",
            ]
            for raw in cases {
                let response = try await request(port: port, raw)
                #expect(response.status == 400, "\(raw.debugDescription)")
                #expect(response.closed, "the connection must close after \(raw.debugDescription)")
            }
        }
        #expect(origin.requests.isEmpty, "nothing that failed to parse is forwarded")
        try await origin.stop()
    }

    @Test func limitsGive413And414And431() async throws {
        let origin = try await FakeOrigin(group: MultiThreadedEventLoopGroup.singleton)
        try await withTestGateway(routes: Self.routes, upstreams: ["origin": origin.port], extraYAML: "limits: {max_request_target_bytes: 1KiB, max_header_bytes: 8KiB}") { port in
            let tooLarge = try await request(port: port, "POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
            #expect(tooLarge.status == 413)
            #expect(tooLarge.body.contains("M_TOO_LARGE"))
            #expect(tooLarge.closed)

            let chunkedTooLarge = try await request(port: port, "POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n\(String(repeating: "a", count: 32))\r\n0\r\n\r\n")
            #expect(chunkedTooLarge.status == 413)

            let longTarget = try await request(port: port, "GET /echo/\(String(repeating: "a", count: 2000)) HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(longTarget.status == 414)

            let manyHeaders = (0..<20).map { "X-Filler-\($0): \(String(repeating: "b", count: 500))\r\n" }.joined()
            let bigHead = try await request(port: port, "GET /echo HTTP/1.1\r\nHost: x\r\n\(manyHeaders)\r\n")
            #expect(bigHead.status == 431)
            #expect(bigHead.closed)
        }
        #expect(origin.requests.isEmpty)
        try await origin.stop()
    }

    @Test func slowClientsAreCut() async throws {
        let origin = try await FakeOrigin(group: MultiThreadedEventLoopGroup.singleton)
        try await withTestGateway(routes: Self.routes, upstreams: ["origin": origin.port], extraYAML: "timeouts: {header: 500ms, body: 500ms, idle: 500ms}") { port in
            let closedOnIdle = try await blocking {
                let client = try RawHTTPClient(port: port, timeoutSeconds: 5)
                try client.send("GET /echo HTTP/1.1\r\nHost: x\r\n")  // never finishes the head
                return try client.isClosedByPeer()
            }
            #expect(closedOnIdle)
            let bodyTimeout = try await blocking {
                let client = try RawHTTPClient(port: port, timeoutSeconds: 5)
                try client.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly-part")
                return try client.readResponse()
            }
            #expect(bodyTimeout.status == 408)
            // A healthy request on another connection still works.
            #expect(try await request(port: port, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n").status == 200)
        }
        try await origin.stop()
    }
}
