import NIOCore
import NIOHTTP1
import Testing

@testable import GatehouseServer

/// The upstream response head parser: against llhttp on a corpus and a seeded fuzz run, and its
/// framing, keep-alive and hop-by-hop decisions.
struct HTTP1ResponseHeadParserTests {
    static let maxHeadBytes = 2048

    static func parse(_ bytes: [UInt8], method: HTTP1Method) -> (HTTP1ResponseHeadParser.Outcome, ByteBuffer) {
        let buffer = ByteBuffer(bytes: bytes)
        var parser = HTTP1ResponseHeadParser(maxHeadBytes: maxHeadBytes)
        return (parser.parse(buffer, requestMethod: method), buffer)
    }

    /// Refusals of responses llhttp accepted, and why they are right.
    static let stricterRefusals: Set<HTTP1Refusal> = [
        .invalidStatus,  // 101 (Gatehouse never asks for an upgrade), or a status outside 100-599
        .unsupportedTransferEncoding,  // a coding other than plain chunked: Synapse only chunks
        .invalidContentLength,  // whitespace after the number
        .malformedStartLine,  // a status line without the space before an empty reason
        .headTooLarge,  // the limit counts every byte
        .bareLineBreak,  // a bare LF before the status line
    ]

    /// `nil` when both agree; otherwise why not.
    static func disagreement(_ bytes: [UInt8], method: String) -> String? {
        let http1Method: HTTP1Method = method == "HEAD" ? .head : .get
        let (outcome, buffer) = parse(bytes, method: http1Method)
        switch (LLHTTPOracle.response(bytes, method: HTTPMethod(rawValue: method), maxHeaderBytes: maxHeadBytes), outcome) {
        case (.refused, .refused), (.incomplete, .needMore), (.incomplete, .refused):
            return nil
        case (.refused(let error), .needMore):
            if case .complete = parse(bytes + Array("\r\n\r\n".utf8), method: http1Method).0 { return "llhttp refused (\(error)), accepted once ended" }
            return nil
        case (.refused(let error), .complete):
            return "llhttp refused (\(error)), the parser accepted"
        case (.incomplete, .complete):
            return "llhttp wants more, the parser found a head"
        case (.head, .needMore):
            return "llhttp found a head, the parser wants more"
        case (.head, .refused(let refusal)):
            return stricterRefusals.contains(refusal) ? nil : "refused as \(refusal), which llhttp accepted"
        case (.head(let head), .complete(let mine)):
            if mine.status != Int(head.status.code) { return "status \(mine.status) vs \(head.status.code)" }
            let fields = mine.fields.map { (buffer.getString(at: $0.nameRange.lowerBound, length: $0.nameRange.count)!, buffer.getString(at: $0.valueRange.lowerBound, length: $0.valueRange.count)!) }
            let theirs = head.headers.map { ($0.name, $0.value) }
            if fields.count != theirs.count || zip(fields, theirs).contains(where: { $0.0 != $1.0 || $0.1 != $1.1 }) {
                return "headers \(fields) vs \(theirs)"
            }
            // llhttp decides keep-alive before it knows a HEAD response has no body; the parser knows it.
            // And it lets `keep-alive` beat `close` in HTTP/1.0, where closing is the safe reading.
            let saysClose = head.headers["connection"].contains { $0.lowercased().contains("close") }
            if mine.keepAlive != head.isKeepAlive, !(http1Method == .head && mine.keepAlive), !(saysClose && !mine.keepAlive) {
                return "keep-alive \(mine.keepAlive) vs \(head.isKeepAlive)"
            }
            return nil
        }
    }

    @Test func theCorpusAgreesWithLLHTTP() {
        for (method, bytes) in HTTP1Corpus.responses {
            if let why = Self.disagreement(bytes, method: method) { Issue.record("\(HTTP1DifferentialTests.describe(bytes)): \(why)") }
        }
    }

    @Test func aSeededFuzzRunFindsNoResponseAcceptedThatLLHTTPRefused() {
        var rng = SeededGenerator(seed: HTTP1DifferentialTests.fuzzSeed ^ 0x5245_5350)
        for number in 0..<2000 {
            let (method, seed) = HTTP1Corpus.responses.randomElement(using: &rng)!
            let bytes = HTTP1Mutator.mutate(seed, using: &rng)
            if let why = Self.disagreement(bytes, method: method) { Issue.record("case \(number) \(HTTP1DifferentialTests.describe(bytes)): \(why)") }
        }
    }

    static func head(_ text: String, method: HTTP1Method = .get) throws -> (HTTP1ResponseHead, ByteBuffer) {
        guard case (.complete(let head), let buffer) = parse(Array(text.utf8), method: method) else { throw HTTP1Refusal.malformedStartLine }
        return (head, buffer)
    }

    @Test func framingFollowsRFC9112() throws {
        #expect(try Self.head("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n").0.framing == .contentLength(12))
        #expect(try Self.head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").0.framing == .chunked)
        #expect(try Self.head("HTTP/1.1 200 OK\r\n\r\n").0.framing == .untilClose)
        #expect(try Self.head("HTTP/1.1 200 OK\r\n\r\n").0.keepAlive == false, "a body read until close ends the connection")
        #expect(try Self.head("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", method: .head).0.framing == .none)
        #expect(try Self.head("HTTP/1.1 204 No Content\r\nContent-Length: 12\r\n\r\n").0.framing == .none)
        #expect(try Self.head("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n").0.framing == .none)
        let informational = try Self.head("HTTP/1.1 100 Continue\r\n\r\n").0
        #expect(informational.isInformational)
        #expect(informational.framing == .none)
        #expect(try Self.head("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").0.keepAlive == false)
        #expect(try Self.head("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n").0.keepAlive)
        #expect(try Self.head("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").0.keepAlive == false)
    }

