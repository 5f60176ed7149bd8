#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOHTTP1
import Testing

@testable import GatehouseServer

/// The byte-level parsers against llhttp (NIO's parser until now) plus the checks the gateway made
/// after it, on one corpus: valid heads, every smuggling shape, and a seeded fuzz run of variants.
/// A head the new parser accepts and the old path refused fails; where both accept they must agree
/// on every byte and decision; where only the new parser refuses, the refusal must be one of the
/// documented stricter ones.
struct HTTP1DifferentialTests {
    static let limits = HTTP1RequestHeadParser.Limits(maxHeadBytes: 2048, maxTargetBytes: 512)
    /// A fixed seed and size, so every run checks the same cases; `HTTP1_FUZZ_SEED` and
    /// `HTTP1_FUZZ_CASES` run others (a longer hunt, by hand).
    static let fuzzSeed: UInt64 = environment("HTTP1_FUZZ_SEED").flatMap { UInt64($0) } ?? 0x6761_7465_686F_7573
    static let fuzzCases = environment("HTTP1_FUZZ_CASES").flatMap { Int($0) } ?? 4000

    static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// Refusals of heads llhttp and the gateway accepted, and why they are right.
    static let stricterRefusals: Set<HTTP1Refusal> = [
        .headTooLarge,  // the limit counts every byte of the head, llhttp only names, values and target
        .unsupportedTransferEncoding,  // chunked in HTTP/1.0 (RFC 9112 §6.1)
        .invalidHost,  // an absolute-form authority with user info, or empty, in a request without Host
        .invalidFieldValue,  // DEL in a value
        .malformedStartLine,  // several spaces between the request line's parts, or a CR before it
        .bareLineBreak,  // a bare LF before the request line
    ]

    enum Comparison: Equatable {
        case agree
        case stricter(HTTP1Refusal)
        case mismatch(String)
    }

    static func parse(_ bytes: [UInt8], limits: HTTP1RequestHeadParser.Limits = limits) -> (HTTP1RequestHeadParser.Outcome, ByteBuffer) {
        let buffer = ByteBuffer(bytes: bytes)
        var parser = HTTP1RequestHeadParser(limits: limits)
        return (parser.parse(buffer), buffer)
    }

    static func compare(_ bytes: [UInt8]) -> Comparison {
        let (outcome, buffer) = parse(bytes)
        let reference = LLHTTPOracle.request(bytes, maxHeaderBytes: limits.maxHeadBytes)
        switch (reference, outcome) {
        case (.refused, .refused), (.incomplete, .needMore), (.incomplete, .refused):
            return .agree
        case (.refused(let error), .complete):
            return .mismatch("llhttp refused (\(error)), the parser accepted")
        case (.refused(let error), .needMore):
            // llhttp may refuse on a prefix the strict parser has not judged yet: it must refuse once the head ends.
            let (completed, _) = parse(bytes + Array("\r\n\r\n".utf8))
            if case .complete = completed { return .mismatch("llhttp refused (\(error)); the parser accepts the head once ended") }
            return .agree
        case (.incomplete, .complete):
            return .mismatch("llhttp wants more bytes, the parser found a complete head")
        case (.head, .needMore):
            return .mismatch("llhttp found a head, the parser wants more")
        case (.head(let head), .refused(let refusal)):
            switch LLHTTPOracle.gatewayDecision(head, maxTargetBytes: limits.maxTargetBytes) {
            case .refused: return .agree
            case .accepted: return .stricter(refusal)
            }
        case (.head(let head), .complete(let mine)):
            switch LLHTTPOracle.gatewayDecision(head, maxTargetBytes: limits.maxTargetBytes) {
            case .refused(let status): return .mismatch("the gateway refused with \(status), the parser accepted")
            case .accepted(let framing): return agreement(head, framing, mine, buffer)
            }
        }
    }

