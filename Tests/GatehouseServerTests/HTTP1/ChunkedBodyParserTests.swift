import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import GatehouseServer

/// The chunked body parser against llhttp (as NIO's request decoder reads a chunked body), and its
/// re-chunking.
struct ChunkedBodyParserTests {
    static let head = Array("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)

    enum Verdict: Equatable {
        case body([UInt8])
        case incomplete
        case refused
    }

    /// llhttp's reading of `body` after a chunked request head.
    static func llhttp(_ body: [UInt8]) -> Verdict {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder()))
        defer { _ = try? channel.finish() }
        var failed = false
        do { try channel.writeInbound(ByteBuffer(bytes: head + body)) } catch { failed = true }
        var data: [UInt8] = []
        while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
            switch part {
            case .head: break
            case .body(var buffer): data += buffer.readBytes(length: buffer.readableBytes)!
            case .end: return .body(data)
            }
        }
        return failed ? .refused : .incomplete
    }

    /// The parser's reading of `body`, fed in pieces of `step` bytes.
    static func mine(_ body: [UInt8], step: Int = Int.max) -> Verdict {
        var parser = ChunkedBodyParser()
        var buffer = ByteBuffer()
        var data: [UInt8] = []
        var offset = 0
        repeat {
            let end = min(body.count, offset + step)
            buffer.writeBytes(body[offset..<end])
            offset = end
            do {
                while let event = try parser.next(&buffer) {
                    switch event {
                    case .data(var slice): data += slice.readBytes(length: slice.readableBytes)!
                    case .end: return .body(data)
                    }
                }
            } catch {
                return .refused
            }
        } while offset < body.count
        return .incomplete
    }

    static let corpus: [[UInt8]] = [
        "5\r\nhello\r\n0\r\n\r\n",
        "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        "A\r\n0123456789\r\n0\r\n\r\n",
        "a\r\n0123456789\r\n0000\r\n\r\n",
        "005\r\nhello\r\n0\r\n\r\n",
        "5;name=value\r\nhello\r\n0;last\r\n\r\n",
        "5;a=\"quoted ;value\"\r\nhello\r\n0\r\n\r\n",
        "5\r\nhello\r\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\n",
        "0\r\n\r\n",
        "5\r\nhel",
        "5 \r\nhello\r\n0\r\n\r\n",
        "5\t\r\nhello\r\n0\r\n\r\n",
        " 5\r\nhello\r\n0\r\n\r\n",
        "5\nhello\r\n0\r\n\r\n",
        "5\r\nhelloX\r\n0\r\n\r\n",
        "5\r\nhello\n0\r\n\r\n",
        "zz\r\nhello\r\n0\r\n\r\n",
        "-5\r\nhello\r\n0\r\n\r\n",
        "0x5\r\nhello\r\n0\r\n\r\n",
        "ffffffffffffffffff\r\nx\r\n0\r\n\r\n",
        "5;\r\nhello\r\n0\r\n\r\n",
        "5;=x\r\nhello\r\n0\r\n\r\n",
        "5;a=\r\nhello\r\n0\r\n\r\n",
        "5;a=\"open\r\nhello\r\n0\r\n\r\n",
        "5\r\nhello\r\n0\r\nBad Trailer: 1\r\n\r\n",
        "5\r\nhello\r\n0\r\nTransfer-Encoding: identity\r\n\r\n",
        "5\r\nhello\r\n0\r\nContent-Length: 5\r\n\r\n",
        "5\r\nhello\r\n0\r\nAuthorization: Bearer smuggled\r\n\r\n",
        "5\r\nhello\r\n0\r\nX: a\r\n b\r\n\r\n",
        "5\r\nhello\r\n0\r\nX: 1\n\r\n",
        "5\r\nhello\r\n0\r\n\n",
        "\r\n5\r\nhello\r\n0\r\n\r\n",
    ].map { Array($0.utf8) }

    /// A body the parser accepts, llhttp accepts with the same data; where llhttp refuses, so does it.
    static func disagreement(_ body: [UInt8]) -> String? {
        let theirs = llhttp(body)
        let ours = mine(body)
        switch (theirs, ours) {
        case (.refused, .body): return "llhttp refused, the parser accepted"
        case (.incomplete, .body): return "llhttp wants more, the parser ended"
        case (.body(let a), .body(let b)) where a != b: return "data \(a) vs \(b)"
        case (.body, .incomplete): return "llhttp ended, the parser wants more"
        default: return nil
        }
    }

    @Test func theCorpusAgreesWithLLHTTP() {
        for body in Self.corpus {
            if let why = Self.disagreement(body) { Issue.record("\(HTTP1DifferentialTests.describe(body)): \(why)") }
        }
        #expect(Self.mine(Array("5\r\nhello\r\n6\r\n world\r\n0\r\nX: 1\r\n\r\n".utf8)) == .body(Array("hello world".utf8)))
        #expect(Self.mine(Array("5\r\nhello\r\n0\r\nAuthorization: Bearer smuggled\r\n\r\n".utf8)) == .refused)
    }

    @Test func aSeededFuzzRunFindsNoBodyAcceptedThatLLHTTPRefused() {
        var rng = SeededGenerator(seed: HTTP1DifferentialTests.fuzzSeed ^ 0x4348_554E_4B)
        var accepted = 0
        for number in 0..<2000 {
            let body = HTTP1Mutator.mutate(Self.corpus.randomElement(using: &rng)!, using: &rng)
            if let why = Self.disagreement(body) { Issue.record("case \(number) \(HTTP1DifferentialTests.describe(body)): \(why)") }
            if case .body = Self.mine(body) { accepted += 1 }
        }
        #expect(accepted > 50)
    }

    @Test func bodiesArrivingByteByByteReadTheSame() {
        for body in Self.corpus {
            #expect(Self.mine(body, step: 1) == Self.mine(body), "\(HTTP1DifferentialTests.describe(body))")
            #expect(Self.mine(body, step: 3) == Self.mine(body), "\(HTTP1DifferentialTests.describe(body))")
        }
    }

    @Test func bytesAfterTheEndAreLeftForTheNextMessage() throws {
        var parser = ChunkedBodyParser()
        var buffer = ByteBuffer(string: "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n")
        guard case .data = try parser.next(&buffer), case .end = try parser.next(&buffer) else {
            Issue.record("data then end")
            return
        }
        #expect(parser.isComplete)
        #expect(try parser.next(&buffer) == nil)
        #expect(String(buffer: buffer) == "GET / HTTP/1.1\r\n")
    }

    @Test func linesAndTrailersAreBounded() {
        var parser = ChunkedBodyParser(maxLineBytes: 16, maxTrailerBytes: 32)
        var longLine = ByteBuffer(string: "5;" + String(repeating: "a", count: 40))
        #expect(throws: HTTP1Refusal.invalidChunkSize) { try parser.next(&longLine) }
        var trailers = ChunkedBodyParser(maxLineBytes: 16, maxTrailerBytes: 32)
        var big = ByteBuffer(string: "0\r\nX: " + String(repeating: "b", count: 40))
        #expect(throws: HTTP1Refusal.invalidTrailers) { try trailers.next(&big) }
    }

    @Test func reChunkingFramesEachPartAndEndsWithTheLastChunk() {
        var output = ByteBuffer()
        ChunkedBodyWriter.writeChunk(ByteBuffer(string: "hello"), into: &output)
        ChunkedBodyWriter.writeChunk(ByteBuffer(), into: &output)
        ChunkedBodyWriter.writeChunk(ByteBuffer(string: String(repeating: "a", count: 300)), into: &output)
        output.writeStaticString(ChunkedBodyWriter.end)
        #expect(String(buffer: output) == "5\r\nhello\r\n12c\r\n" + String(repeating: "a", count: 300) + "\r\n0\r\n\r\n")
        #expect(Self.llhttp(Array(output.readableBytesView)) == .body(Array(("hello" + String(repeating: "a", count: 300)).utf8)))
    }
}

extension ChunkedBodyParser.Event: Equatable {
    public static func == (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (.data(let a), .data(let b)): a == b
        case (.end, .end): true
        default: false
        }
    }
}
