import NIOCore
import NIOHTTP1
import Testing

@testable import GatehouseServer

/// The upstream request writer sends exactly the framing it is given, for every method (issue 7,
/// item 1), and refuses anything that would not reach the upstream as exactly one request.
struct UpstreamRequestWriterTests {
    /// Runs `parts` through a writer, as ``UpstreamHandler`` does: the bytes handed out before the
    /// first refusal, and that refusal.
    static func write(_ parts: [HTTPClientRequestPart]) -> (bytes: String, error: UpstreamEncodingError?) {
        var writer = UpstreamRequestWriter()
        let allocator = ByteBufferAllocator()
        var output = ByteBuffer()
        do throws(UpstreamEncodingError) {
            for part in parts {
                switch part {
                case .head(let head):
                    var bytes = try writer.head(head, allocator: allocator)
                    output.writeBuffer(&bytes)
                case .body(.byteBuffer(let body)):
                    try writer.body(body, allocator: allocator) { piece in
                        var piece = piece
                        output.writeBuffer(&piece)
                    }
                case .body(.fileRegion):
                    Issue.record("no file regions here")
                case .end:
                    if var bytes = try writer.end(allocator: allocator) { output.writeBuffer(&bytes) }
                }
            }
        } catch {
            return (String(buffer: output), error)
        }
        return (String(buffer: output), nil)
    }

    static func encode(_ parts: [HTTPClientRequestPart]) throws -> (bytes: String, error: UpstreamEncodingError?) {
        let result = write(parts)
        #expect(result.error == nil)
        return result
    }

    static func head(_ method: HTTPMethod, uri: String = "/x", _ headers: [(String, String)]) -> HTTPClientRequestPart {
        .head(HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders(headers)))
    }

    @Test(arguments: [HTTPMethod.TRACE, .GET, .HEAD, .DELETE, .OPTIONS, .RAW(value: "PROPFIND")])
    func aContentLengthBodyIsSentAsDecidedForAnyMethod(method: HTTPMethod) throws {
        let (bytes, _) = try Self.encode([
            Self.head(method, [("Host", "h"), ("Content-Length", "5")]), .body(.byteBuffer(ByteBuffer(string: "hello"))), .end(nil),
        ])
        #expect(bytes == "\(method.rawValue) /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello")
    }

    @Test func aChunkedBodyIsChunkEncodedAndTrailersAreNotForwarded() throws {
        let (bytes, _) = try Self.encode([
            Self.head(.GET, [("Host", "h"), ("Transfer-Encoding", "chunked")]),
            .body(.byteBuffer(ByteBuffer(string: "hello"))), .body(.byteBuffer(ByteBuffer())),
            .body(.byteBuffer(ByteBuffer(string: String(repeating: "a", count: 20)))), .end(HTTPHeaders([("X-Trailer", "t")])),
        ])
        #expect(bytes == "GET /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n14\r\n\(String(repeating: "a", count: 20))\r\n0\r\n\r\n")
    }

    @Test func framingHeadersAreRecognisedInAnyLetterCase() throws {
        let (length, _) = try Self.encode([
            Self.head(.POST, [("CONTENT-length", "5")]), .body(.byteBuffer(ByteBuffer(string: "hello"))), .end(nil),
        ])
        #expect(length == "POST /x HTTP/1.1\r\nCONTENT-length: 5\r\n\r\nhello")
        let (chunked, _) = try Self.encode([
            Self.head(.POST, [("Transfer-ENCODING", "chunked")]), .body(.byteBuffer(ByteBuffer(string: "hello"))), .end(nil),
        ])
        #expect(chunked == "POST /x HTTP/1.1\r\nTransfer-ENCODING: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    }

    /// The loops the encoder runs over whole fields must classify every byte as the byte rules do.
    @Test func fieldLoopsAgreeWithTheByteRules() {
        for value in 0...255 {
            let byte = UInt8(value)
            withUnsafeBytes(of: byte) { bytes in
                #expect(HTTPFieldSyntax.isToken(bytes) == HTTPFieldSyntax.isTokenByte(byte), "token \(byte)")
                #expect(HTTPFieldSyntax.isTarget(bytes) == HTTPFieldSyntax.isTargetByte(byte), "target \(byte)")
                #expect(HTTPFieldSyntax.isFieldValue(bytes) == HTTPFieldSyntax.isFieldValueByte(byte), "value \(byte)")
            }
        }
        #expect(!HTTPFieldSyntax.isToken(UnsafeRawBufferPointer(start: nil, count: 0)), "a token is never empty")
    }

    @Test func targetBytesNginxForwardsAreWrittenAsGiven() throws {
        let target = #"/sync?filter={"a":"|\^`"}&n=caf"# + "\u{e9}"
        let (bytes, _) = try Self.encode([Self.head(.GET, uri: target, [("Host", "h")]), .end(nil)])
        #expect(bytes == "GET \(target) HTTP/1.1\r\nHost: h\r\n\r\n")
    }

    @Test(arguments: [
        [Self.head(.GET, [("Host", "h")]), .body(.byteBuffer(ByteBuffer(string: "x"))), .end(nil)],
        [Self.head(.POST, [("Content-Length", "2")]), .body(.byteBuffer(ByteBuffer(string: "abc"))), .end(nil)],
        [Self.head(.POST, [("Content-Length", "4")]), .body(.byteBuffer(ByteBuffer(string: "xyz"))), .end(nil)],
        [Self.head(.POST, [("Content-Length", "1"), ("Transfer-Encoding", "chunked")]), .end(nil)],
        [Self.head(.GET, uri: "/a b", [("Host", "h")]), .end(nil)],
        [Self.head(.GET, uri: "/a\r\nX: y", [("Host", "h")]), .end(nil)],
        [Self.head(.GET, [("X-Bad", "a\r\nInjected: 1")]), .end(nil)],
        [Self.head(.GET, [("X-Bad", "a\u{7F}")]), .end(nil)],
        [Self.head(.GET, [("X Bad", "1")]), .end(nil)],
        [Self.head(.GET, [("X-B\u{e9}d", "1")]), .end(nil)],
        [Self.head(.GET, [("", "1")]), .end(nil)],
        [Self.head(.RAW(value: ""), [("Host", "h")]), .end(nil)],
        [Self.head(.RAW(value: "GET /x HTTP/1.1\r\nInjected:"), [("Host", "h")]), .end(nil)],
        [Self.head(.GET, uri: "", [("Host", "h")]), .end(nil)],
        [Self.head(.POST, [("CONTENT-LENGTH", "1"), ("transfer-ENCODING", "chunked")]), .end(nil)],
        [Self.head(.POST, [("Content-Length", "+1")]), .end(nil)],
        [Self.head(.POST, [("Transfer-Encoding", "gzip")]), .end(nil)],
    ] as [[HTTPClientRequestPart]])
    func anythingThatWouldNotBeExactlyOneRequestIsRefused(parts: [HTTPClientRequestPart]) throws {
        let (leaked, error) = Self.write(parts)
        #expect(error != nil, "some part was refused")
        #expect(!leaked.contains("Injected") && !leaked.contains("abc"), "no byte of the part that broke the framing left")
    }
}
