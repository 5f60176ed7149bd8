import NIOCore
import Testing

@testable import GatehouseServer

/// The upstream response is read on bytes: one response per request, its body without framing, and
/// every byte outside a response an error (issue 9).
struct UpstreamResponseReaderTests {
    /// What a reader made of some reads, as text: `head 200`, `body …`, `end reusable`/`end close`.
    struct Transcript {
        var events: [String] = []
        var failure: UpstreamResponseReader.Failure?
    }

    static func read(_ pieces: [String], method: HTTP1Method = .get, close: Bool = false) -> Transcript {
        var reader = UpstreamResponseReader(maxHeadBytes: 4096)
        reader.expectResponse(to: method)
        var transcript = Transcript()
        func record(_ event: UpstreamResponseReader.Event, _ head: HTTP1ResponseHead) {
            switch event {
            case .head(let bytes):
                #expect(bytes.readableBytes == head.headLength, "the head's bytes are exactly its own")
                transcript.events.append("head \(head.status)")
            case .body(let buffer):
                transcript.events.append("body \(String(buffer: buffer))")
            case .end(let reusable):
                transcript.events.append(reusable ? "end reusable" : "end close")
            }
        }
        do throws(UpstreamResponseReader.Failure) {
            for piece in pieces { try reader.read(ByteBuffer(string: piece), record) }
            if close, let event = try reader.connectionClosed() { record(event, reader.head) }
        } catch {
            transcript.failure = error
        }
        return transcript
    }

    /// Body pieces joined, so tests do not depend on how a body is sliced.
    static func joined(_ events: [String]) -> [String] {
        var result: [String] = []
        for event in events {
            if event.hasPrefix("body "), let last = result.last, last.hasPrefix("body ") {
                result[result.count - 1] = last + event.dropFirst(5)
            } else {
                result.append(event)
            }
        }
        return result
    }

    @Test func aContentLengthResponseInOneReadIsHeadBodyAndEnd() {
        let transcript = Self.read(["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"])
        #expect(transcript.events == ["head 200", "body hello", "end reusable"])
        #expect(transcript.failure == nil)
    }

    @Test func aResponseSplitAtEveryByteReadsTheSame() {
        let response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n"
        let whole = Self.read([response])
        let bytes = Array(response)
        let split = Self.read(bytes.map { String($0) })
        #expect(Self.joined(whole.events) == ["head 200", "body helloabc", "end reusable"])
        #expect(Self.joined(split.events) == Self.joined(whole.events))
        #expect(split.failure == nil)
    }

    @Test func responsesWithoutABodyEndAtTheHead() {
        #expect(Self.read(["HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n"], method: .head).events == ["head 200", "end reusable"])
        #expect(Self.read(["HTTP/1.1 204 No Content\r\n\r\n"]).events == ["head 204", "end reusable"])
        #expect(Self.read(["HTTP/1.1 304 Not Modified\r\nContent-Length: 3\r\n\r\n"]).events == ["head 304", "end reusable"])
        #expect(Self.read(["HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"]).events == ["head 200", "end reusable"])
    }

    @Test func informationalHeadsAreSkipped() {
        let transcript = Self.read(["HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"])
        #expect(transcript.events == ["head 201", "body ok", "end reusable"])
    }

    @Test func aBodyReadUntilCloseEndsAtTheCloseAndTheConnectionIsNotReused() {
        let transcript = Self.read(["HTTP/1.1 200 OK\r\n\r\nsome", " more"], close: true)
        #expect(transcript.events == ["head 200", "body some", "body  more", "end close"])
    }

    @Test func connectionCloseMakesTheConnectionNotReusable() {
        #expect(Self.read(["HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx"]).events == ["head 200", "body x", "end close"])
        #expect(Self.read(["HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx"]).events == ["head 200", "body x", "end close"])
    }

    @Test func aCloseBeforeTheEndIsATruncation() {
        #expect(Self.read(["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhal"], close: true).failure == .truncated)
        #expect(Self.read(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"], close: true).failure == .truncated)
        #expect(Self.read(["HTTP/1.1 200 O"], close: true).failure == .truncated)
        // A stale keep-alive connection closed before any byte: a truncation too (the retry rules
        // tell it from a failure mid-response).
        #expect(Self.read([], close: true).failure == .truncated)
    }

    @Test func bytesAfterTheResponseAreUnsolicited() {
        let transcript = Self.read(["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n"])
        #expect(transcript.events == ["head 200", "body ok", "end reusable"])
        #expect(transcript.failure == .unsolicited)
    }

    @Test func bytesWhileNoRequestWaitsAreUnsolicited() throws {
        var reader = UpstreamResponseReader(maxHeadBytes: 4096)
        #expect(throws: UpstreamResponseReader.Failure.unsolicited) {
            try reader.read(ByteBuffer(string: "HTTP/1.1 200 OK\r\n\r\n")) { _, _ in Issue.record("no event") }
        }
        #expect(try reader.connectionClosed() == nil, "an idle connection closing is no failure")
    }

    @Test func malformedResponsesAreRefused() {
        #expect(Self.read(["HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx"]).failure == .malformed(.duplicateContentLength))
        #expect(Self.read(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"]).failure == .malformed(.invalidChunkSize))
        #expect(Self.read(["HTTP/1.1 200 OK\nContent-Length: 1\r\n\r\nx"]).failure == .malformed(.bareLineBreak))
        #expect(Self.read(["HTTP/1.1 101 Switching Protocols\r\n\r\n"]).failure == .malformed(.invalidStatus))
    }

    @Test func aReaderServesOneResponsePerRequestOnAKeptConnection() throws {
        var reader = UpstreamResponseReader(maxHeadBytes: 4096)
        var events: [String] = []
        for round in 1...3 {
            reader.expectResponse(to: .get)
            try reader.read(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n\(round)")) { event, _ in
                if case .body(let body) = event { events.append(String(buffer: body)) }
            }
            #expect(!reader.isReading)
        }
        #expect(events == ["1", "2", "3"])
    }
}
