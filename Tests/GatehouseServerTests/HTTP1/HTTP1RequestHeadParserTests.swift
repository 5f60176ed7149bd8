import NIOCore
import Testing

@testable import GatehouseServer

/// The strict request head parser on its own: every refusal class, heads arriving in pieces, limits
/// exactly at their boundary, and the decisions it takes once.
struct HTTP1RequestHeadParserTests {
    static let limits = HTTP1RequestHeadParser.Limits(maxHeadBytes: 1024, maxTargetBytes: 128)

    static func parse(_ text: String, limits: HTTP1RequestHeadParser.Limits = limits) -> HTTP1RequestHeadParser.Outcome {
        var parser = HTTP1RequestHeadParser(limits: limits)
        return parser.parse(ByteBuffer(string: text))
    }

    static func refusal(_ text: String, limits: HTTP1RequestHeadParser.Limits = limits) -> HTTP1Refusal? {
        if case .refused(let refusal) = parse(text, limits: limits) { return refusal }
        return nil
    }

    static func head(_ text: String) throws -> (HTTP1RequestHead, ByteBuffer) {
        let buffer = ByteBuffer(string: text)
        var parser = HTTP1RequestHeadParser(limits: limits)
        guard case .complete(let head) = parser.parse(buffer) else { throw HTTP1Refusal.malformedStartLine }
        return (head, buffer)
    }

