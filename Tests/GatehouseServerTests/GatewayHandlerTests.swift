import GatehouseCore
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import GatehouseServer

/// ``GatewayHandler`` on an `EmbeddedChannel`: request bytes in, response bytes out, no socket.
/// Local, deny and redirect routes only (upstream pools need a real event loop; the proxy path is
/// covered by ``ConnectionStateMachineTests`` and the socket tests).
struct GatewayHandlerTests {
    /// Counts the `read()`s that pass the handler, to see when it holds reads back.
    final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = Any
        var reads = 0
        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    private func makeChannel() throws -> (EmbeddedChannel, ReadCounter) {
        let yaml = """
            http:
              public_base: http://localhost/
              listeners: [{name: test, binds: [{address: "127.0.0.1:0"}]}]
            matrix: {homeserver: localhost, endpoint: "http://127.0.0.1:1/", secret: "test-secret-of-at-least-32-bytes!"}
            database: {path: test.db}
            routes: {files: [test.routes]}
            log: {access: false}
            """
        let configuration = try ConfigurationLoader.parse(yaml: yaml, file: "/tmp/gatehouse-embedded/gatehouse.yaml")
        let routes = try RouteTable(
            rules: RouteFileParser.parse(
                """
                GET  ^/health$     local health
                *    ^/gone$       deny 403
                *    ^/moved$      redirect 301 https://example.org/new
                """, file: "test.routes"),
            upstreams: [])
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let runtime = GatewayRuntime(configuration: configuration, routes: routes, responders: [.health: HealthResponder()], logger: logger)
        let channel = EmbeddedChannel()
        let loop = LoopContext(eventLoop: channel.embeddedEventLoop, upstreams: [:], logger: logger, clock: .eventLoop)
        let counter = ReadCounter()
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(
            GatewayHandler(runtime: runtime, loop: loop, info: ConnectionInfo(isHTTP2: false, isTLS: false, peerAddress: "192.0.2.1")))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, counter)
    }

    private func send(_ channel: EmbeddedChannel, _ method: HTTPMethod, _ uri: String, headers: [(String, String)] = [], body: String? = nil) throws {
        var text = "\(method.rawValue) \(uri) HTTP/1.1\r\nHost: example.org\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if let body { text += "Content-Length: \(body.utf8.count)\r\n" }
        text += "\r\n" + (body ?? "")
        try channel.writeInbound(ByteBuffer(string: text))
    }

    /// A response as the client reads it.
    struct Response {
        var status: HTTPResponseStatus
        var headers: HTTPHeaders
        var body: String
    }

    /// The client's side of the connection: the bytes written to it, read as responses.
    final class Client {
        let channel: EmbeddedChannel
        private var received = ByteBuffer()

        init(_ channel: EmbeddedChannel) {
            self.channel = channel
        }

        /// The next whole response written (an interim 100 included), or `nil`.
        func response(to method: HTTP1Method = .get) throws -> Response? {
            while var buffer = try channel.readOutbound(as: ByteBuffer.self) { received.writeBuffer(&buffer) }
            var parser = HTTP1ResponseHeadParser(maxHeadBytes: 1 << 16)
            guard case .complete(let head) = parser.parse(received, requestMethod: method) else { return nil }
            let length: Int
            switch head.framing {
            case .contentLength(let value): length = value
            case .none: length = 0
            default: return nil
            }
            guard received.readableBytes >= head.headLength + length else { return nil }
            var headers = HTTPHeaders()
            for field in head.fields {
                headers.add(
                    name: received.getString(at: received.readerIndex + field.nameRange.lowerBound, length: field.nameRange.count)!,
                    value: received.getString(at: received.readerIndex + field.valueRange.lowerBound, length: field.valueRange.count)!)
            }
            received.moveReaderIndex(forwardBy: head.headLength)
            let body = received.readString(length: length)!
            return Response(status: HTTPResponseStatus(statusCode: head.status), headers: headers, body: body)
        }
    }

    @Test func keepAliveRequestsAreAnsweredOneAfterAnotherOnOneConnection() throws {
        let (channel, _) = try makeChannel()
        let client = Client(channel)
        for _ in 0..<2 {
            try send(channel, .GET, "/health")
            let answer = try #require(try client.response())
            #expect(answer.status == .ok)
            #expect(answer.body == "OK")
            #expect(answer.headers["Content-Length"] == ["2"])
            #expect(answer.headers["Connection"].isEmpty)
        }
        #expect(channel.isActive)
        _ = try? channel.finish()
    }

    @Test func aBurstOfPipelinedRequestsIsCutAtTheCapPerReadAndTheRestAnsweredOnTheNextTick() throws {
        let (channel, _) = try makeChannel()
        let client = Client(channel)
        // One read carrying more requests than the cap: the last waits for the next loop tick.
        let count = GatewayHandler.maxPipelinedRequests + 1
        var bytes = ""
        for index in 0..<count {
            bytes += "GET \(index == count - 1 ? "/gone" : "/health") HTTP/1.1\r\nHost: h\r\n\r\n"
        }
        channel.pipeline.fireChannelRead(NIOAny(ByteBuffer(string: bytes)))
        channel.pipeline.fireChannelReadComplete()
        for _ in 0..<(count - 1) {
            #expect(try client.response()?.status == .ok)
        }
        #expect(try client.response() == nil, "the last one waits its turn")
        channel.embeddedEventLoop.run()
        #expect(try client.response()?.status == .forbidden)
        _ = try? channel.finish()
    }

    @Test func aRefusedRequestWithABodyClosesTheConnection() throws {
        let (channel, _) = try makeChannel()
        try channel.writeInbound(ByteBuffer(string: "POST /gone HTTP/1.1\r\nHost: example.org\r\nContent-Length: 100\r\n\r\n"))
        let answer = try #require(try Client(channel).response())
        #expect(answer.status == .forbidden)
        #expect(answer.headers["Connection"] == ["close"])
        #expect(channel.isActive == false)
    }

    /// NIOSSL decrypts every record into one buffer: once a read is handled, the handler must hold no
    /// slice of it (the head of a request it still serves is copied), or the next read copies it whole.
    @Test func nothingOfAReadBufferIsHeldPastItsRead() throws {
        let (channel, _) = try makeChannel()
        let client = Client(channel)
        var read = ByteBufferAllocator().buffer(capacity: 32 * 1024)
        read.writeString("GET /health HTTP/1.1\r\nHost: example.org\r\n\r\n")
        let before = read.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        try channel.writeInbound(read)
        #expect(try client.response()?.status == .ok)
        // What NIOSSL does before its next read: reuse the buffer from the start.
        read.moveReaderIndex(to: 0)
        read.moveWriterIndex(to: 0)
        read.writeString("GET /health HTTP/1.1\r\nHost: example.org\r\n\r\n")
        #expect(read.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } == before, "the handler still held the read buffer")
        try channel.writeInbound(read)
        #expect(try client.response()?.status == .ok)
        _ = try? channel.finish()
    }

    @Test func aRedirectCarriesItsLocationAndHEADGetsNoBody() throws {
        let (channel, _) = try makeChannel()
        let client = Client(channel)
        try send(channel, .GET, "/moved")
        let redirect = try #require(try client.response())
        #expect(redirect.status == .movedPermanently)
        #expect(redirect.headers["Location"] == ["https://example.org/new"])
        try send(channel, .HEAD, "/health")
        let head = try #require(try client.response(to: .head))
        #expect(head.headers["Content-Length"] == ["2"])
        #expect(head.body.isEmpty)
        _ = try? channel.finish()
    }

    @Test func expectContinueIsAnsweredBeforeTheBody() throws {
        let (channel, _) = try makeChannel()
        let client = Client(channel)
        // /health takes no body: the 100 goes out, then the body over its limit is refused.
        try channel.writeInbound(ByteBuffer(
            string: "GET /health HTTP/1.1\r\nHost: example.org\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n"))
        let interim = try #require(try client.response())
        #expect(interim.status == .continue)
        try channel.writeInbound(ByteBuffer(string: "1\r\nx\r\n"))
        #expect(try client.response()?.status == .payloadTooLarge)
        #expect(channel.isActive == false)
    }

    @Test(arguments: [
        ("GET /a HTTP/1.1\r\nHost: h\r\nBad Name: 1\r\n\r\n", HTTPResponseStatus.badRequest),
        ("GET /a HTTP/1.1\r\n\r\n", .badRequest),
        ("FOO /a HTTP/1.1\r\nHost: h\r\n\r\n", .notImplemented),
        ("GET /a HTTP/2.0\r\nHost: h\r\n\r\n", .httpVersionNotSupported),
        ("GET /\(String(repeating: "a", count: 9000)) HTTP/1.1\r\nHost: h\r\n\r\n", .uriTooLong),
    ])
    func aMalformedRequestIsAnsweredAndClosed(bytes: String, status: HTTPResponseStatus) throws {
        let (channel, _) = try makeChannel()
        try channel.writeInbound(ByteBuffer(string: bytes))
        let answer = try #require(try Client(channel).response())
        #expect(answer.status == status)
        #expect(answer.headers["Connection"] == ["close"])
        #expect(channel.isActive == false)
    }

    @Test func readsWaitWhileTheClientTakesNoResponsesAndResumeWhenItDoes() throws {
        let (channel, counter) = try makeChannel()
        try send(channel, .GET, "/health")
        _ = try Client(channel).response()
        channel.isWritable = false
        let before = counter.reads
        channel.read()
        #expect(counter.reads == before, "held while the client is not reading")
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(counter.reads == before + 1, "the held read is replayed")
        _ = try? channel.finish()
    }
}
