import NIOCore
import Testing

@testable import GatehouseCore
@testable import GatehouseServer

/// The admission phase on its own: parsed heads in, decisions out, no socket. What the parser refuses
/// on the head alone (framing, `TRACE`/`CONNECT`, the host, control bytes) never reaches admission and
/// is tested with the parsers (`HTTP1RequestHeadParserTests`, `HTTP2RequestHeadTests`).
struct RequestAdmissionTests {
    static let routes: RouteTable = {
        let text = """
            *    ^/_matrix/client/v3/login$      local matrix-compat
            GET  ^/health$                       local health
            *    ^/small/                        proxy synapse  max_body=10
            *    ^/gone/                         deny 403
            *    ^/                              proxy synapse
            """
        // The table is built from fixed text: a failure here is a bug in the test itself.
        return try! RouteTable(rules: RouteFileParser.parse(text, file: "test.routes"), upstreams: ["synapse"])
    }()
    static let limits = LimitsConfiguration(maxRequestTargetBytes: 256, maxHeaderBytes: 8192, maxBodyBytes: 1000)

    /// The head of `text` as the parser takes it, then admission's decision on it.
    private func decide(_ text: String) throws -> RequestAdmission.Decision {
        let bytes = ByteBuffer(string: text)
        var parser = HTTP1RequestHeadParser(limits: HTTP1RequestHeadParser.Limits(Self.limits))
        guard case .complete(let head) = parser.parse(bytes) else {
            throw ParseFailure(text: text)
        }
        return RequestAdmission.decide(head, in: bytes, limits: Self.limits, routes: Self.routes, scratch: MatchScratch())
    }

    struct ParseFailure: Error {
        var text: String
    }

    private func head(_ method: String, _ target: String, _ fields: String = "Host: example.org\r\n") -> String {
        "\(method) \(target) HTTP/1.1\r\n\(fields)\r\n"
    }

    private func head(_ target: String) -> String {
        head("GET", target)
    }

    private func refusal(_ decision: RequestAdmission.Decision) -> RequestAdmission.Refusal? {
        if case .refused(let refusal) = decision { return refusal }
        return nil
    }

    @Test func aPlainGetIsAdmittedOnItsRouteWithoutABody() throws {
        guard case .admitted(let admitted) = try decide(head("/_matrix/client/v3/sync?since=1")) else {
            Issue.record("refused")
            return
        }
        #expect(admitted.target.canonicalPath == "/_matrix/client/v3/sync")
        #expect(admitted.target.query == "since=1")
        #expect(admitted.route.rule.action == .proxy("synapse"))
        #expect(admitted.expectsBody == false)
        #expect(admitted.bodyLimit == 1000)
    }

    @Test func theBodyLimitIsTheRulesAndALocalServicesOwnAtMost() throws {
        guard case .admitted(let proxied) = try decide(head("POST", "/small/x", "Host: h\r\nContent-Length: 10\r\n")) else {
            Issue.record("refused")
            return
        }
        #expect(proxied.bodyLimit == 10)
        #expect(proxied.expectsBody)
        guard case .admitted(let health) = try decide(head("/health")) else {
            Issue.record("refused")
            return
        }
        #expect(health.bodyLimit == 0)
    }

    @Test func aDeclaredBodyOverTheLimitIsRefusedWith413AndTheConnectionCloses() throws {
        let refused = try #require(refusal(try decide(head("POST", "/small/x", "Host: h\r\nContent-Length: 11\r\n"))))
        #expect(refused.error.status == 413)
        #expect(refused.logError == "body_too_large")
        #expect(refused.closesConnection)
        #expect(refused.bodyLimit == 10)
        #expect(refused.route?.rule.action == .proxy("synapse"))
    }

    @Test func refusalsAfterTheTargetKeepTheConnectionUnlessABodyFollows() throws {
        let bad = try #require(refusal(try decide(head("/a/../../x"))))
        #expect(bad.logError == "bad_target")
        #expect(bad.closesConnection == false)
        let badWithBody = try #require(refusal(try decide(head("POST", "/a/../../x", "Host: h\r\nContent-Length: 5\r\n"))))
        #expect(badWithBody.closesConnection)
        #expect(badWithBody.expectsBody)
    }

    @Test func aDenyRuleIsAdmittedForTheRoutePhaseToAnswer() throws {
        guard case .admitted(let admitted) = try decide(head("/gone/x")) else {
            Issue.record("refused")
            return
        }
        #expect(admitted.route.rule.action == .deny(403))
    }

}