    static func agreement(_ head: HTTPRequestHead, _ framing: HTTP1BodyFraming, _ mine: HTTP1RequestHead, _ buffer: ByteBuffer) -> Comparison {
        func text(_ range: Range<Int>) -> String { mine.string(range, in: buffer) }
        // NIO names llhttp's M-SEARCH "MSEARCH" (and forwarded it so); the parser keeps the client's bytes.
        let nioMethod = head.method.rawValue == "MSEARCH" ? "M-SEARCH" : head.method.rawValue
        if mine.methodString(in: buffer) != nioMethod { return .mismatch("method \(mine.methodString(in: buffer)) vs \(head.method.rawValue)") }
        if text(mine.targetRange) != head.uri { return .mismatch("target \(text(mine.targetRange)) vs \(head.uri)") }
        let version: HTTPVersion = mine.version == .http1_1 ? .http1_1 : .http1_0
        if version != head.version { return .mismatch("version") }
        let fields = mine.fields.map { (text($0.nameRange), text($0.valueRange)) }
        let theirs = head.headers.map { ($0.name, $0.value) }
        if fields.count != theirs.count || zip(fields, theirs).contains(where: { $0.0 != $1.0 || $0.1 != $1.1 }) {
            return .mismatch("headers \(fields) vs \(theirs)")
        }
        if mine.framing != framing { return .mismatch("framing \(mine.framing) vs \(framing)") }
        if mine.keepAlive != head.isKeepAlive {
            // llhttp lets `keep-alive` beat `close` in HTTP/1.0; closing is the safe reading of both.
            let saysClose = head.headers["connection"].contains { $0.lowercased().contains("close") }
            if !(saysClose && !mine.keepAlive) { return .mismatch("keep-alive \(mine.keepAlive) vs \(head.isKeepAlive)") }
        }
        let expects = head.headers["expect"].contains { $0.lowercased() == "100-continue" }
        if mine.expectsContinue != expects { return .mismatch("expect") }
        if mine.hostRange.map(text) != head.headers["host"].first { return .mismatch("host") }
        // The NIO form handed to local responders is llhttp's head.
        let converted = mine.httpRequestHead(in: buffer)
        if converted.uri != head.uri || converted.version != head.version || converted.headers != head.headers
            || (converted.method != head.method && head.method.rawValue != "MSEARCH")
        {
            return .mismatch("NIO form \(converted) vs \(head)")
        }
        return .agree
    }

    static func describe(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self).debugDescription
    }

    @Test func validHeadsAreAcceptedAlikeByBoth() {
        for bytes in HTTP1Corpus.validRequests {
            let comparison = Self.compare(bytes)
            #expect(comparison == .agree, "\(Self.describe(bytes)): \(comparison)")
        }
    }

    @Test func everySmugglingShapeIsRefused() {
        for bytes in HTTP1Corpus.hostileRequests {
            let comparison = Self.compare(bytes)
            if case .mismatch = comparison { Issue.record("\(Self.describe(bytes)): \(comparison)") }
            let (outcome, _) = Self.parse(bytes)
            switch outcome {
            case .refused: break
            case .needMore: Issue.record("\(Self.describe(bytes)): waits for more instead of refusing")
            case .complete: Issue.record("\(Self.describe(bytes)): accepted")
            }
        }
    }

    /// Shapes whose head is acceptable: the body or a later request is where they fail.
    @Test func oddHeadsAreDecidedAsBefore() throws {
        func head(_ text: String) throws -> HTTP1RequestHead {
            guard case .complete(let head) = Self.parse(HTTP1Corpus.bytes(text)).0 else { throw HTTP1Refusal.malformedStartLine }
            #expect(Self.compare(HTTP1Corpus.bytes(text)) == .agree, "\(text.debugDescription)")
            return head
        }
        // A misspelt Transfer-Encoding frames nothing: its "body" is then the next (invalid) request.
        #expect(try head("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer_Encoding: chunked\r\n\r\n0\r\n\r\n").framing == .none)
        // A bad chunk size is the chunked body parser's to refuse.
        #expect(try head("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n").framing == .chunked)
        // Only an exact `100-continue` is answered, as before.
        #expect(try head("GET /a HTTP/1.1\r\nHost: x\r\nExpect: 100-continue, foo\r\n\r\n").expectsContinue == false)
        #expect(try head("GET /a HTTP/1.1\r\nHost: x\r\nExpect: 100-CONTINUE\r\n\r\n").expectsContinue)
        // Empty lines before a request are skipped (RFC 9112 §2.2); only empty lines is no request yet.
        guard case .needMore = Self.parse(HTTP1Corpus.bytes("\r\n\r\n")).0 else { throw HTTP1Refusal.malformedStartLine }
    }

    @Test func aSeededFuzzRunFindsNoHeadAcceptedThatTheOldPathRefused() {
        var rng = SeededGenerator(seed: Self.fuzzSeed)
        let seeds = HTTP1Corpus.validRequests + HTTP1Corpus.hostileRequests
        var stricter: [HTTP1Refusal: Int] = [:]
        var examples: [String] = []
        var accepted = 0
        for number in 0..<Self.fuzzCases {
            let bytes = HTTP1Mutator.mutate(seeds.randomElement(using: &rng)!, using: &rng)
            switch Self.compare(bytes) {
            case .agree:
                if case .complete = Self.parse(bytes).0 { accepted += 1 }
            case .stricter(let refusal):
                if stricter[refusal] == nil { examples.append("\(refusal): \(Self.describe(bytes))") }
                stricter[refusal, default: 0] += 1
                if !Self.stricterRefusals.contains(refusal) {
                    Issue.record("case \(number) \(Self.describe(bytes)): refused as \(refusal), which llhttp and the gateway accepted")
                }
            case .mismatch(let why):
                Issue.record("case \(number) \(Self.describe(bytes)): \(why)")
            }
        }
        print("HTTP/1 fuzz: \(Self.fuzzCases) cases, \(accepted) accepted by both, stricter refusals \(stricter), e.g. \(examples)")
        #expect(accepted > Self.fuzzCases / 20, "the mutations leave enough valid heads to compare decisions")
    }
}