    @Test(arguments: [
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", HTTP1Refusal.duplicateContentLength),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", .contentLengthWithTransferEncoding),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", .unsupportedTransferEncoding),
        ("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", .invalidContentLength),
        ("HTTP/1.1 101 Switching Protocols\r\n\r\n", .invalidStatus),
        ("HTTP/1.1 600 Odd\r\n\r\n", .invalidStatus),
        ("HTTP/1.1 2x0 OK\r\n\r\n", .invalidStatus),
        ("HTTP/2.0 200 OK\r\n\r\n", .unsupportedVersion),
        ("HTTP/1.1 200 O\u{0}K\r\n\r\n", .malformedStartLine),
        ("HTTP/1.1 200OK\r\n\r\n", .malformedStartLine),
        ("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", .obsoleteLineFolding),
        ("HTTP/1.1 200 OK\r\nX\r\n\r\n", .invalidFieldName),
        ("HTTP/1.1 200 OK\nX: a\r\n\r\n", .bareLineBreak),
        ("\r\nHTTP/1.1 200 OK\r\n\r\n", .malformedStartLine),
    ])
    func refusalClass(text: String, expected: HTTP1Refusal) {
        guard case .refused(let refusal) = Self.parse(Array(text.utf8), method: .get).0 else {
            Issue.record("\(text.debugDescription) accepted")
            return
        }
        #expect(refusal == expected, "\(text.debugDescription)")
    }

    @Test func headsArrivingInPiecesGiveTheSameHead() throws {
        let text = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: X-Hop\r\nX-Hop: 1\r\nContent-Length: 2\r\n\r\n{}"
        let whole = try Self.head(text).0
        let bytes = Array(text.utf8)
        for split in 1..<whole.headLength {
            var parser = HTTP1ResponseHeadParser(maxHeadBytes: Self.maxHeadBytes)
            var buffer = ByteBuffer(bytes: bytes[..<split])
            guard case .needMore = parser.parse(buffer, requestMethod: .get) else {
                Issue.record("decided after \(split) bytes")
                continue
            }
            buffer.writeBytes(bytes[split...])
            guard case .complete(let head) = parser.parse(buffer, requestMethod: .get) else {
                Issue.record("split at \(split)")
                continue
            }
            #expect(head.fields.map(\.self) == whole.fields.map(\.self))
            #expect(head.headLength == whole.headLength)
        }
    }

    @Test func theRewriterRelaysTheHeadMinusHopByHopAsOneBuffer() throws {
        let (head, source) = try Self.head(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n"
                + "Strict-Transport-Security: max-age=1\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=b\r\n\r\n")
        var tls = ByteBuffer()
        ResponseHeadRewriter.write(head, from: source, hsts: "max-age=63072000", chunked: true, close: false, into: &tls)
        #expect(String(buffer: tls) == "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nSet-Cookie: a=b\r\n"
            + "Strict-Transport-Security: max-age=63072000\r\nTransfer-Encoding: chunked\r\n\r\n")
        var plain = ByteBuffer()
        ResponseHeadRewriter.write(head, from: source, hsts: nil, chunked: false, close: true, into: &plain)
        #expect(String(buffer: plain) == "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nStrict-Transport-Security: max-age=1\r\n"
            + "Set-Cookie: a=b\r\nConnection: close\r\n\r\n")
        let (empty, emptySource) = try Self.head("HTTP/1.0 404\r\nContent-Length: 0\r\n\r\n")
        var noReason = ByteBuffer()
        ResponseHeadRewriter.write(empty, from: emptySource, hsts: nil, chunked: false, close: false, into: &noReason)
        #expect(String(buffer: noReason) == "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n")
    }

    /// The same fields go to the client as through `HeaderRewriter.downstreamResponseHead`, in the same order.
    @Test func theRewriterKeepsTheFieldsTheOldPathKept() throws {
        for (method, bytes) in HTTP1Corpus.responses {
            guard case .head(let nioHead) = LLHTTPOracle.response(bytes, method: HTTPMethod(rawValue: method), maxHeaderBytes: Self.maxHeadBytes),
                case (.complete(let head), let source) = Self.parse(bytes, method: method == "HEAD" ? .head : .get)
            else { continue }
            for hsts in ["max-age=2", nil] as [String?] {
                let old = HeaderRewriter.downstreamResponseHead(from: nioHead, hsts: hsts, close: true)
                var output = ByteBuffer()
                ResponseHeadRewriter.write(head, from: source, hsts: hsts, chunked: false, close: true, into: &output)
                let lines = String(buffer: output).split(separator: "\r\n").dropFirst().map(String.init)
                #expect(lines == old.headers.map { "\($0.name): \($0.value)" }, "\(HTTP1DifferentialTests.describe(bytes))")
            }
        }
    }
}
