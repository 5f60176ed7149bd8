import Foundation
import GatehouseCore
import GatehouseTesting
import NIOPosix
import Testing

@testable import GatehouseServer

/// What really reaches an upstream, byte for byte, for every method and body framing: exactly one
/// request per client request, and a pooled connection that stays in step (issue 7, items 1 and 13).
@Suite(.serialized)
struct EdgeFramingTests {
    static let routes = """
        GET   ^/health$   local health
        *     ^/raw(/|$)  proxy raw
        """

    /// A whole second request, sent as the body: if any of it reached the origin as a request of its
    /// own, the proxy would have smuggled it past the route table.
    static let smuggled = "GET /raw/smuggled HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n"

    static func framed(_ body: String, chunked: Bool) -> (headers: String, body: String) {
        if chunked {
            let size = String(body.utf8.count, radix: 16)
            return ("Transfer-Encoding: chunked\r\n", "\(size)\r\n\(body)\r\n0\r\n\r\n")
        }
        return ("Content-Length: \(body.utf8.count)\r\n", body)
    }

    @Test(arguments: ["GET", "HEAD", "DELETE", "OPTIONS", "PUT", "POST", "PATCH", "PROPFIND"], [false, true])
    func everyMethodWithABodyReachesTheOriginAsExactlyOneRequest(method: String, chunked: Bool) async throws {
        let origin = try await RawOrigin(group: MultiThreadedEventLoopGroup.singleton)
        try await withTestGateway(routes: Self.routes, upstreams: ["raw": origin.port]) { port in
            let (framingHeader, body) = Self.framed(Self.smuggled, chunked: chunked)
            let (first, second) = try await blocking {
                let client = try RawHTTPClient(port: port)
                try client.send("\(method) /raw/first HTTP/1.1\r\nHost: localhost\r\n\(framingHeader)\r\n\(body)")
                let first = try client.readResponse(toHead: method == "HEAD")
                // The same client connection, and through the pool the same upstream connection.
                try client.send("GET /raw/second HTTP/1.1\r\nHost: localhost\r\n\r\n")
                return (first, try client.readResponse())
            }
            #expect(first.status == 200)
            #expect(second.status == 200)
            let requests = origin.requests
            #expect(origin.errors.isEmpty, "the origin received bytes that are not a request: \(origin.errors)")
            #expect(requests.map(\.target) == ["/raw/first", "/raw/second"], "exactly the two requests, nothing smuggled")
            #expect(requests.first?.method == method)
            #expect(requests.first.map { String(decoding: $0.body, as: UTF8.self) } == Self.smuggled, "the body arrives whole, as a body")
            #expect(Set(requests.map(\.connection)).count == 1, "the pooled upstream connection stays in step and is reused")
        }
        try await origin.stop()
    }

    /// Gatehouse's own HTTP/1.1 reader (issue 9) holds partial framing between reads: a chunked body
    /// that carries a whole request, with chunk extensions and a trailer, followed by a pipelined
    /// request in the same write, or dribbled one byte per write, still reaches the origin as exactly
    /// the two requests, the body whole and the trailer dropped.
    @Test(arguments: [false, true])
    func aChunkedBodyAndTheRequestAfterItReachTheOriginAsTwoRequestsHoweverTheBytesArrive(dribbled: Bool) async throws {
        let origin = try await RawOrigin(group: MultiThreadedEventLoopGroup.singleton)
        try await withTestGateway(routes: Self.routes, upstreams: ["raw": origin.port]) { port in
            let smuggled = Array(Self.smuggled.utf8)
            let half = smuggled.count / 2
            let wire = "POST /raw/first HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "\(String(half, radix: 16));ext=\"a b\"\r\n\(String(decoding: smuggled[..<half], as: UTF8.self))\r\n"
                + "\(String(smuggled.count - half, radix: 16))\r\n\(String(decoding: smuggled[half...], as: UTF8.self))\r\n"
                + "0\r\nX-Trailer: injected\r\n\r\n"
                + "GET /raw/second HTTP/1.1\r\nHost: localhost\r\n\r\n"
            let statuses = try await blocking {
                let client = try RawHTTPClient(port: port)
                if dribbled {
                    for byte in Array(wire.utf8) { try client.send([byte]) }
                } else {
                    try client.send(wire)
                }
                return [try client.readResponse().status, try client.readResponse().status]
            }
            #expect(statuses == [200, 200])
            let requests = origin.requests
            #expect(origin.errors.isEmpty, "the origin received bytes that are not a request: \(origin.errors)")
            #expect(requests.map(\.target) == ["/raw/first", "/raw/second"], "exactly the two requests, nothing smuggled")
            #expect(requests.first?.body == smuggled, "the body arrives whole, as a body")
            #expect(!(requests.first?.headers ?? []).contains { $0.lowercased().contains("x-trailer") }, "the trailer is dropped")
        }
        try await origin.stop()
    }

