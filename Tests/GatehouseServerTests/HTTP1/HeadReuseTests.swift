import NIOCore
import Testing

@testable import GatehouseServer

/// Heads are parsed into storage that held the previous head (the readers keep one head per
/// connection): nothing of an earlier request or response may survive into the next one — not a
/// field past the new head's count, not a decision only set when true (issue 9).
struct HeadReuseTests {
    static let limits = HTTP1RequestHeadParser.Limits(maxHeadBytes: 8192, maxTargetBytes: 4096)

    /// Requests that set every decision one way or the other; one has more fields than fit inline.
    static let requests: [String] = [
        "GET /_matrix/client/v3/sync HTTP/1.1\r\nHost: a\r\n\r\n",
        "POST http://a/_matrix/client/v3/login?access_token=x HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer one\r\n"
            + "Authorization: Bearer two\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nExpect: 100-continue\r\n"
            + "Content-Length: 5\r\n\r\n",
        "PUT /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
            + (1...20).map { "X-Filler-\($0): \($0)\r\n" }.joined() + "Authorization: Bearer late\r\n\r\n",
        "GET /b?since=1 HTTP/1.0\r\nConnection: close\r\n\r\n",
        "DELETE /c HTTP/1.1\r\nHost: b:8448\r\nConnection: close\r\n\r\n",
    ]

    static let responses: [String] = [
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 404 Not Found\r\nConnection: close, X-Up\r\nX-Up: 1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n" + (1...20).map { "X-Filler-\($0): \($0)\r\n" }.joined() + "\r\n",
        "HTTP/1.0 204 No Content\r\n\r\n",
        "HTTP/1.1 200 OK\r\nServer: up\r\n\r\n",
    ]

    static func describe(_ head: HTTP1RequestHead) -> String {
        "\(head.method) \(head.methodRange) \(head.targetRange) \(head.targetForm) \(head.originRange) \(String(describing: head.queryRange)) "
            + "\(String(describing: head.authorityRange)) \(head.version) \(Array(head.fields)) \(head.headLength) \(head.framing) "
            + "\(head.keepAlive) \(head.expectsContinue) \(String(describing: head.hostRange)) \(head.authorizationCount) "
            + "\(String(describing: head.lastAuthorizationIndex)) \(head.queryMayCarryAccessToken)"
    }

    static func describe(_ head: HTTP1ResponseHead) -> String {
        "\(head.version) \(head.status) \(head.reasonRange) \(Array(head.fields)) \(head.headLength) \(head.framing) \(head.keepAlive)"
    }

    @Test(arguments: requests.indices, requests.indices)
    func aRequestHeadParsedOverAnotherIsItselfAlone(earlier: Int, later: Int) throws {
        var reused = HTTP1RequestHead()
        var parser = HTTP1RequestHeadParser(limits: Self.limits)
        guard case .complete = parser.parse(ByteBuffer(string: Self.requests[earlier]), into: &reused) else {
            Issue.record("request \(earlier) parses")
            return
        }
        var freshParser = HTTP1RequestHeadParser(limits: Self.limits)
        guard case .complete = parser.parse(ByteBuffer(string: Self.requests[later]), into: &reused),
            case .complete(let fresh) = freshParser.parse(ByteBuffer(string: Self.requests[later]))
        else {
            Issue.record("request \(later) parses")
            return
        }
        #expect(Self.describe(reused) == Self.describe(fresh))
    }

    @Test(arguments: responses.indices, responses.indices)
    func aResponseHeadParsedOverAnotherIsItselfAlone(earlier: Int, later: Int) throws {
        var reused = HTTP1ResponseHead()
        var parser = HTTP1ResponseHeadParser(maxHeadBytes: 8192)
        guard case .complete = parser.parse(ByteBuffer(string: Self.responses[earlier]), requestMethod: .get, into: &reused) else {
            Issue.record("response \(earlier) parses")
            return
        }
        var freshParser = HTTP1ResponseHeadParser(maxHeadBytes: 8192)
        guard case .complete = parser.parse(ByteBuffer(string: Self.responses[later]), requestMethod: .get, into: &reused),
            case .complete(let fresh) = freshParser.parse(ByteBuffer(string: Self.responses[later]), requestMethod: .get)
        else {
            Issue.record("response \(later) parses")
            return
        }
        #expect(Self.describe(reused) == Self.describe(fresh))
    }

    /// What an attacker would try on a kept connection: a request with credentials and a long head,
    /// pipelined with a bare one in the same read. What goes upstream for the second carries nothing
    /// of the first.
    @Test func aPipelinedRequestSendsNothingOfTheOneBeforeIt() {
        var reader = HTTP1RequestReader(limits: Self.limits)
        reader.append(ByteBuffer(string: Self.requests[2].replacingOccurrences(of: "Transfer-Encoding: chunked\r\n", with: "")
            + "GET /second HTTP/1.1\r\nHost: a\r\n\r\n"))
        var upstream: [String] = []
        while let part = reader.next() {
            guard case .head(let bytes) = part else { continue }
            let head = reader.head
            var output = ByteBufferAllocator().buffer(capacity: UpstreamRequestHeadWriter.capacity(for: head, peerAddress: "192.0.2.1"))
            _ = UpstreamRequestHeadWriter.write(
                head, from: bytes, peerAddress: "192.0.2.1", scheme: "https", framing: head.upstreamFraming, into: &output)
            upstream.append(String(buffer: output))
        }
        #expect(upstream.count == 2)
        #expect(upstream.first?.contains("Authorization: Bearer late") == true)
        let second = upstream.last ?? ""
        #expect(second.hasPrefix("GET /second HTTP/1.1\r\n"))
        #expect(!second.contains("Authorization") && !second.contains("X-Filler"), "\(second)")
        #expect(reader.head.authorizationCount == 0 && reader.head.lastAuthorizationIndex == nil)
    }
}
