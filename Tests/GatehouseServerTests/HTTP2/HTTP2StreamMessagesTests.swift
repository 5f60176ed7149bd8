import NIOCore
import NIOHPACK
import NIOHTTP1
import Testing

@testable import GatehouseServer

/// An HTTP/2 stream's header blocks become the gateway's request and response forms without a codec
/// handler per stream (issue 9), with `:authority` as the one authority.
struct HTTP2StreamMessagesTests {
    static func block(_ method: String, authority: String = "example.org", _ extra: [(String, String)] = []) -> HPACKHeaders {
        HPACKHeaders([(":method", method), (":scheme", "https"), (":path", "/_matrix/client/v3/sync?x=1"), (":authority", authority)] + extra)
    }

    @Test func theAuthorityBecomesTheOneHost() throws {
        let head = try HTTP2StreamMessages.requestHead(Self.block("GET", [("accept", "*/*")]), endStream: true)
        #expect(head.method == .GET)
        #expect(head.uri == "/_matrix/client/v3/sync?x=1")
        #expect(head.headers["host"] == ["example.org"])
        #expect(head.headers["accept"] == ["*/*"])
        #expect(!head.headers.contains(name: ":path"))
    }

    @Test func aHostRepeatingTheAuthorityIsDroppedAndADifferentOneKeptForAdmissionToRefuse() throws {
        let same = try HTTP2StreamMessages.requestHead(Self.block("GET", [("host", "EXAMPLE.org")]), endStream: true)
        #expect(same.headers["host"] == ["example.org"])
        let other = try HTTP2StreamMessages.requestHead(Self.block("GET", [("host", "evil.example")]), endStream: true)
        #expect(other.headers["host"].sorted() == ["evil.example", "example.org"])
        #expect(RequestAuthority.problem(in: other, isHTTP2: true) != nil)
    }

    @Test func aBodyMethodWithoutALengthIsFramedAsNIOsCodecDidIt() throws {
        let ended = try HTTP2StreamMessages.requestHead(Self.block("POST"), endStream: true)
        #expect(ended.headers["content-length"] == ["0"])
        let streaming = try HTTP2StreamMessages.requestHead(Self.block("PUT"), endStream: false)
        #expect(streaming.headers["transfer-encoding"] == ["chunked"])
        let sized = try HTTP2StreamMessages.requestHead(Self.block("POST", [("content-length", "5")]), endStream: false)
        #expect(sized.headers["content-length"] == ["5"])
        #expect(!sized.headers.contains(name: "transfer-encoding"))
        let get = try HTTP2StreamMessages.requestHead(Self.block("GET"), endStream: false)
        #expect(!get.headers.contains(name: "transfer-encoding") && !get.headers.contains(name: "content-length"))
    }

    @Test func aMissingOrRepeatedPseudoHeaderIsRefused() {
        #expect(throws: HTTP2StreamMessages.MalformedRequest.self) {
            try HTTP2StreamMessages.requestHead(HPACKHeaders([(":method", "GET"), (":scheme", "https"), (":path", "/")]), endStream: true)
        }
        #expect(throws: HTTP2StreamMessages.MalformedRequest.self) {
            try HTTP2StreamMessages.requestHead(Self.block("GET", [(":path", "/other")]), endStream: true)
        }
    }

    @Test func gatehousesOwnResponseHeadersAreLowerCasedWithoutConnectionFields() {
        let block = HTTP2StreamMessages.responseHeaders(
            status: .notFound, headers: ["Content-Type": "application/json", "Connection": "close", "Content-Length": "2"])
        #expect(Array(block.map { $0.name }) == [":status", "content-type", "content-length"])
        #expect(block.first(name: ":status") == "404")
    }

    @Test func aRelayedHeadLosesItsHopByHopFieldsAndGetsGatehousesHSTS() throws {
        let text = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\n"
            + "Keep-Alive: timeout=5\r\nStrict-Transport-Security: max-age=1\r\nContent-Length: 2\r\n\r\n"
        let bytes = ByteBuffer(string: text)
        var parser = HTTP1ResponseHeadParser(maxHeadBytes: 4096)
        guard case .complete(let head) = parser.parse(bytes, requestMethod: .get) else {
            Issue.record("the head parses")
            return
        }
        let block = HTTP2StreamMessages.responseHeaders(head, in: bytes, hsts: "max-age=31536000")
        #expect(Array(block.map { $0.name }) == [":status", "content-type", "content-length", "strict-transport-security"])
        #expect(block.first(name: "strict-transport-security") == "max-age=31536000")
    }
}
