import NIOCore
import NIOHPACK
import NIOHTTP1
import Testing

@testable import GatehouseServer

/// An HTTP/2 stream's request header block becomes the HTTP/1.1 head it stands for, parsed by the
/// HTTP/1.1 parser (issue 9): one path from admission on, `:authority` as the one authority, and no
/// byte HTTP/2 carries that could split or bend an HTTP/1.1 line.
struct HTTP2RequestHeadTests {
    static let limits = HTTP1RequestHeadParser.Limits(maxHeadBytes: 8192, maxTargetBytes: 4096)

    static func block(
        _ method: String, path: String = "/_matrix/client/v3/sync?x=1", authority: String = "example.org", _ extra: [(String, String)] = []
    ) -> HPACKHeaders {
        HPACKHeaders([(":method", method), (":scheme", "https"), (":path", path), (":authority", authority)] + extra)
    }

    /// The parsed head and its bytes, or the refusal.
    enum Parsed {
        case head(HTTP1RequestHead, bytes: ByteBuffer)
        case refused(HTTP1Refusal, method: String)
    }

    static func parse(_ block: HPACKHeaders, endStream: Bool = true) throws -> Parsed {
        var head = HTTP1RequestHead()
        switch try HTTP2RequestHead.parse(block, endStream: endStream, limits: limits, allocator: ByteBufferAllocator(), into: &head) {
        case .head(let bytes): return .head(head, bytes: bytes)
        case .refused(let refusal, let method): return .refused(refusal, method: method)
        }
    }

    static func head(_ block: HPACKHeaders, endStream: Bool = true) throws -> (HTTP1RequestHead, ByteBuffer) {
        switch try parse(block, endStream: endStream) {
        case .head(let head, let bytes): return (head, bytes)
        case .refused(let refusal, _): throw refusal
        }
    }

    static func refusal(_ block: HPACKHeaders, endStream: Bool = true) throws -> HTTP1Refusal? {
        if case .refused(let refusal, _) = try parse(block, endStream: endStream) { return refusal }
        return nil
    }

    static func text(_ bytes: ByteBuffer) -> String { String(buffer: bytes) }

    @Test func theAuthorityBecomesTheOneHostOfAnHTTP11Head() throws {
        let (head, bytes) = try Self.head(Self.block("GET", [("accept", "*/*"), ("authorization", "Bearer t")]))
        #expect(Self.text(bytes) == "GET /_matrix/client/v3/sync?x=1 HTTP/1.1\r\nhost: example.org\r\naccept: */*\r\nauthorization: Bearer t\r\n\r\n")
        #expect(head.method == .get)
        #expect(head.string(head.targetRange, in: bytes) == "/_matrix/client/v3/sync?x=1")
        #expect(head.hostRange.map { head.string($0, in: bytes) } == "example.org")
        #expect(head.framing == .none && head.keepAlive && !head.expectsContinue)
        #expect(head.authorizationCount == 1)
        #expect(head.string(head.queryRange!, in: bytes) == "x=1")
    }

    @Test func aHostRepeatingTheAuthorityIsDroppedAndADifferentOneRefused() throws {
        let (same, bytes) = try Self.head(Self.block("GET", [("host", "EXAMPLE.org")]))
        #expect(same.fields.count == 1)
        #expect(Self.text(bytes).components(separatedBy: "host:").count == 2)
        #expect(try Self.refusal(Self.block("GET", [("host", "evil.example")])) == .invalidHost)
        #expect(try Self.refusal(Self.block("GET", authority: "user@example.org")) == .invalidHost)
    }

    @Test func aBodyOfUnknownLengthIsChunkedForEveryMethodButGETAndHEAD() throws {
        let ended = try Self.head(Self.block("POST"), endStream: true).0
        #expect(ended.framing == .none && ended.upstreamFraming == .contentLength(0))
        let streaming = try Self.head(Self.block("PUT"), endStream: false).0
        #expect(streaming.framing == .chunked)
        // DELETE carries a body in Matrix (user-interactive auth on deleting devices).
        #expect(try Self.head(Self.block("DELETE"), endStream: false).0.framing == .chunked)
        #expect(try Self.head(Self.block("DELETE"), endStream: true).0.upstreamFraming == .none)
        let sized = try Self.head(Self.block("POST", [("content-length", "5")]), endStream: false).0
        #expect(sized.framing == .contentLength(5))
        #expect(try Self.head(Self.block("GET"), endStream: false).0.framing == .none)
        #expect(try Self.head(Self.block("HEAD"), endStream: false).0.framing == .none)
        #expect(try Self.refusal(Self.block("POST", [("content-length", "5"), ("content-length", "5")])) == .duplicateContentLength)
        #expect(try Self.refusal(Self.block("POST", [("content-length", "+5")])) == .invalidContentLength)
    }

    @Test func expectContinueIsReadAsOnHTTP11() throws {
        #expect(try Self.head(Self.block("PUT", [("expect", "100-continue")]), endStream: false).0.expectsContinue)
    }

    @Test func cookieFieldsAreJoinedIntoOneForTheHTTP11Upstream() throws {
        let (head, bytes) = try Self.head(Self.block("GET", [("cookie", "a=1"), ("accept", "*/*"), ("cookie", "b=2")]))
        #expect(head.fields.count == 3)
        #expect(Self.text(bytes).hasSuffix("accept: */*\r\ncookie: a=1; b=2\r\n\r\n"))
    }

