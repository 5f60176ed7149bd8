import GatehouseTesting
import NIOPosix
import Testing

@testable import GatehouseServer

/// A live `proxy_protocol` listener: the client the PROXY header names is the connection's peer for
/// everything after it (here: `X-Forwarded-For` to the upstream and the per-address connection cap),
/// and a connection without a valid header, or from a peer not in `http.trusted_proxies`, is closed
/// unanswered.
struct ProxyProtocolListenerTests {
    static let routes = "*  ^/  proxy origin\n"
    static let request = "GET /who HTTP/1.1\r\nHost: matrix.example.org\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n"

    /// `header`, then two requests on one connection; the upstream's `X-Forwarded-For` of each.
    func forwardedFor(header: [UInt8], oneWrite: Bool, httpYAML: String = "") async throws -> [[String]] {
        let origin = try await FakeOrigin(group: MultiThreadedEventLoopGroup.singleton)
        let seen = try await withTestGateway(
            routes: Self.routes, upstreams: ["origin": origin.port], listenerYAML: "proxy_protocol: true", httpYAML: httpYAML
        ) { port in
            try await blocking {
                let client = try RawHTTPClient(port: port)
                let first = header + Array(Self.request.utf8)
                if oneWrite {
                    try client.send(first)
                } else {
                    for byte in first { try client.send([byte]) }
                }
                let response = try client.readResponse()
                try client.send(Self.request)
                let again = try client.readResponse()
                return [response.status, again.status]
            }
        }
        #expect(seen == [200, 200])
        let headers = origin.requests.map { $0.header("x-forwarded-for") }
        try await origin.stop()
        return headers
    }

    @Test func aV2HeaderAndTheRequestInOneWrite() async throws {
        let header = ProxyHeaderParserTests.v2(0x21, 0x11, ProxyHeaderParserTests.ipv4Block)
        #expect(try await forwardedFor(header: header, oneWrite: true) == [["203.0.113.7"], ["203.0.113.7"]])
    }

    @Test func aV1HeaderAndTheRequestByteByByte() async throws {
        let header = Array("PROXY TCP6 2001:db8::7 2001:db8::21 51000 8443\r\n".utf8)
        #expect(try await forwardedFor(header: header, oneWrite: false) == [["2001:db8::7"], ["2001:db8::7"]])
    }

    @Test func aLocalHeaderKeepsTheLoadBalancersAddress() async throws {
        let header = ProxyHeaderParserTests.v2(0x20, 0x00, [])
        #expect(try await forwardedFor(header: header, oneWrite: true) == [["127.0.0.1"], ["127.0.0.1"]])
    }

    /// Whether the gateway closes a connection that sends `bytes` without answering; the upstream must
    /// see nothing.
    func closedUnanswered(_ bytes: [UInt8], httpYAML: String = "") async throws -> Bool {
        let origin = try await FakeOrigin(group: MultiThreadedEventLoopGroup.singleton)
        let closed = try await withTestGateway(
            routes: Self.routes, upstreams: ["origin": origin.port], listenerYAML: "proxy_protocol: true", httpYAML: httpYAML
        ) { port in
            try await blocking {
                let client = try RawHTTPClient(port: port)
                try? client.send(bytes)
                let (received, closed) = client.drain()
                return received == 0 && closed
            }
        }
        #expect(origin.requests.isEmpty)
        try await origin.stop()
        return closed
    }

    @Test func aRequestWithoutAHeaderIsClosedUnanswered() async throws {
        #expect(try await closedUnanswered(Array(Self.request.utf8)))
    }

    @Test func aMalformedHeaderIsClosedUnanswered() async throws {
        #expect(try await closedUnanswered(Array(("PROXY TCP4 203.0.113.7 10.0.0.21 51000 8443\n" + Self.request).utf8)))
    }

    @Test func aPeerThatIsNotATrustedProxyIsClosedEvenWithAValidHeader() async throws {
        let header = ProxyHeaderParserTests.v2(0x21, 0x11, ProxyHeaderParserTests.ipv4Block)
        #expect(try await closedUnanswered(header + Array(Self.request.utf8), httpYAML: "trusted_proxies: [\"10.0.0.0/8\"]"))
    }

    @Test func theConnectionCapPerAddressCountsTheClientInTheHeader() async throws {
        let origin = try await FakeOrigin(group: MultiThreadedEventLoopGroup.singleton)
        let outcome = try await withTestGateway(
            routes: Self.routes, upstreams: ["origin": origin.port], extraYAML: "limits: {max_connections_per_address: 1}",
            listenerYAML: "proxy_protocol: true"
        ) { port in
            try await blocking { () -> [Int] in
                // Two clients behind the same balancer: one connection each is fine.
                let first = try RawHTTPClient(port: port)
                try first.send(Array("PROXY TCP4 203.0.113.7 10.0.0.21 51000 8443\r\n".utf8) + Array(Self.request.utf8))
                let firstStatus = try first.readResponse().status
                let second = try RawHTTPClient(port: port)
                try second.send(Array("PROXY TCP4 203.0.113.8 10.0.0.21 51000 8443\r\n".utf8) + Array(Self.request.utf8))
                let secondStatus = try second.readResponse().status
                // A second connection of the first client is over its cap: closed unanswered.
                let third = try RawHTTPClient(port: port)
                try? third.send(Array("PROXY TCP4 203.0.113.7 10.0.0.21 51001 8443\r\n".utf8) + Array(Self.request.utf8))
                let (received, closed) = third.drain()
                return [firstStatus, secondStatus, received, closed ? 1 : 0]
            }
        }
        #expect(outcome == [200, 200, 0, 1])
        #expect(origin.requests.count == 2)
        try await origin.stop()
    }
}

/// `proxy_protocol` decides how a bound listener reads its connections, so a reload keeps the running
/// value and says a restart is needed.
struct ProxyProtocolReloadTests {
    @Test func turningItOnWaitsForARestart() throws {
        let fixture = try ReloadFixture()
        let running = try fixture.load().configuration
        var text = try String(contentsOfFile: fixture.path, encoding: .utf8)
        text = text.replacingOccurrences(of: "binds: [{address: \"127.0.0.1:0\"}]", with: "binds: [{address: \"127.0.0.1:0\"}]\n      proxy_protocol: true")
        try text.write(toFile: fixture.path, atomically: true, encoding: .utf8)
        let candidate = try fixture.load().configuration
        #expect(candidate.http.listeners[0].proxyProtocol)
        let plan = ReloadPlan.make(running: running, candidate: candidate)
        #expect(plan.restartNeeded == ["http.listeners"])
        #expect(plan.effective.http.listeners[0].proxyProtocol == false)
    }
}
