import GatehouseCore
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import GatehouseServer

/// ``GatewayHandler`` on an `EmbeddedChannel`: request parts in, response parts out, no socket.
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
        let loop = LoopContext(eventLoop: channel.embeddedEventLoop, upstreams: [:], logger: logger)
        let counter = ReadCounter()
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(
            GatewayHandler(runtime: runtime, loop: loop, info: ConnectionInfo(isHTTP2: false, isTLS: false, peerAddress: "192.0.2.1")))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, counter)
    }

    private func send(_ channel: EmbeddedChannel, _ method: HTTPMethod, _ uri: String, headers: [(String, String)] = [], body: String? = nil) throws {
        var fields = HTTPHeaders([("Host", "example.org")] + headers)
        if let body { fields.add(name: "Content-Length", value: String(body.utf8.count)) }
        try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: fields)))
        if let body { try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: body))) }
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
    }

    /// The next whole response written: its head and its body as text.
    private func response(_ channel: EmbeddedChannel) throws -> (head: HTTPResponseHead, body: String)? {
        guard case .head(let head) = try channel.readOutbound(as: HTTPServerResponsePart.self) else { return nil }
        var body = ""
        while let part = try channel.readOutbound(as: HTTPServerResponsePart.self) {
            switch part {
            case .body(.byteBuffer(let buffer)): body += String(buffer: buffer)
            case .end: return (head, body)
            default: return nil
            }
        }
        return nil
    }

    @Test func keepAliveRequestsAreAnsweredOneAfterAnotherOnOneConnection() throws {
        let (channel, _) = try makeChannel()
        for _ in 0..<2 {
            try send(channel, .GET, "/health")
            let answer = try #require(try response(channel))
            #expect(answer.head.status == .ok)
            #expect(answer.body == "OK")
            #expect(answer.head.headers["Content-Length"] == ["2"])
            #expect(answer.head.headers["Connection"].isEmpty)
        }
        #expect(channel.isActive)
        _ = try? channel.finish()
    }

    @Test func aBurstOfPipelinedRequestsIsCutAtTheCapPerReadAndTheRestAnsweredOnTheNextTick() throws {
        let (channel, _) = try makeChannel()
        // One read carrying more requests than the cap: the last waits for the next loop tick.
        let count = GatewayHandler.maxPipelinedRequests + 1
        for index in 0..<count {
            let uri = index == count - 1 ? "/gone" : "/health"
            channel.pipeline.fireChannelRead(
                NIOAny(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: uri, headers: ["Host": "h"]))))
            channel.pipeline.fireChannelRead(NIOAny(HTTPServerRequestPart.end(nil)))
        }
        channel.pipeline.fireChannelReadComplete()
        for _ in 0..<(count - 1) {
            #expect(try response(channel)?.head.status == .ok)
        }
        #expect(try channel.readOutbound(as: HTTPServerResponsePart.self) == nil, "the last one waits its turn")
        channel.embeddedEventLoop.run()
        #expect(try response(channel)?.head.status == .forbidden)
        _ = try? channel.finish()
    }

    @Test func aRefusedRequestWithABodyClosesTheConnection() throws {
        let (channel, _) = try makeChannel()
        try channel.writeInbound(HTTPServerRequestPart.head(
            HTTPRequestHead(version: .http1_1, method: .POST, uri: "/gone", headers: ["Host": "example.org", "Content-Length": "100"])))
        let answer = try #require(try response(channel))
        #expect(answer.head.status == .forbidden)
        #expect(answer.head.headers["Connection"] == ["close"])
        #expect(channel.isActive == false)
    }

    @Test func aRedirectCarriesItsLocationAndHEADGetsNoBody() throws {
        let (channel, _) = try makeChannel()
        try send(channel, .GET, "/moved")
        let redirect = try #require(try response(channel))
        #expect(redirect.head.status == .movedPermanently)
        #expect(redirect.head.headers["Location"] == ["https://example.org/new"])
        try send(channel, .HEAD, "/health")
        let head = try #require(try response(channel))
        #expect(head.head.headers["Content-Length"] == ["2"])
        #expect(head.body.isEmpty)
        _ = try? channel.finish()
    }

    @Test func expectContinueIsAnsweredBeforeTheBody() throws {
        let (channel, _) = try makeChannel()
        // /health takes no body: the 100 goes out, then the body over its limit is refused.
        try channel.writeInbound(HTTPServerRequestPart.head(
            HTTPRequestHead(
                version: .http1_1, method: .GET, uri: "/health",
                headers: ["Host": "example.org", "Expect": "100-continue", "Transfer-Encoding": "chunked"])))
        guard case .head(let interim) = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
            Issue.record("no interim response")
            return
        }
        #expect(interim.status == .continue)
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "x")))
        #expect(try response(channel)?.head.status == .payloadTooLarge)
        #expect(channel.isActive == false)
    }

    @Test func aMalformedRequestIsAnswered400AndClosed() throws {
        let (channel, _) = try makeChannel()
        channel.pipeline.fireErrorCaught(HTTPParserError.invalidHeaderToken)
        let answer = try #require(try response(channel))
        #expect(answer.head.status == .badRequest)
        #expect(answer.head.headers["Connection"] == ["close"])
        #expect(channel.isActive == false)
    }

    @Test func readsWaitWhileTheClientTakesNoResponsesAndResumeWhenItDoes() throws {
        let (channel, counter) = try makeChannel()
        try send(channel, .GET, "/health")
        _ = try response(channel)
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
