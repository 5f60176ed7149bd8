import GatehouseCore
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import GatehouseServer

/// The byte-level upstream head is what `HeaderRewriter` + `UpstreamRequestWriter` write, byte
/// for byte, for every request both paths accept: the corpus and the heads of the seeded fuzz run.
struct UpstreamRequestHeadWriterTests {
    /// What the old path sends upstream for a head llhttp parsed.
    static func oldPath(_ head: HTTPRequestHead, framing: HTTP1BodyFraming, peer: String?, scheme: String) throws -> [UInt8]? {
        guard case .success(let target) = CanonicalPath.parse(head.uri) else { return nil }
        let rewriterFraming: HeaderRewriter.BodyFraming =
            switch framing {
            case .none, .untilClose: .absent
            case .contentLength(let length): .contentLength(length)
            case .chunked: .chunked
            }
        let rewritten = HeaderRewriter.upstreamRequest(from: head, target: target.forwardTarget, peerAddress: peer, scheme: scheme, framing: rewriterFraming)
        var writer = UpstreamRequestWriter()
        let buffer = try writer.head(rewritten.head, allocator: ByteBufferAllocator())
        let bytes = Array(buffer.readableBytesView)
        #expect(bytes.count == rewritten.serializedSize)
        return bytes
    }

    static func newPath(_ head: HTTP1RequestHead, _ source: ByteBuffer, peer: String?, scheme: String) -> [UInt8] {
        var output = ByteBuffer()
        let written = UpstreamRequestHeadWriter.write(head, from: source, peerAddress: peer, scheme: scheme, framing: head.upstreamFraming, into: &output)
        #expect(written == output.readableBytes)
        return Array(output.readableBytesView)
    }

    /// Compares both paths on `bytes`; `nil` when either path does not forward it.
    static func compare(_ bytes: [UInt8], peer: String?, scheme: String) throws -> (old: [UInt8], new: [UInt8])? {
        let limits = HTTP1DifferentialTests.limits
        guard case .head(let nioHead) = LLHTTPOracle.request(bytes, maxHeaderBytes: limits.maxHeadBytes),
            case .accepted = LLHTTPOracle.gatewayDecision(nioHead, maxTargetBytes: limits.maxTargetBytes)
        else { return nil }
        // Where the old path was wrong, the new one keeps the client's bytes (tested on its own below):
        // NIO renamed llhttp's M-SEARCH to "MSEARCH", and read values as UTF-8, replacing other bytes
        // (obs-text, such as Latin-1) with U+FFFD.
        guard nioHead.method.rawValue != "MSEARCH", String(validating: bytes, as: UTF8.self) != nil else { return nil }
        let source = ByteBuffer(bytes: bytes)
        var parser = HTTP1RequestHeadParser(limits: limits)
        guard case .complete(let head) = parser.parse(source) else { return nil }
        // The gateway turned a bodiless POST/PUT/PATCH into `Content-Length: 0` before the rewrite.
        guard let old = try oldPath(nioHead, framing: head.upstreamFraming, peer: peer, scheme: scheme) else { return nil }
        return (old, newPath(head, source, peer: peer, scheme: scheme))
    }

    @Test(arguments: [("192.0.2.7", "https"), (nil, "http")] as [(String?, String)])
    func theCorpusIsWrittenByteForByteAsBefore(peer: String?, scheme: String) throws {
        var compared = 0
        for bytes in HTTP1Corpus.validRequests {
            guard let (old, new) = try Self.compare(bytes, peer: peer, scheme: scheme) else { continue }
            compared += 1
            #expect(new == old, "\(HTTP1DifferentialTests.describe(bytes)):\nold \(HTTP1DifferentialTests.describe(old))\nnew \(HTTP1DifferentialTests.describe(new))")
        }
        #expect(compared >= HTTP1Corpus.validRequests.count - 3, "nearly every valid head is proxied by both paths")
    }

    @Test func theFuzzRunsHeadsAreWrittenByteForByteAsBefore() throws {
        var rng = SeededGenerator(seed: HTTP1DifferentialTests.fuzzSeed ^ 0x5752_4954_4552)
        let seeds = HTTP1Corpus.validRequests
        var compared = 0
        for number in 0..<1500 {
            let bytes = HTTP1Mutator.mutate(seeds.randomElement(using: &rng)!, using: &rng)
            guard let (old, new) = try Self.compare(bytes, peer: "2001:db8::1", scheme: "https") else { continue }
            compared += 1
            if new != old {
                Issue.record("case \(number) \(HTTP1DifferentialTests.describe(bytes)):\nold \(HTTP1DifferentialTests.describe(old))\nnew \(HTTP1DifferentialTests.describe(new))")
            }
        }
        #expect(compared > 150)
    }

    @Test func theHeadIsEditedAsTheProxyPhaseSays() throws {
        let text = "PUT http://h/_matrix/a%2Fb?x=%23 HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 6.6.6.6\r\nConnection: X-Hop\r\nX-Hop: 1\r\n"
            + "Expect: 100-continue\r\nTransfer-Encoding: chunked\r\nKeep-Alive: 1\r\nAuthorization: Bearer t\r\n\r\n"
        let source = ByteBuffer(string: text)
        var parser = HTTP1RequestHeadParser(limits: HTTP1DifferentialTests.limits)
        guard case .complete(let head) = parser.parse(source) else {
            Issue.record("parsed")
            return
        }
        let written = String(decoding: Self.newPath(head, source, peer: "192.0.2.1", scheme: "https"), as: UTF8.self)
        #expect(written == "PUT /_matrix/a%2Fb?x=%23 HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer t\r\nX-Forwarded-For: 192.0.2.1\r\n"
            + "X-Forwarded-Proto: https\r\nTransfer-Encoding: chunked\r\n\r\n")
    }

    /// Bytes the old path changed on their way upstream arrive as the client sent them.
    @Test func methodAndObsTextBytesAreKept() throws {
        let bytes = Array("M-SEARCH /x HTTP/1.1\r\nHost: h\r\nX-Latin: caf".utf8) + [0xE9, 0x80, 0xFF] + Array("\r\n\r\n".utf8)
        let source = ByteBuffer(bytes: bytes)
        var parser = HTTP1RequestHeadParser(limits: HTTP1DifferentialTests.limits)
        guard case .complete(let head) = parser.parse(source) else {
            Issue.record("parsed")
            return
        }
        let written = Self.newPath(head, source, peer: nil, scheme: "http")
        #expect(written == Array("M-SEARCH /x HTTP/1.1\r\nHost: h\r\nX-Latin: caf".utf8) + [0xE9, 0x80, 0xFF] + Array("\r\nX-Forwarded-Proto: http\r\n\r\n".utf8))
    }

    @Test(arguments: [0, 7, 10, 255, 123_456_789, Int.max])
    func decimalsAreWrittenWithoutAString(value: Int) {
        var buffer = ByteBuffer()
        UpstreamRequestHeadWriter.writeDecimal(value, into: &buffer)
        #expect(buffer.readString(length: buffer.readableBytes) == String(value))
    }
}
