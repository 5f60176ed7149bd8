import NIOHTTP1
import Testing

@testable import GatehouseCore
@testable import GatehouseServer

/// The admission phase on its own: heads in, decisions out, no socket.
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

    private func decide(_ head: HTTPRequestHead, isHTTP2: Bool = false) -> RequestAdmission.Decision {
        RequestAdmission.decide(head, isHTTP2: isHTTP2, limits: Self.limits, routes: Self.routes, scratch: MatchScratch())
    }

    private func head(_ method: HTTPMethod, _ uri: String, _ headers: [(String, String)] = [("Host", "example.org")]) -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders(headers))
    }

    private func head(_ uri: String, _ headers: [(String, String)] = [("Host", "example.org")]) -> HTTPRequestHead {
        head(.GET, uri, headers)
    }

    private func refusal(_ decision: RequestAdmission.Decision) -> RequestAdmission.Refusal? {
        if case .refused(let refusal) = decision { return refusal }
        return nil
    }

    @Test func aPlainGetIsAdmittedOnItsRouteWithoutABody() throws {
        guard case .admitted(let admitted) = decide(head("/_matrix/client/v3/sync?since=1")) else {
            Issue.record("refused")
            return
        }
        #expect(admitted.target.canonicalPath == "/_matrix/client/v3/sync")
        #expect(admitted.target.query == "since=1")
        #expect(admitted.route.rule.action == .proxy("synapse"))
        #expect(admitted.framing == .absent)
        #expect(admitted.expectsBody == false)
        #expect(admitted.bodyLimit == 1000)
    }

    @Test func theBodyLimitIsTheRulesAndALocalServicesOwnAtMost() throws {
        guard case .admitted(let proxied) = decide(head(.POST, "/small/x", [("Host", "h"), ("Content-Length", "10")])) else {
            Issue.record("refused")
            return
        }
        #expect(proxied.bodyLimit == 10)
        #expect(proxied.framing == .contentLength(10))
        #expect(proxied.expectsBody)
        guard case .admitted(let health) = decide(head("/health")) else {
            Issue.record("refused")
            return
        }
        #expect(health.bodyLimit == 0)
    }

    @Test func aDeclaredBodyOverTheLimitIsRefusedWith413AndTheConnectionCloses() throws {
        let refused = try #require(refusal(decide(head(.POST, "/small/x", [("Host", "h"), ("Content-Length", "11")]))))
        #expect(refused.error.status == 413)
        #expect(refused.logError == "body_too_large")
        #expect(refused.closesConnection)
        #expect(refused.bodyLimit == 10)
        #expect(refused.route?.rule.action == .proxy("synapse"))
    }

    @Test func framingThatIsNotExactlyOneLengthOrPlainChunkedIsRefused() throws {
        let cases: [[(String, String)]] = [
            [("Host", "h"), ("Content-Length", "1"), ("Content-Length", "1")],
            [("Host", "h"), ("Content-Length", "+1")],
            [("Host", "h"), ("Content-Length", "")],
            [("Host", "h"), ("Transfer-Encoding", "gzip, chunked")],
        ]
        for headers in cases {
            let refused = try #require(refusal(decide(head(.POST, "/x", headers))))
            #expect(refused.error.status == 400)
            #expect(refused.closesConnection)
            #expect(refused.target == nil)
        }
        guard case .admitted(let chunked) = decide(head(.POST, "/x", [("Host", "h"), ("Transfer-Encoding", "Chunked")])) else {
            Issue.record("chunked refused")
            return
        }
        #expect(chunked.framing == .chunked)
    }

    @Test func http2BodiesAreAssumedOnlyForMethodsThatCarryThem() {
        #expect(RequestAdmission.bodyFraming(of: head(.POST, "/x"), isHTTP2: true) == .chunked)
        #expect(RequestAdmission.bodyFraming(of: head(.GET, "/x"), isHTTP2: true) == .absent)
        #expect(RequestAdmission.bodyFraming(of: head(.GET, "/x"), isHTTP2: false) == .absent)
    }

    @Test func traceAndConnectAreRefusedBeforeRouting() throws {
        for method in [HTTPMethod.TRACE, .CONNECT] {
            let refused = try #require(refusal(decide(head(method, "/x"))))
            #expect(refused.error.status == 405)
            #expect(refused.logError == "method_not_allowed")
            #expect(refused.closesConnection)
            #expect(refused.target == nil)
        }
    }

    @Test func hostProblemsAreRefusedWith400() throws {
        let missing = try #require(refusal(decide(head("/x", []))))
        #expect(missing.logError == "bad_host")
        let twice = try #require(refusal(decide(head("/x", [("Host", "a"), ("Host", "b")]))))
        #expect(twice.logError == "bad_host")
        let mismatch = try #require(refusal(decide(head("http://other.example/x", [("Host", "example.org")]))))
        #expect(mismatch.logError == "bad_host")
        #expect(mismatch.closesConnection)
    }

    @Test func http2ControlCharactersInFieldsAreRefused() throws {
        let refused = try #require(refusal(decide(head("/x", [("Host", "h"), ("X-A", "a\u{01}b")]), isHTTP2: true)))
        #expect(refused.logError == "bad_header")
        #expect(refused.error.status == 400)
    }

    @Test func aTargetOverTheLimitIs414() throws {
        let refused = try #require(refusal(decide(head("/" + String(repeating: "a", count: 256)))))
        #expect(refused.error.status == 414)
        #expect(refused.closesConnection)
    }

    @Test func refusalsAfterTheTargetKeepTheConnectionUnlessABodyFollows() throws {
        let bad = try #require(refusal(decide(head("/a/../../x"))))
        #expect(bad.logError == "bad_target")
        #expect(bad.closesConnection == false)
        let badWithBody = try #require(refusal(decide(head(.POST, "/a/../../x", [("Host", "h"), ("Content-Length", "5")]))))
        #expect(badWithBody.closesConnection)
        #expect(badWithBody.expectsBody)
    }

    @Test func aDenyRuleIsAdmittedForTheRoutePhaseToAnswer() throws {
        guard case .admitted(let admitted) = decide(head("/gone/x")) else {
            Issue.record("refused")
            return
        }
        #expect(admitted.route.rule.action == .deny(403))
    }

    @Test func expectContinueIsRecognisedInAnyCase() {
        #expect(RequestAdmission.expectsContinue(head(.POST, "/x", [("Host", "h"), ("Expect", "100-Continue")])))
        #expect(RequestAdmission.expectsContinue(head(.POST, "/x")) == false)
    }
}
