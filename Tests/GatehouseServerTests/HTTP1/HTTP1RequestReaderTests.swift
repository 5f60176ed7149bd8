import NIOCore
import Testing

@testable import GatehouseServer

/// The client's bytes become requests: heads, unframed bodies and ends, pipelined requests in order,
/// and nothing after a refusal (issue 9).
struct HTTP1RequestReaderTests {
    static let limits = HTTP1RequestHeadParser.Limits(maxHeadBytes: 8192, maxTargetBytes: 4096)

    /// Feeds `pieces` one read at a time, taking every part out after each; the parts as text.
    static func read(_ pieces: [String]) -> [String] {
        var reader = HTTP1RequestReader(limits: limits)
        var parts: [String] = []
        for piece in pieces {
            reader.append(ByteBuffer(string: piece))
            while let part = reader.next() {
                switch part {
                case .head(let bytes):
                    let head = reader.head
                    #expect(bytes.readableBytes == head.headLength)
                    parts.append("head \(head.string(head.targetRange, in: bytes))")
                case .body(let body):
                    if let last = parts.last, last.hasPrefix("body ") {
                        parts[parts.count - 1] = last + String(buffer: body)
                    } else {
                        parts.append("body " + String(buffer: body))
                    }
                case .end:
                    parts.append("end")
                case .refused(let refusal):
                    parts.append("refused \(refusal.shortDescription)")
                }
            }
        }
        return parts
    }

    /// NIOSSL reads every record into the same buffer: once the reader has handed a whole request out
    /// and the head's slice is gone, nothing may hold that buffer, or the next read copies it.
    @Test func aWholeRequestLeavesTheReadBufferToItsOwner() {
        var incoming = ByteBufferAllocator().buffer(capacity: 32 * 1024)
        incoming.writeString("GET /a HTTP/1.1\r\nHost: h\r\n\r\n")
        let before = incoming.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        var reader = HTTP1RequestReader(limits: Self.limits)
        reader.append(incoming)
        guard case .head(var head) = reader.next(), case .end = reader.next() else {
            Issue.record("a head, then its end")
            return
        }
        head = ByteBuffer()
        #expect(!reader.holdsBytes)
        // What NIOSSL does before its next read: reuse the buffer from the start.
        incoming.moveReaderIndex(to: 0)
        incoming.moveWriterIndex(to: 0)
        incoming.writeString("GET /b HTTP/1.1\r\n")
        let after = incoming.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        #expect(before == after, "the buffer was copied: something still held it")
        _ = head
    }

    @Test func aRequestWithoutABodyIsAHeadAndAnEnd() {
        #expect(Self.read(["GET /a HTTP/1.1\r\nHost: h\r\n\r\n"]) == ["head /a", "end"])
    }

    @Test func aBodyIsHandedOutAsItArrivesAndEndsAtItsLength() {
        #expect(Self.read(["POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhel", "lo wo", "rld"]) == ["head /a", "body hello world", "end"])
    }

    @Test func everyByteInItsOwnReadGivesTheSameRequests() {
        let bytes = "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n"
            + "GET /b HTTP/1.1\r\nHost: h\r\n\r\n"
        let whole = Self.read([bytes])
        #expect(whole == ["head /a", "body hello world", "end", "head /b", "end"])
        #expect(Self.read(bytes.map { String($0) }) == whole)
    }

    @Test func pipelinedRequestsFollowOneAnother() {
        let parts = Self.read([
            "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nPOST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nokGET /3 HTTP/1.1\r\nHost: h\r\n\r\n"
        ])
        #expect(parts == ["head /1", "end", "head /2", "body ok", "end", "head /3", "end"])
    }

    @Test func nothingIsReadAfterARefusal() {
        #expect(Self.read(["GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\n\r\n", "GET /3 HTTP/1.1\r\nHost: h\r\n\r\n"])
            == ["head /1", "end", "refused invalid_host"])
        #expect(Self.read(["POST /1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n"])
            == ["head /1", "refused invalid_chunk_size"])
    }

    @Test func aPartialHeadIsHeldUntilItEnds() {
        var reader = HTTP1RequestReader(limits: Self.limits)
        reader.append(ByteBuffer(string: "GET /a HTTP/1.1\r\nHo"))
        #expect(reader.next() == nil)
        #expect(reader.holdsBytes)
        reader.append(ByteBuffer(string: "st: h\r\n\r\n"))
        guard case .head = reader.next() else {
            Issue.record("a head")
            return
        }
        guard case .end = reader.next() else {
            Issue.record("an end")
            return
        }
        #expect(!reader.holdsBytes)
    }
}