    @Test func bytesThatWouldSplitOrBendAnHTTP11LineAreRefused() throws {
        #expect(try Self.refusal(Self.block("GET", [("x-a", "1\r\ntransfer-encoding: chunked")])) == .invalidFieldValue)
        #expect(try Self.refusal(Self.block("GET", [("x-a", "1\nx-b: 2")])) == .invalidFieldValue)
        #expect(try Self.refusal(Self.block("GET", [("x-a", "nul\u{0}")])) == .invalidFieldValue)
        #expect(try Self.refusal(Self.block("GET", [("x-a:b", "1")])) == .invalidFieldName)
        #expect(try Self.refusal(Self.block("GET", [("x a", "1")])) == .invalidFieldName)
        #expect(try Self.refusal(Self.block("GET", [("", "1")])) == .invalidFieldName)
        #expect(try Self.refusal(Self.block("GET", path: "/a HTTP/1.1\r\nx: y")) == .invalidTarget)
        #expect(try Self.refusal(Self.block("GET", path: "/a b")) == .invalidTarget)
        #expect(try Self.refusal(Self.block("GET", path: "http://evil.example/")) == .targetForm)
        #expect(try Self.refusal(Self.block("GET", path: "*")) == .targetForm)
        #expect(try Self.refusal(Self.block("GET", path: "/a#frag")) == .fragment)
        #expect(try Self.refusal(Self.block("GE T")) == .malformedStartLine)
        #expect(try Self.refusal(Self.block("GET", authority: "example.org\r\nx: y")) == .invalidHost)
        // The same bytes after fields already copied into the head (a cookie held for the end, a
        // length): the head written so far is dropped, not sent.
        let before = [("accept", "*/*"), ("cookie", "a=1"), ("content-length", "0")]
        #expect(try Self.refusal(Self.block("POST", before + [("x-a", "1\r\nx-injected: yes")])) == .invalidFieldValue)
        #expect(try Self.refusal(Self.block("POST", before + [("x-a b", "1")])) == .invalidFieldName)
        #expect(throws: HTTP2RequestHead.Malformed.self) { try Self.parse(Self.block("POST", before + [(":path", "/other")])) }
        #expect(throws: HTTP2RequestHead.Malformed.self) { try Self.parse(Self.block("POST", before + [("X-Upper", "1")])) }
        #expect(throws: HTTP2RequestHead.Malformed.self) { try Self.parse(Self.block("POST", before + [("connection", "close")])) }
    }

    @Test func rawUTF8InThePathIsKeptAsSent() throws {
        let (head, bytes) = try Self.head(Self.block("GET", path: "/raw/x?name=caf\u{e9}"))
        #expect(head.string(head.originRange, in: bytes) == "/raw/x?name=caf\u{e9}")
        // Never on an HTTP/1.1 connection's own request line.
        var parser = HTTP1RequestHeadParser(limits: Self.limits)
        guard case .refused(.invalidTarget) = parser.parse(ByteBuffer(string: "GET /caf\u{e9} HTTP/1.1\r\nHost: a\r\n\r\n")) else {
            Issue.record("raw UTF-8 on an HTTP/1.1 request line is refused")
            return
        }
    }

    @Test func methodsAndLimitsAreHTTP11s() throws {
        #expect(try Self.refusal(Self.block("TRACE")) == .methodNotAllowed)
        #expect(try Self.refusal(Self.block("BREW")) == .unknownMethod)
        #expect(try Self.refusal(Self.block("GET", path: "/" + String(repeating: "a", count: 5000))) == .targetTooLong)
        #expect(try Self.refusal(Self.block("GET", [("x-big", String(repeating: "b", count: 9000))])) == .headTooLarge)
    }

    @Test func aBlockThatIsNotARequestIsMalformed() {
        #expect(throws: HTTP2RequestHead.Malformed.self) {
            try Self.parse(HPACKHeaders([(":method", "GET"), (":scheme", "https"), (":path", "/")]))
        }
        #expect(throws: HTTP2RequestHead.Malformed.self) { try Self.parse(Self.block("GET", [(":path", "/other")])) }
        #expect(throws: HTTP2RequestHead.Malformed.self) { try Self.parse(Self.block("GET", [(":protocol", "websocket")])) }
        for field in ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"] {
            #expect(throws: HTTP2RequestHead.Malformed.self) { try Self.parse(Self.block("POST", [(field, "chunked")])) }
        }
        #expect(throws: HTTP2RequestHead.Malformed.self) { try Self.parse(Self.block("GET", [("te", "gzip")])) }
        #expect(throws: HTTP2RequestHead.Malformed.self) { try Self.parse(Self.block("GET", [("Accept", "*/*")])) }
        #expect(throws: Never.self) { try Self.parse(Self.block("GET", [("te", "trailers")])) }
    }

    @Test func theUpstreamGetsTheHeadItsHTTP11TwinWouldGet() throws {
        let (head, bytes) = try Self.head(
            Self.block("PUT", path: "/_matrix/client/v3/rooms/!r:x/send/m.room.message/1", [("content-type", "application/json"), ("te", "trailers")]),
            endStream: false)
        var output = ByteBuffer()
        UpstreamRequestHeadWriter.write(head, from: bytes, peerAddress: "192.0.2.1", scheme: "https", framing: head.upstreamFraming, into: &output)
        #expect(Self.text(output) == "PUT /_matrix/client/v3/rooms/!r:x/send/m.room.message/1 HTTP/1.1\r\nhost: example.org\r\n"
            + "content-type: application/json\r\nX-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: https\r\nTransfer-Encoding: chunked\r\n\r\n")
    }
}
