import NIOCore
import NIOHPACK
import NIOHTTP1
import Testing

@testable import GatehouseServer

/// Responses become an HTTP/2 stream's header blocks without a codec handler per stream (issue 9).
struct HTTP2StreamMessagesTests {
    @Test func gatehousesOwnResponseHeadersAreLowerCasedWithoutConnectionFields() {
        let block = HTTP2StreamMessages.responseHeaders(
            status: .notFound, headers: ["Content-Type": "application/json", "Connection": "close", "Content-Length": "2"])
        #expect(Array(block.map { $0.name }) == [":status", "content-type", "content-length"])
        #expect(block.first(name: ":status") == "404")
    }

    @Test func aRelayedHeadLosesItsHopByHopFieldsAndGetsGatehousesHSTS() throws {
        let text = "HTTP/1.1 200 OK\r\nContent-Type: application/json \t\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\n"
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
        #expect(block.first(name: "content-type") == "application/json", "the trailing blanks of a value are dropped")
    }

    /// The fields of three relayed heads through one connection's memo: what it returns is always
    /// what the head says, whether the field at that position changed, stayed, moved or vanished
    /// (and nothing of the previous head is left in the memo's gathering array).
    @Test func theConnectionsMemoNeverChangesWhatAHeadSays() throws {
        let heads = [
            "HTTP/1.1 200 OK\r\nServer: up\r\nDate: Tue, 01 Dec 2026 08:00:00 GMT\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n",
            "HTTP/1.1 200 OK\r\nServer: up\r\nDate: Tue, 01 Dec 2026 08:00:01 GMT\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n",
            "HTTP/1.1 404 Not Found\r\nSERVER: up\r\nContent-Type: application/json\r\nDate: Tue, 01 Dec 2026 08:00:01 GMT\r\n\r\n",
            "HTTP/1.1 200 OK\r\nServer: up\r\nDate: Tue, 01 Dec 2026 08:00:01 GMT\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n",
            // Dropped hop-by-hop fields before the others: the relayed ones keep their places.
            "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nServer: up\r\nTransfer-Encoding: chunked\r\nDate: Tue, 01 Dec 2026 08:00:01 GMT\r\nContent-Type: application/json\r\n\r\n",
            "HTTP/1.1 200 OK\r\nServer: up\r\nConnection: keep-alive\r\nDate: Tue, 01 Dec 2026 08:00:01 GMT\r\nContent-Type: text/plain\r\n\r\n",
        ]
        let memo = HTTP2ResponseFieldMemo()
        for text in heads + heads.reversed() {
            let bytes = ByteBuffer(string: text)
            var parser = HTTP1ResponseHeadParser(maxHeadBytes: 4096)
            guard case .complete(let head) = parser.parse(bytes, requestMethod: .get) else {
                Issue.record("the head parses")
                return
            }
            let remembered = HTTP2StreamMessages.responseHeaders(head, in: bytes, hsts: nil, memo: memo)
            let fresh = HTTP2StreamMessages.responseHeaders(head, in: bytes, hsts: nil)
            #expect(Array(remembered.map { "\($0.name): \($0.value)" }) == Array(fresh.map { "\($0.name): \($0.value)" }), "\(text)")
            #expect(remembered.allSatisfy { $0.indexable == .indexable }, "no cookie here: every field may be indexed")
        }
    }

    /// A cookie never enters HPACK's dynamic table (RFC 7541 §7.1.3), relayed or Gatehouse's own;
    /// every other field may.
    @Test func setCookieIsNeverIndexed() throws {
        let text = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nSET-COOKIE: session=secret; Secure\r\nContent-Length: 2\r\n\r\n"
        let bytes = ByteBuffer(string: text)
        var parser = HTTP1ResponseHeadParser(maxHeadBytes: 4096)
        guard case .complete(let head) = parser.parse(bytes, requestMethod: .get) else {
            Issue.record("the head parses")
            return
        }
        for block in [
            HTTP2StreamMessages.responseHeaders(head, in: bytes, hsts: nil),
            HTTP2StreamMessages.responseHeaders(head, in: bytes, hsts: nil, memo: HTTP2ResponseFieldMemo()),
            HTTP2StreamMessages.responseHeaders(
                status: .ok, headers: ["Content-Type": "text/html", "Set-Cookie": "session=secret; Secure", "Content-Length": "2"]),
        ] {
            let indexing = Dictionary(uniqueKeysWithValues: block.map { ($0.name, $0.indexable) })
            #expect(indexing == [":status": .indexable, "content-type": .indexable, "set-cookie": .neverIndexed, "content-length": .indexable])
            // On the wire, as the client's decoder reads it: the cookie is a never-indexed literal,
            // and the encoder's dynamic table holds the other fields but not the cookie.
            var encoder = HPACKEncoder(allocator: ByteBufferAllocator())
            var wire = ByteBuffer()
            try encoder.encode(headers: block, to: &wire)
            var decoder = HPACKDecoder(allocator: ByteBufferAllocator())
            let decoded = try decoder.decodeHeaders(from: &wire)
            #expect(decoded.first(where: { $0.name == "set-cookie" })?.indexable == .neverIndexed)
            #expect(decoded.first(name: "set-cookie") == "session=secret; Secure")
            let withoutCookie = block.filter { $0.name != "set-cookie" && $0.name != ":status" }
                .reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 32 }
            #expect(encoder.dynamicTableSize == withoutCookie, "the table holds content-type and content-length only")
        }
    }
}
