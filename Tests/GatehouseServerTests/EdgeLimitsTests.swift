import Foundation
import GatehouseCore
import GatehouseTesting
import NIOPosix
import Testing

@testable import GatehouseServer

/// Slow bodies, upstream connections held by slow clients, and heads too big for the upstream
/// (issue 7, items 7 and 13).
@Suite(.serialized)
struct EdgeLimitsTests {
    static let routes = """
        GET   ^/health$   local health
        *     ^/login$    local matrix-compat
        *     ^/raw(/|$)  proxy raw
        """

    @Test func aTricklingProxiedBodyGets408AtTheTotalDeadlineAndHoldsNoUpstreamConnection() async throws {
        let origin = try await RawOrigin(group: MultiThreadedEventLoopGroup.singleton)
        let yaml = "timeouts: {body: 60s, body_total: 1500ms}"
        try await withTestGateway(routes: Self.routes, upstreams: ["raw": origin.port], extraYAML: yaml) { port in
            let (response, cutWhileSending) = try await blocking {
                let client = try RawHTTPClient(port: port, timeoutSeconds: 30)
                try client.send("POST /raw/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
                // One byte every 100 ms for up to 30 s: never a pause long enough for `timeouts.body`
                // (60 s), so only the total deadline can end the body, and then while bytes still come.
                // The 30 s only bounds how long a failing test trickles.
                let stop = Date().addingTimeInterval(30)
                var cutWhileSending = false
                while Date() < stop {
                    guard (try? client.send("x")) != nil else {
                        cutWhileSending = true
                        break
                    }
                    Thread.sleep(forTimeInterval: 0.1)
                }
                return (try client.readResponse(), cutWhileSending)
            }
            #expect(response.status == 408)
            #expect(response.body.contains("M_UNKNOWN"))
            #expect(cutWhileSending, "cut by the total deadline while the body was still trickling, not by a pause")
            #expect(origin.connections == 0, "a trickling body took no upstream connection")
            #expect(origin.requests.isEmpty)
        }
        try await origin.stop()
    }

    @Test func aLocalEndpointsBodyHasAShortTotalDeadline() async throws {
        let yaml = "timeouts: {body: 5s, local_body: 800ms}"
        try await withTestGateway(routes: Self.routes, upstreams: ["raw": 9], extraYAML: yaml) { port in
            let response = try await blocking {
                let client = try RawHTTPClient(port: port, timeoutSeconds: 10)
                try client.send("POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{")
                for _ in 0..<10 {
                    Thread.sleep(forTimeInterval: 0.2)
                    guard (try? client.send(" ")) != nil else { break }
                }
                return try client.readResponse()
            }
            #expect(response.status == 408)
        }
    }

    @Test func aProxiedBodyIsGatheredBeforeAnUpstreamConnectionIsTaken() async throws {
        let origin = try await RawOrigin(group: MultiThreadedEventLoopGroup.singleton)
        try await withTestGateway(routes: Self.routes, upstreams: ["raw": origin.port]) { port in
            let (connectionsMidBody, response) = try await blocking {
                let client = try RawHTTPClient(port: port, timeoutSeconds: 10)
                try client.send("POST /raw/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234")
                Thread.sleep(forTimeInterval: 0.3)
                let connectionsMidBody = origin.connections
                try client.send("56789")
                return (connectionsMidBody, try client.readResponse())
            }
            #expect(connectionsMidBody == 0, "half a small body: no upstream connection yet")
            #expect(response.status == 200)
            #expect(origin.requests.map { String(decoding: $0.body, as: UTF8.self) } == ["0123456789"])
        }
        try await origin.stop()
    }

    @Test func aBodyLargerThanTheBufferStreamsOnceTheBufferIsFull() async throws {
        let origin = try await RawOrigin(group: MultiThreadedEventLoopGroup.singleton)
        let yaml = "limits: {proxy_request_buffer: 1KiB}"
        try await withTestGateway(routes: Self.routes, upstreams: ["raw": origin.port], extraYAML: yaml) { port in
            let body = String(repeating: "a", count: 4096)
            let response = try await request(port: port, "POST /raw/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n\(body)")
            #expect(response.status == 200)
            #expect(origin.requests.first?.body.count == 4096)
        }
        try await origin.stop()
    }

    @Test func aHeadTooBigForTheUpstreamGets431NotA502() async throws {
        let origin = try await RawOrigin(group: MultiThreadedEventLoopGroup.singleton)
        try await withTestGateway(routes: Self.routes, upstreams: ["raw": origin.port]) { port in
            let big = String(repeating: "t", count: 20 * 1024)
            let refused = try await request(port: port, "GET /raw/a HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(big)\r\n\r\n")
            #expect(refused.status == 431)
            #expect(refused.body.contains("homeserver"))
            let fits = String(repeating: "t", count: 8 * 1024)
            let accepted = try await request(port: port, "GET /raw/b HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(fits)\r\n\r\n")
            #expect(accepted.status == 200)
            #expect(origin.requests.map(\.target) == ["/raw/b"])
        }
        try await origin.stop()
    }

    @Test func aClientThatStopsReadingIsCutAfterTheSendTimeout() async throws {
        let origin = try await RawOrigin(group: MultiThreadedEventLoopGroup.singleton)
        try await withTestGateway(routes: Self.routes, upstreams: ["raw": origin.port], extraYAML: "timeouts: {send: 1s}") { port in
            let size = 32 << 20
            let (cut, received, closed) = try await blocking {
                let client = try RawHTTPClient(port: port, timeoutSeconds: 30, receiveBufferBytes: 4096)
                try client.send("GET /raw/big/\(size / 1024) HTTP/1.1\r\nHost: x\r\n\r\n")
                // Not reading: the connection stays unwritable on the server's side. Reading before the
                // server gives up would let the transfer go on, so wait for the event that follows the
                // cut, the upstream connection closing, without touching the socket. The bound only
                // limits how long a failing test hangs.
                let deadline = Date().addingTimeInterval(60)
                while origin.closedConnections == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
                let cut = origin.closedConnections > 0
                let (received, closed) = client.drain()
                return (cut, received, closed)
            }
            #expect(cut, "the upstream connection of the cut client is closed")
            #expect(closed, "the server gave up on a client that took nothing")
            #expect(received < size)
            #expect(try await request(port: port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n").status == 200)
        }
        try await origin.stop()
    }
}
