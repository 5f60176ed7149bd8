import GatehouseCore
import GatehouseTesting
import NIOPosix
import Testing

@testable import GatehouseServer

/// A route pattern that cannot be evaluated (a PCRE2 limit) refuses the request, end to end in-process.
@Suite(.serialized)
struct RouteMatchErrorTests {
    /// A deny rule whose pattern backtracks catastrophically on a crafted path, before a rule that
    /// proxies everything: the crafted path must be refused (500), not handed to the proxy rule.
    @Test func routePatternErrorIsRefusedNotPassedToLaterRules() async throws {
        let origin = try await FakeOrigin(group: MultiThreadedEventLoopGroup.singleton)
        let routes = """
            *  ^/echo/x/(a+)+$  deny 403
            *  ^/               proxy origin
            """
        try await withTestGateway(routes: routes, upstreams: ["origin": origin.port]) { port in
            let crafted = "/echo/x/" + String(repeating: "a", count: 40) + "b"
            let response = try await request(port: port, "GET \(crafted) HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(response.status == 500)
            #expect(response.body == #"{"errcode":"M_UNKNOWN","error":"Internal error"}"#)
            #expect(origin.requests.isEmpty, "the later proxy rule must not get the request")

            #expect(try await request(port: port, "GET /echo/x/aaaa HTTP/1.1\r\nHost: x\r\n\r\n").status == 403)
            #expect(try await request(port: port, "GET /echo/y HTTP/1.1\r\nHost: x\r\n\r\n").status == 200)
            #expect(origin.requests.map(\.uri) == ["/echo/y"])
        }
        try await origin.stop()
    }
}
