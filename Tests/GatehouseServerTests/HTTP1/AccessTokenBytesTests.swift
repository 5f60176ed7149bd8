import GatehouseCore
import NIOCore
import NIOHTTP1
import Testing

@testable import GatehouseServer

/// The edge token check's reading on a parsed head's bytes is the reading of the rewritten
/// `HTTPHeaders` head it was made on before, for every head both paths forward.
struct AccessTokenBytesTests {
    static let token = "mct_abcdefghijklmnopqrstuvwxyz0123_0aB1c2"

    /// Heads about tokens: queries and Authorization headers Synapse reads, or could read differently.
    static let cases: [[UInt8]] = {
        let queries = [
            "access_token=T", "access%5Ftoken=T", "%61ccess_token=T", "x=1;access_token=T", "access_token=%54", "access_token==T",
            "access_token=", "access_token", "access+token=T", "Access_token=T", "since=s1&timeout=30000", "q=100%25",
            "access_token=T&access_token=U", "access_token=%zz", "access_token=%C3%A9", "access_token=T&x=%zz",
        ]
        let headers = [
            [], ["Authorization: Bearer \(token)"], ["Authorization:   Bearer \(token)\t"], ["Authorization: bearer \(token)"],
            ["Authorization: Bearer  \(token)"], ["Authorization: Bearer"], ["Authorization: Bearer a b"], ["Authorization: Basic dXNlcg=="],
            ["Authorization: X-Matrix origin=a"], ["Authorization: Bearer a", "Authorization: Bearer b"],
            ["Authorization: Basic a", "Authorization: Basic b"], ["Connection: Authorization", "Authorization: Bearer hidden"],
            ["Authorization: Bearer caf\u{e9}"],
        ]
        var cases: [[UInt8]] = []
        for query in [nil] + queries.map(Optional.some) {
            for lines in headers {
                let target = query.map { "/x?\($0)" } ?? "/x"
                cases.append(Array("GET \(target) HTTP/1.1\r\nHost: x\r\n\(lines.map { "\($0)\r\n" }.joined())\r\n".utf8))
            }
        }
        for (contentType, framing) in [
            ("application/x-www-form-urlencoded", "Content-Length: 5"), ("Multipart/Form-Data; boundary=x", "Transfer-Encoding: chunked"),
            ("=?utf-8?b?YXBwbGljYXRpb24veC13d3ctZm9ybS11cmxlbmNvZGVk?=", "Content-Length: 5"),
            ("application/x-www-form-urlencoded", "Content-Length: 0"), ("application/x-www-form-urlencoded", ""),
            ("application/json", "Content-Length: 5"),
        ] {
            for auth in ["", "Authorization: Bearer t\r\n"] {
                let framingLine = framing.isEmpty ? "" : "\(framing)\r\n"
                cases.append(Array("POST /x HTTP/1.1\r\nHost: x\r\nContent-Type: \(contentType)\r\n\(auth)\(framingLine)\r\n".utf8))
                cases.append(Array("PUT /x HTTP/1.1\r\nHost: x\r\nContent-Type: \(contentType)\r\n\(auth)\(framingLine)\r\n".utf8))
            }
        }
        return cases
    }()

    /// `nil` when both readings agree or the head is not forwarded by both paths.
    static func disagreement(_ bytes: [UInt8]) -> String? {
        let limits = HTTP1DifferentialTests.limits
        guard case .head(let nioHead) = LLHTTPOracle.request(bytes, maxHeaderBytes: limits.maxHeadBytes),
            case .accepted = LLHTTPOracle.gatewayDecision(nioHead, maxTargetBytes: limits.maxTargetBytes),
            case .success(let target) = CanonicalPath.parse(nioHead.uri),
            // Values that are not UTF-8 were replaced with U+FFFD by the old path.
            String(validating: bytes, as: UTF8.self) != nil
        else { return nil }
        let source = ByteBuffer(bytes: bytes)
        var parser = HTTP1RequestHeadParser(limits: limits)
        guard case .complete(let head) = parser.parse(source) else { return nil }
        let framing: HeaderRewriter.BodyFraming =
            switch head.upstreamFraming {
            case .none, .untilClose: .absent
            case .contentLength(let length): .contentLength(length)
            case .chunked: .chunked
            }
        let upstream = HeaderRewriter.upstreamRequestHead(from: nioHead, target: target.forwardTarget, peerAddress: "192.0.2.1", scheme: "https", framing: framing)
        let old = asTheEdgeReadsIt(AccessToken.read(headers: upstream.headers, query: target.query))
        let new = withTokenAsText(AccessToken.read(head, in: source))
        if old != new { return "reading \(new) vs \(old)" }
        let oldBody = AccessToken.bodyCarrier(method: nioHead.method, headers: upstream.headers)
        let newBody = AccessToken.bodyCarrier(head, in: source)
        if oldBody != newBody { return "body carrier: \(newBody) vs \(oldBody)" }
        return nil
    }

    /// The headers reader's answer as the byte-level reader gives it: a token that cannot be one of
    /// Gatehouse's access tokens is ``AccessToken/Reading/foreign`` there.
    static func asTheEdgeReadsIt(_ reading: AccessToken.Reading) -> AccessToken.Reading {
        guard case .token(let token) = reading else { return reading }
        return Array(token.utf8).withUnsafeBytes { TokenFormat.mayBeAccessToken($0) } ? reading : .foreign
    }

    /// A header's token as the byte-level reader gives it (a slice of the head) compared by its text.
    static func withTokenAsText(_ reading: AccessToken.Reading) -> AccessToken.Reading {
        guard case .tokenBytes(let bytes) = reading else { return reading }
        return .token(String(buffer: bytes))
    }

    @Test func everyTokenShapeIsReadAsBefore() {
        var tokens = 0
        var foreign = 0
        for bytes in Self.cases {
            if let why = Self.disagreement(bytes) { Issue.record("\(HTTP1DifferentialTests.describe(bytes)): \(why)") }
            let source = ByteBuffer(bytes: bytes)
            var parser = HTTP1RequestHeadParser(limits: HTTP1DifferentialTests.limits)
            guard case .complete(let head) = parser.parse(source) else { continue }
            switch AccessToken.read(head, in: source) {
            case .token, .tokenBytes: tokens += 1
            case .foreign: foreign += 1
            default: break
            }
        }
        #expect(tokens > 5 && foreign > 20, "Gatehouse's tokens (\(tokens)) and others (\(foreign)) are both read")
    }

    @Test func theFuzzRunsHeadsAreReadAsBefore() {
        var rng = SeededGenerator(seed: HTTP1DifferentialTests.fuzzSeed ^ 0x544F_4B45_4E)
        for number in 0..<1500 {
            let bytes = HTTP1Mutator.mutate((Self.cases + HTTP1Corpus.validRequests).randomElement(using: &rng)!, using: &rng)
            if let why = Self.disagreement(bytes) { Issue.record("case \(number) \(HTTP1DifferentialTests.describe(bytes)): \(why)") }
        }
    }
}