    @Test(arguments: [false, true])
    func traceIsRefusedBeforeRoutingAndNothingReachesTheOrigin(chunked: Bool) async throws {
        let origin = try await RawOrigin(group: MultiThreadedEventLoopGroup.singleton)
        try await withTestGateway(routes: Self.routes, upstreams: ["raw": origin.port]) { port in
            let (framingHeader, body) = Self.framed(Self.smuggled, chunked: chunked)
            let response = try await request(port: port, "TRACE /raw/first HTTP/1.1\r\nHost: localhost\r\n\(framingHeader)\r\n\(body)")
            #expect(response.status == 405)
            #expect(response.body.contains("M_UNRECOGNIZED"))
            #expect(response.closed, "the connection closes: the unread body must not be taken for a request")
            let bare = try await request(port: port, "TRACE /raw/first HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(bare.status == 405)
            #expect(origin.requests.isEmpty)
            #expect(origin.errors.isEmpty)
        }
        try await origin.stop()
    }

    @Test func queryBytesNginxForwardsAreForwardedAsSent() async throws {
        let origin = try await RawOrigin(group: MultiThreadedEventLoopGroup.singleton)
        try await withTestGateway(routes: Self.routes, upstreams: ["raw": origin.port]) { port in
            let targets = [
                #"/raw/sync?filter={"room":{"timeline":{"limit":1}}}"#,
                #"/raw/x?a=|\^`&b=%zz"#,
            ]
            for target in targets {
                let response = try await request(port: port, "GET \(target) HTTP/1.1\r\nHost: localhost\r\n\r\n")
                #expect(response.status == 200, "\(target): \(response.body)")
            }
            // NIO's HTTP/1 parser (llhttp) refuses raw non-ASCII bytes in a request line: a clear 400,
            // and nothing forwarded. (Over HTTP/2 they are forwarded: IntegrationTests test_15.)
            let utf8 = try await request(port: port, "GET /raw/x?name=caf\u{e9} HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(utf8.status == 400)
            #expect(origin.requests.map(\.target) == targets, "forwarded byte for byte")
            #expect(origin.errors.isEmpty)
        }
        try await origin.stop()
    }

    @Test func exactlyOneHostAndAnAbsoluteTargetThatAgreesWithIt() async throws {
        let origin = try await RawOrigin(group: MultiThreadedEventLoopGroup.singleton)
        try await withTestGateway(routes: Self.routes, upstreams: ["raw": origin.port]) { port in
            let twoHosts = try await request(port: port, "GET /raw/a HTTP/1.1\r\nHost: good.example\r\nHost: evil.example\r\n\r\n")
            #expect(twoHosts.status == 400)
            let sameTwice = try await request(port: port, "GET /raw/a HTTP/1.1\r\nHost: good.example\r\nHost: good.example\r\n\r\n")
            #expect(sameTwice.status == 400, "RFC 9112 §3.2: more than one Host line is refused")
            let badValue = try await request(port: port, "GET /raw/a HTTP/1.1\r\nHost: good.example/evil\r\n\r\n")
            #expect(badValue.status == 400)
            let mismatch = try await request(port: port, "GET http://evil.example/raw/a HTTP/1.1\r\nHost: good.example\r\n\r\n")
            #expect(mismatch.status == 400)
            let agree = try await request(port: port, "GET http://Good.Example/raw/b HTTP/1.1\r\nHost: good.example\r\n\r\n")
            #expect(agree.status == 200)
            #expect(origin.requests.map(\.target) == ["/raw/b"])
        }
        try await origin.stop()
    }

    @Test func healthTakesNoBody() async throws {
        try await withTestGateway(routes: Self.routes, upstreams: ["raw": 9]) { port in
            let announced = try await request(port: port, "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
            #expect(announced.status == 413)
            let chunked = try await request(port: port, "GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
            #expect(chunked.status == 413)
            let empty = try await request(port: port, "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            #expect(empty.status == 200)
        }
    }

    @Test func pipelinedRequestsThatAreNeverReadAreCapped() async throws {
        try await withTestGateway(routes: Self.routes, upstreams: ["raw": 9]) { port in
            let (answered, closed) = try await blocking {
                let client = try RawHTTPClient(port: port, timeoutSeconds: 5, receiveBufferBytes: 4096)
                // 60k requests (about 2.3 MB) in one burst, before reading a single response.
                let one = Array("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
                var all: [UInt8] = []
                for _ in 0..<60_000 { all += one }
                // Returns once everything is sent, or fails once the server stops reading or closes.
                try? client.send(all)
                var answered = 0
                while let response = try? client.readResponse(), response.status == 200 {
                    answered += 1
                }
                return (answered, try client.isClosedByPeer())
            }
            #expect(answered <= 2 * EdgeFramingTests.maxPipelined, "a burst is cut at the pipelining cap, not served without bound")
            #expect(closed)
            let fresh = try await request(port: port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(fresh.status == 200, "other clients are still served")
        }
    }

    static let maxPipelined = GatewayHandler.maxPipelinedRequests

    @Test func aModestPipelineIsServedInOrder() async throws {
        let origin = try await RawOrigin(group: MultiThreadedEventLoopGroup.singleton)
        try await withTestGateway(routes: Self.routes, upstreams: ["raw": origin.port]) { port in
            let statuses = try await blocking {
                let client = try RawHTTPClient(port: port)
                try client.send((0..<20).map { "GET /raw/\($0) HTTP/1.1\r\nHost: x\r\n\r\n" }.joined())
                return try (0..<20).map { _ in try client.readResponse().status }
            }
            #expect(statuses == Array(repeating: 200, count: 20))
            #expect(origin.requests.map(\.target) == (0..<20).map { "/raw/\($0)" })
        }
        try await origin.stop()
    }
}