    @Test(arguments: [
        ("GET / HTTP/1.1\nHost: x\n\n", HTTP1Refusal.bareLineBreak),
        ("GET / HTTP/1.1\r\nHost: x\n\r\n", .bareLineBreak),
        ("GET / HTTP/1.1\r\nHost: x\rY: z\r\n\r\n", .bareLineBreak),
        ("GET / HTTP/1.1\rHost: x\r\n\r\n", .bareLineBreak),
        ("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", .malformedStartLine),
        ("GET / HTTP/1.1 \r\nHost: x\r\n\r\n", .malformedStartLine),
        ("GET /\r\nHost: x\r\n\r\n", .malformedStartLine),
        ("G@T / HTTP/1.1\r\nHost: x\r\n\r\n", .malformedStartLine),
        ("get / HTTP/1.1\r\nHost: x\r\n\r\n", .unknownMethod),
        ("BREW / HTTP/1.1\r\nHost: x\r\n\r\n", .unknownMethod),
        ("TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", .methodNotAllowed),
        ("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n", .methodNotAllowed),
        ("GET /caf\u{e9} HTTP/1.1\r\nHost: x\r\n\r\n", .invalidTarget),
        ("GET /\u{7F} HTTP/1.1\r\nHost: x\r\n\r\n", .invalidTarget),
        ("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", .targetForm),
        ("GET x/y HTTP/1.1\r\nHost: x\r\n\r\n", .targetForm),
        ("GET http://x HTTP/1.1\r\nHost: x\r\n\r\n", .targetForm),
        ("GET http://x?a=/b HTTP/1.1\r\nHost: x\r\n\r\n", .targetForm),
        ("GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n", .fragment),
        ("GET / HTTP/1.2\r\nHost: x\r\n\r\n", .unsupportedVersion),
        ("GET / HTTP/2.0\r\nHost: x\r\n\r\n", .unsupportedVersion),
        ("GET / HTTP/1.1x\r\nHost: x\r\n\r\n", .malformedStartLine),
        ("GET / http/1.1\r\nHost: x\r\n\r\n", .malformedStartLine),
        ("GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", .obsoleteLineFolding),
        ("GET / HTTP/1.1\r\n\tHost: x\r\n\r\n", .obsoleteLineFolding),
        ("GET / HTTP/1.1\r\nHost : x\r\n\r\n", .invalidFieldName),
        ("GET / HTTP/1.1\r\nHost: x\r\nNo colon\r\n\r\n", .invalidFieldName),
        ("GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", .invalidFieldName),
        ("GET / HTTP/1.1\r\nHost: x\r\nX\u{e9}: v\r\n\r\n", .invalidFieldName),
        ("GET / HTTP/1.1\r\nHost: x\r\nX: a\u{0}b\r\n\r\n", .invalidFieldValue),
        ("GET / HTTP/1.1\r\nHost: x\r\nX: a\u{7F}\r\n\r\n", .invalidFieldValue),
        ("GET / HTTP/1.1\r\nHost: x\r\nX: \u{1B}[31m\r\n\r\n", .invalidFieldValue),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\ncontent-length: 1\r\n\r\n", .duplicateContentLength),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1 \r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9223372036854775808\r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", .contentLengthWithTransferEncoding),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", .unsupportedTransferEncoding),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", .unsupportedTransferEncoding),
        ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", .unsupportedTransferEncoding),
        ("GET / HTTP/1.1\r\n\r\n", .invalidHost),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", .invalidHost),
        ("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", .invalidHost),
        ("GET / HTTP/1.1\r\nHost: a \r\n\r\n", .invalidHost),
        ("GET http://b/ HTTP/1.1\r\nHost: a\r\n\r\n", .invalidHost),
        ("GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n", .invalidHost),
        ("GET http:/// HTTP/1.0\r\n\r\n", .invalidHost),
    ])
    func refusalClass(head: String, expected: HTTP1Refusal) {
        #expect(Self.refusal(head) == expected, "\(head.debugDescription)")
    }

    @Test func refusalsMapToTheStatusesTheGatewayAnswers() {
        #expect(HTTP1Refusal.headTooLarge.status == 431)
        #expect(HTTP1Refusal.targetTooLong.status == 414)
        #expect(HTTP1Refusal.methodNotAllowed.status == 405)
        #expect(HTTP1Refusal.unknownMethod.status == 501)
        #expect(HTTP1Refusal.unsupportedVersion.status == 505)
        for refusal: HTTP1Refusal in [.bareLineBreak, .obsoleteLineFolding, .duplicateContentLength, .contentLengthWithTransferEncoding, .invalidHost] {
            #expect(refusal.status == 400)
        }
    }

    /// Split at every offset: each prefix is "need more" (or, once the request line is known bad, a
    /// refusal), and the whole gives the same head as in one piece.
    @Test(arguments: [
        "GET /_matrix/client/v3/sync?timeout=30000 HTTP/1.1\r\nHost: m.example\r\nAuthorization: Bearer abc\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n\r\n",
        "\r\nPOST /x HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc",
        "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n",
    ])
    func headsArrivingInPiecesAreParsedOnceWhole(text: String) {
        let bytes = Array(text.utf8)
        let oneShot = Self.parse(text)
        var headLength = bytes.count
        if case .complete(let head) = oneShot { headLength = head.headLength }
        for split in 1..<headLength {
            var parser = HTTP1RequestHeadParser(limits: Self.limits)
            var buffer = ByteBuffer(bytes: bytes[..<split])
            let first = parser.parse(buffer)
            if case .complete = first { Issue.record("complete after \(split) bytes") }
            if case .refused(let early) = first {
                // A refusal may come early only if it is the one-shot refusal.
                guard case .refused(let whole) = oneShot, whole == early else {
                    Issue.record("refused \(early) after \(split) bytes")
                    continue
                }
                continue
            }
            buffer.writeBytes(bytes[split...])
            switch (parser.parse(buffer), oneShot) {
            case (.complete(let pieces), .complete(let whole)):
                #expect(pieces.headLength == whole.headLength)
                #expect(pieces.fields.map(\.self) == whole.fields.map(\.self))
                #expect(pieces.targetRange == whole.targetRange)
                #expect(pieces.framing == whole.framing)
            case (.refused(let pieces), .refused(let whole)):
                #expect(pieces == whole)
            default:
                Issue.record("split at \(split) differs from one piece")
            }
        }
    }

    @Test func aBareLineFeedIsRefusedAsSoonAsItArrives() {
        var parser = HTTP1RequestHeadParser(limits: Self.limits)
        guard case .refused(.bareLineBreak) = parser.parse(ByteBuffer(string: "GET / HTTP/1.1\n")) else {
            Issue.record("a bare LF must not wait for the rest of the head")
            return
        }
    }

    @Test func theHeadLimitCountsEveryByteAndHoldsExactlyAtTheBoundary() {
        let start = "GET / HTTP/1.1\r\nHost: x\r\nX: "
        let fill = Self.limits.maxHeadBytes - start.utf8.count - 4
        let exact = start + String(repeating: "a", count: fill) + "\r\n\r\n"
        #expect(exact.utf8.count == Self.limits.maxHeadBytes)
        guard case .complete = Self.parse(exact) else {
            Issue.record("a head of exactly max_header_bytes is accepted")
            return
        }
        let over = start + String(repeating: "a", count: fill + 1) + "\r\n\r\n"
        #expect(Self.refusal(over) == .headTooLarge)
        // Still arriving and already over: refused without waiting for the end.
        #expect(Self.refusal(start + String(repeating: "a", count: fill + 10)) == .headTooLarge)
        // Body bytes after the head do not count.
        guard case .complete(let head) = Self.parse(exact + String(repeating: "b", count: 5000)) else {
            Issue.record("the body is not part of the head")
            return
        }
        #expect(head.headLength == Self.limits.maxHeadBytes)
    }

    @Test func theTargetLimitHoldsExactlyAtTheBoundaryAndRefusesEarly() {
        let exact = "/" + String(repeating: "a", count: Self.limits.maxTargetBytes - 1)
        guard case .complete = Self.parse("GET \(exact) HTTP/1.1\r\nHost: x\r\n\r\n") else {
            Issue.record("a target of exactly max_request_target_bytes is accepted")
            return
        }
        #expect(Self.refusal("GET \(exact)a HTTP/1.1\r\nHost: x\r\n\r\n") == .targetTooLong)
        // The request line has not ended yet, but the target is already too long.
        #expect(Self.refusal("GET \(exact)aa") == .targetTooLong)
        #expect(Self.refusal("GET \(exact)") == nil)
    }

    @Test func decisionsAreTakenOnce() throws {
        let (head, buffer) = try Self.head(
            "POST http://M.example:8448/_matrix/x?access_token=t&b=1 HTTP/1.1\r\nHost: m.example:8448\r\nContent-Length: 12\r\n"
                + "Connection: close, Authorization\r\nAuthorization: Bearer hidden\r\nExpect: 100-continue\r\n\r\n")
        #expect(head.method == .post)
        #expect(head.targetForm == .absolute)
        #expect(head.string(head.originRange, in: buffer) == "/_matrix/x?access_token=t&b=1")
        #expect(head.queryRange.map { head.string($0, in: buffer) } == "access_token=t&b=1")
        #expect(head.authorityRange.map { head.string($0, in: buffer) } == "M.example:8448")
        #expect(head.hostRange.map { head.string($0, in: buffer) } == "m.example:8448")
        #expect(head.framing == .contentLength(12))
        #expect(head.expectsBody)
        #expect(!head.keepAlive)
        #expect(head.expectsContinue)
        #expect(head.queryMayCarryAccessToken)
        #expect(head.authorizationCount == 0, "an Authorization named in Connection is not forwarded, so not read")
        #expect(head.fields.first(.authorization)?.isConnectionListed == true)

        let (plain, _) = try Self.head("GET /sync?since=s1&timeout=3 HTTP/1.0\r\nConnection: Keep-Alive\r\nAuthorization: Bearer a\r\n\r\n")
        #expect(plain.keepAlive)
        #expect(plain.framing == .none)
        #expect(!plain.queryMayCarryAccessToken)
        #expect(plain.authorizationCount == 1)
        #expect(plain.lastAuthorizationIndex == 1)
        #expect(plain.upstreamFraming == .none)
        let (post, _) = try Self.head("POST /x HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(post.upstreamFraming == .contentLength(0), "a bodiless POST says so upstream")
        let (escaped, _) = try Self.head("GET /x?acc%65ss_token=t HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(escaped.queryMayCarryAccessToken)
    }

    @Test func aFieldIsSixteenBytesWithoutReferences() {
        #expect(MemoryLayout<HTTP1Field>.stride == 16)
        #expect(_isPOD(HTTP1Field.self), "a list of fields costs no retain/release")
    }

    @Test func moreFieldsThanTheInlineCapacitySpillOver() throws {
        let headers = (0..<40).map { "X-\($0): \($0)\r\n" }.joined()
        let (head, buffer) = try Self.head("GET / HTTP/1.1\r\nHost: x\r\n\(headers)\r\n")
        #expect(head.fields.count == 41)
        #expect(head.fields.map { head.string($0.valueRange, in: buffer) } == ["x"] + (0..<40).map(String.init))
    }

    @Test func knownNamesAreRecognisedInAnyCase() throws {
        let (head, _) = try Self.head("GET / HTTP/1.1\r\nHOST: x\r\ntRaNsFeR-eNcOdInG: chunked\r\nX-FORWARDED-FOR: 1\r\nx-forwarded-port: 2\r\nX-Other: 3\r\n\r\n")
        #expect(head.fields.map(\.name) == [.host, .transferEncoding, .xForwardedFor, .xForwardedPort, .other])
        #expect(head.fields.map(\.isDroppedUpstream) == [false, true, true, true, false])
    }
}
