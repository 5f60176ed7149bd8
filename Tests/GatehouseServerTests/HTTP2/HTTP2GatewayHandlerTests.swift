import GatehouseCore
import Logging
import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import Testing

@testable import GatehouseServer

/// ``HTTP2GatewayHandler`` on an `EmbeddedChannel`: HTTP/2 frames in, frames out, as
/// `NIOHTTP2Handler` without a multiplexer passes and takes them (its window and stream-closed events
/// fired by hand), and the upstream connection an `EmbeddedChannel` on the same loop.
struct HTTP2GatewayHandlerTests {
    /// Counts the `read()`s an upstream channel lets through.
    typealias ReadCounter = GatewayHandlerTests.ReadCounter

    /// A client connection with its gateway handler, and one upstream connection waiting in the pool.
    struct Fixture {
        let channel: EmbeddedChannel
        let gateway: HTTP2GatewayHandler
        let upstream: EmbeddedChannel
        let upstreamReads: ReadCounter

        /// The frames written to the client so far.
        func written() throws -> [HTTP2Frame] {
            var frames: [HTTP2Frame] = []
            while let frame = try channel.readOutbound(as: HTTP2Frame.self) { frames.append(frame) }
            return frames
        }

        /// What the upstream received so far, as text.
        func upstreamReceived() throws -> String {
            var text = ""
            while var buffer = try upstream.readOutbound(as: ByteBuffer.self) { text += buffer.readString(length: buffer.readableBytes)! }
            return text
        }

        /// NIO reports that the client ended or reset the stream.
        func streamClosed(_ id: HTTP2StreamID, reason: HTTP2ErrorCode? = nil) {
            channel.pipeline.fireUserInboundEventTriggered(StreamClosedEvent(streamID: id, reason: reason))
        }
    }

    static let window = 64 * 1024

    /// - Parameter nioSettings: with settings, a real `NIOHTTP2Handler` (server, no multiplexer,
    ///   announcing them) goes in front of the gateway, as ``ChannelSetup`` puts it.
    /// - Parameters:
    ///   - rawRule: the options of the `/raw` rule (`timeout=2s`, say).
    ///   - timeouts: the configuration's `timeouts:` section, if any.
    private func makeFixture(nioSettings: HTTP2Settings? = nil, rawRule: String = "", timeouts: String? = nil) throws -> Fixture {
        let yaml = """
            http:
              public_base: http://localhost/
              listeners: [{name: test, binds: [{address: "127.0.0.1:0"}]}]
            matrix: {homeserver: localhost, endpoint: "http://127.0.0.1:1/", secret: "test-secret-of-at-least-32-bytes!"}
            database: {path: test.db}
            routes: {files: [test.routes]}
            upstreams:
              raw: {members: ["http://127.0.0.1:9"], fail_timeout: 0}
            log: {access: false}
            """ + (timeouts.map { "\ntimeouts: \($0)" } ?? "")
        let configuration = try ConfigurationLoader.parse(yaml: yaml, file: "/tmp/gatehouse-embedded/gatehouse.yaml")
        let routes = try RouteTable(
            rules: RouteFileParser.parse(
                """
                GET  ^/health$     local health
                *    ^/raw(/|$)    proxy raw  \(rawRule)
                """, file: "test.routes"),
            upstreams: ["raw"])
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let runtime = GatewayRuntime(configuration: configuration, routes: routes, responders: [.health: HealthResponder()], logger: logger)
        let channel = EmbeddedChannel()
        let loop = LoopContext(eventLoop: channel.embeddedEventLoop, upstreams: configuration.upstreams, logger: logger, clock: .eventLoop)
        let info = ConnectionInfo(isHTTP2: true, isTLS: true, peerAddress: "192.0.2.1", hsts: nil)
        let gateway = HTTP2GatewayHandler(
            runtime: runtime, loop: loop, info: info, connectionWindow: Self.window, streamWindow: Self.window, lifecycle: nil)
        if let nioSettings {
            var connection = NIOHTTP2Handler.ConnectionConfiguration()
            connection.initialSettings = nioSettings
            // As ChannelSetup sets it up: Gatehouse's own check of the header blocks is the only one.
            connection.headerBlockValidation = .disabled
            try channel.pipeline.syncOperations.addHandler(
                NIOHTTP2Handler(mode: .server, frameDelegate: HTTP2SentFrames(gateway: gateway), connectionConfiguration: connection))
        }
        try channel.pipeline.syncOperations.addHandler(gateway)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()

        let counter = ReadCounter()
        let upstream = EmbeddedChannel(loop: channel.embeddedEventLoop)
        try upstream.pipeline.syncOperations.addHandler(counter)
        let upstreamHandler = UpstreamHandler()
        try upstream.pipeline.syncOperations.addHandler(upstreamHandler)
        try upstream.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        let pool = try #require(loop.pools["raw"])
        pool.adopt(UpstreamConnection(channel: upstream, memberIndex: 0, member: pool.configuration.members[0], handler: upstreamHandler))
        return Fixture(channel: channel, gateway: gateway, upstream: upstream, upstreamReads: counter)
    }

    private func request(_ method: String, _ path: String, endStream: Bool) -> HTTP2Frame.FramePayload {
        let headers = HPACKHeaders([(":method", method), (":path", path), (":scheme", "https"), (":authority", "example.org")])
        return .headers(.init(headers: headers, endStream: endStream))
    }

    private func data(_ count: Int, endStream: Bool = false) -> HTTP2Frame.FramePayload {
        .data(.init(data: .byteBuffer(ByteBuffer(repeating: UInt8(ascii: "x"), count: count)), endStream: endStream))
    }

    private func status(of frame: HTTP2Frame?) -> String? {
        guard case .headers(let block) = frame?.payload else { return nil }
        return block.headers.first(name: ":status")
    }

    private func windowIncrements(_ frames: [HTTP2Frame]) -> [HTTP2StreamID: Int] {
        var increments: [HTTP2StreamID: Int] = [:]
        for frame in frames {
            if case .windowUpdate(let increment) = frame.payload { increments[frame.streamID, default: 0] += increment }
        }
        return increments
    }

    @Test func aGETIsRelayedAsHEADERSAndDATAAndItsUpstreamGoesBackToThePool() throws {
        let fixture = try makeFixture()
        try fixture.channel.writeInbound(HTTP2Frame(streamID: 1, payload: request("GET", "/raw/a", endStream: true)))
        let sent = try fixture.upstreamReceived()
        #expect(sent.hasPrefix("GET /raw/a HTTP/1.1\r\n"))
        #expect(sent.contains("\r\nhost: example.org\r\n") || sent.contains("\r\nHost: example.org\r\n"))

        try fixture.upstream.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Up: 1\r\n\r\nhi"))
        let frames = try fixture.written()
        #expect(frames.map(\.streamID) == [1, 1])
        #expect(status(of: frames.first) == "200")
        guard case .headers(let head) = frames.first?.payload, case .data(let body) = frames.last?.payload else {
            Issue.record("expected HEADERS then DATA, got \(frames)")
            return
        }
        #expect(head.headers.first(name: "x-up") == "1")
        #expect(!head.endStream)
        #expect(body.endStream)
        guard case .byteBuffer(let bytes) = body.data else { return }
        #expect(String(buffer: bytes) == "hi")

        fixture.streamClosed(1)
        #expect(fixture.gateway.openStreams == 0)
        #expect(fixture.upstream.isActive, "the upstream connection is kept for the next request")
        _ = try? fixture.channel.finish()
    }

    /// A peer that opens stream after stream on one long connection: each finished stream's handler
    /// is let go, whatever the streams after it do (none is kept for an end of read that has passed).
    @Test func aFinishedStreamsHandlerIsLetGo() throws {
        let fixture = try makeFixture()
        weak var first: GatewayHandler?
        for id in stride(from: 1, through: 9, by: 2) {
            let stream = HTTP2StreamID(id)
            fixture.channel.pipeline.fireChannelRead(HTTP2Frame(streamID: stream, payload: request("GET", "/health", endStream: true)))
            if id == 1 { first = fixture.gateway.streams[stream] }
            fixture.channel.pipeline.fireChannelReadComplete()
            fixture.channel.embeddedEventLoop.run()
            fixture.streamClosed(stream)
        }
        #expect(try fixture.written().compactMap { status(of: $0) }.count == 5, "every stream was answered")
        #expect(fixture.gateway.streams.isEmpty)
        #expect(first == nil, "the first stream's handler is still held")
        _ = try? fixture.channel.finish()
    }

    @Test func aLocalAnswerNeedsNoUpstreamAndEachStreamIsAnsweredOnItsOwnId() throws {
        let fixture = try makeFixture()
        fixture.channel.pipeline.fireChannelRead(HTTP2Frame(streamID: 1, payload: request("GET", "/health", endStream: true)))
        fixture.channel.pipeline.fireChannelRead(HTTP2Frame(streamID: 3, payload: request("GET", "/nowhere", endStream: true)))
        fixture.channel.pipeline.fireChannelReadComplete()
        let frames = try fixture.written()
        let statuses = Dictionary(frames.compactMap { frame in status(of: frame).map { (frame.streamID, $0) } }, uniquingKeysWith: { a, _ in a })
        #expect(statuses == [1: "200", 3: "404"])
        #expect(try fixture.upstreamReceived().isEmpty)
        _ = try? fixture.channel.finish()
    }

    @Test func anUploadGetsWindowUpdatesAsItIsConsumedAndNoneWhileItIsHeld() throws {
        let fixture = try makeFixture()
        let chunk = 40 * 1024
        try fixture.channel.writeInbound(HTTP2Frame(streamID: 1, payload: request("POST", "/raw/upload", endStream: false)))
        // Over the proxy buffer (64 KiB): the upstream is taken and the body streams to it.
        for index in 0..<2 {
            try fixture.channel.writeInbound(HTTP2Frame(streamID: 1, payload: data(chunk)))
            // NIO reports each window after the frame: the connection's and the stream's.
            let left = Self.window - chunk
            fixture.channel.pipeline.fireUserInboundEventTriggered(
                NIOHTTP2WindowUpdatedEvent(streamID: .rootStream, inboundWindowSize: left, outboundWindowSize: Self.window))
            fixture.channel.pipeline.fireUserInboundEventTriggered(
                NIOHTTP2WindowUpdatedEvent(streamID: 1, inboundWindowSize: left, outboundWindowSize: Self.window))
            let increments = windowIncrements(try fixture.written())
            #expect(increments == [.rootStream: chunk, 1: chunk], "read \(index + 1): the consumed bytes are given back")
        }
        let upstreamText = try fixture.upstreamReceived()
        #expect(upstreamText.hasPrefix("POST /raw/upload HTTP/1.1\r\n"))
        let body = upstreamText.split(separator: "\r\n\r\n", maxSplits: 1).last ?? ""
        #expect(body.utf8.filter { $0 == UInt8(ascii: "x") }.count == 2 * chunk)

        // The upstream stops taking the body: the next frame still goes (the request was reading),
        // then the request stops reading, and what arrives is held with the window kept shut.
        fixture.upstream.isWritable = false
        fixture.upstream.pipeline.fireChannelWritabilityChanged()
        try fixture.channel.writeInbound(HTTP2Frame(streamID: 1, payload: data(1)))
        try fixture.channel.writeInbound(HTTP2Frame(streamID: 1, payload: data(chunk)))
        fixture.channel.pipeline.fireUserInboundEventTriggered(
            NIOHTTP2WindowUpdatedEvent(streamID: 1, inboundWindowSize: Self.window - chunk - 1, outboundWindowSize: Self.window))
        #expect(windowIncrements(try fixture.written())[1] == nil, "no room is given while the body is held")
        #expect(try fixture.upstreamReceived() == "1\r\nx\r\n", "only the frame read before the stop went upstream (chunked)")

        // Writable again: the held body goes on, and the window opens for what was consumed.
        fixture.upstream.isWritable = true
        fixture.upstream.pipeline.fireChannelWritabilityChanged()
        #expect(windowIncrements(try fixture.written())[1] == chunk + 1)
        #expect(try fixture.upstreamReceived().utf8.filter { $0 == UInt8(ascii: "x") }.count == chunk)
        _ = try? fixture.channel.finish()
    }

    @Test func theStreamsTimersShareTheConnectionsOneTimerAndEachFiresWhenDue() throws {
        let fixture = try makeFixture(rawRule: "timeout=2s", timeouts: "{body: 5s}")
        let loop = fixture.channel.embeddedEventLoop
        // Stream 3 sends part of a small body, gathered before any upstream is taken, then nothing
        // (5 s); then stream 1 waits for its upstream (2 s): the connection's timer moves earlier.
        try fixture.channel.writeInbound(HTTP2Frame(streamID: 3, payload: request("POST", "/raw/upload", endStream: false)))
        try fixture.channel.writeInbound(HTTP2Frame(streamID: 3, payload: data(10)))
        try fixture.channel.writeInbound(HTTP2Frame(streamID: 1, payload: request("GET", "/raw/slow", endStream: true)))
        #expect(try fixture.upstreamReceived().hasPrefix("GET /raw/slow HTTP/1.1\r\n"))
        #expect(try fixture.written().allSatisfy { status(of: $0) == nil })

        loop.advanceTime(by: .milliseconds(1900))
        #expect(try fixture.written().allSatisfy { status(of: $0) == nil }, "nothing is due before 2 s")
        loop.advanceTime(by: .milliseconds(200))
        let atTwo = try fixture.written()
        #expect(atTwo.filter { status(of: $0) != nil }.map { "\(Int($0.streamID)) \(status(of: $0)!)" } == ["1 504"])
        #expect(!fixture.upstream.isActive, "the upstream that did not answer in time is not reused")
        fixture.streamClosed(1)

        loop.advanceTime(by: .milliseconds(2800))
        #expect(try fixture.written().allSatisfy { status(of: $0) == nil }, "stream 3 is not due before 5 s")
        loop.advanceTime(by: .milliseconds(300))
        let atFive = try fixture.written()
        #expect(atFive.filter { status(of: $0) != nil }.map { "\(Int($0.streamID)) \(status(of: $0)!)" } == ["3 408"])
        fixture.streamClosed(3)
        #expect(fixture.gateway.openStreams == 0)
        _ = try? fixture.channel.finish()
    }

    @Test func aChangeOfTheInitialWindowMovesEveryOpenStreamsTarget() throws {
        let fixture = try makeFixture()
        try fixture.channel.writeInbound(HTTP2Frame(streamID: 1, payload: request("POST", "/raw/upload", endStream: false)))
        // More than half the window left: no update.
        fixture.channel.pipeline.fireUserInboundEventTriggered(
            NIOHTTP2WindowUpdatedEvent(streamID: 1, inboundWindowSize: Self.window / 2 + 1, outboundWindowSize: Self.window))
        #expect(windowIncrements(try fixture.written())[1] == nil)
        // Gatehouse's SETTINGS halve the initial window: the stream's target and window shrink with it,
        // leaving 1 byte of a 32 KiB target, so the stream is raised back to its new target.
        fixture.channel.pipeline.fireUserInboundEventTriggered(NIOHTTP2BulkStreamWindowChangeEvent(delta: -Self.window / 2))
        #expect(windowIncrements(try fixture.written()) == [1: Self.window / 2 - 1])
        _ = try? fixture.channel.finish()
    }

    @Test func aConnectionThatTakesNothingForTheSendTimeoutIsClosed() throws {
        let fixture = try makeFixture(timeouts: "{send: 3s}")
        let loop = fixture.channel.embeddedEventLoop
        // Unwritable for 2 s, then writable again: the watch starts over.
        fixture.channel.isWritable = false
        fixture.channel.pipeline.fireChannelWritabilityChanged()
        loop.advanceTime(by: .seconds(2))
        fixture.channel.isWritable = true
        fixture.channel.pipeline.fireChannelWritabilityChanged()
        loop.advanceTime(by: .seconds(2))
        #expect(fixture.channel.isActive, "a stall that ended is forgotten")

        fixture.channel.isWritable = false
        fixture.channel.pipeline.fireChannelWritabilityChanged()
        loop.advanceTime(by: .milliseconds(2900))
        #expect(fixture.channel.isActive, "not before timeouts.send")
        loop.advanceTime(by: .milliseconds(200))
        #expect(!fixture.channel.isActive, "closed once unwritable for timeouts.send")
        _ = try? fixture.channel.finish()
    }

    @Test func aStreamResetByTheClientClosesItsUpstreamConnection() throws {
        let fixture = try makeFixture()
        try fixture.channel.writeInbound(HTTP2Frame(streamID: 1, payload: request("GET", "/raw/slow", endStream: true)))
        #expect(try fixture.upstreamReceived().hasPrefix("GET /raw/slow "))
        #expect(fixture.upstream.isActive)
        // The client sends RST_STREAM: NIO closes the stream with its error code.
        fixture.streamClosed(1, reason: .cancel)
        #expect(fixture.gateway.openStreams == 0)
        #expect(!fixture.upstream.isActive, "a connection in mid-exchange cannot serve another request")
        // A late answer from the upstream has nowhere to go.
        #expect(try fixture.written().isEmpty)
        _ = try? fixture.channel.finish()
    }

    @Test func aSlowClientStopsTheUpstreamReadsUntilNIOSendsItsData() throws {
        let fixture = try makeFixture()
        try fixture.channel.writeInbound(HTTP2Frame(streamID: 1, payload: request("GET", "/raw/big", endStream: true)))
        _ = try fixture.upstreamReceived()
        let piece = 48 * 1024
        try fixture.upstream.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: \(4 * piece)\r\n\r\n"))
        try fixture.upstream.writeInbound(ByteBuffer(repeating: UInt8(ascii: "y"), count: piece))
        #expect(fixture.gateway.isWritable(stream: 1), "48 KiB held by NIO is under the high-water mark")
        try fixture.upstream.writeInbound(ByteBuffer(repeating: UInt8(ascii: "y"), count: piece))
        #expect(!fixture.gateway.isWritable(stream: 1), "96 KiB the client has not taken")

        // The upstream is not read while the client is behind.
        let before = fixture.upstreamReads.reads
        fixture.upstream.read()
        #expect(fixture.upstreamReads.reads == before)

        // NIO sends what the client's window allows: below the low-water mark the upstream is read again.
        let written = try fixture.written()
        #expect(written.count >= 2)
        for frame in written { fixture.gateway.frameSent(frame) }
        #expect(fixture.gateway.isWritable(stream: 1))
        #expect(fixture.upstreamReads.reads == before + 1, "the held read is replayed")
        _ = try? fixture.channel.finish()
    }

    @Test func aMalformedHeaderBlockResetsOnlyItsStream() throws {
        let fixture = try makeFixture()
        let noPath = HPACKHeaders([(":method", "GET"), (":scheme", "https"), (":authority", "example.org")])
        try fixture.channel.writeInbound(HTTP2Frame(streamID: 1, payload: .headers(.init(headers: noPath, endStream: true))))
        let frames = try fixture.written()
        #expect(frames.count == 1)
        guard case .rstStream(let code) = frames.first?.payload else {
            Issue.record("expected RST_STREAM, got \(frames)")
            return
        }
        #expect(code == .cancel)
        fixture.streamClosed(1, reason: .cancel)
        #expect(fixture.gateway.openStreams == 0)
        #expect(fixture.channel.isActive)
        _ = try? fixture.channel.finish()
    }

    // MARK: With NIO's HTTP/2 handler on both sides

    /// A client connection (`NIOHTTP2Handler` in client mode) whose bytes are carried to and from the
    /// server fixture.
    final class Client {
        let channel = EmbeddedChannel()
        let server: EmbeddedChannel

        init(server: EmbeddedChannel) throws {
            self.server = server
            try channel.pipeline.syncOperations.addHandler(NIOHTTP2Handler(mode: .client))
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 443)).wait()
            try exchange()
        }

        /// Carries bytes both ways until neither side has more to say.
        func exchange() throws {
            var moved = true
            while moved {
                moved = false
                while let bytes = try channel.readOutbound(as: IOData.self) {
                    guard case .byteBuffer(let buffer) = bytes else { continue }
                    try server.writeInbound(buffer)
                    moved = true
                }
                while let bytes = try server.readOutbound(as: IOData.self) {
                    guard case .byteBuffer(let buffer) = bytes else { continue }
                    try channel.writeInbound(buffer)
                    moved = true
                }
            }
        }

        /// Sends `frames` so that the server reads them all in one read (one buffer).
        func sendInOneRead(_ frames: [HTTP2Frame]) throws {
            for frame in frames { channel.write(frame, promise: nil) }
            channel.flush()
            var together = ByteBuffer()
            while let bytes = try channel.readOutbound(as: IOData.self) {
                guard case .byteBuffer(var buffer) = bytes else { continue }
                together.writeBuffer(&buffer)
            }
            try server.writeInbound(together)
            try exchange()
        }

        func send(_ id: HTTP2StreamID, _ payload: HTTP2Frame.FramePayload) throws {
            channel.writeAndFlush(HTTP2Frame(streamID: id, payload: payload), promise: nil)
            try exchange()
        }

        /// Every frame the client has received, in order.
        func received() throws -> [HTTP2Frame] {
            var frames: [HTTP2Frame] = []
            while let frame = try channel.readInbound(as: HTTP2Frame.self) { frames.append(frame) }
            return frames
        }
    }

    @Test func withNIOAResponseThatEndsTheStreamIsSentAndTheStreamForgotten() throws {
        let fixture = try makeFixture(nioSettings: [HTTP2Setting(parameter: .maxConcurrentStreams, value: 256)])
        let client = try Client(server: fixture.channel)
        // HEAD: the answer is one HEADERS frame with END_STREAM, which closes the stream inside the
        // write that carries it.
        try client.send(1, request("HEAD", "/health", endStream: true))
        try client.send(3, request("GET", "/health", endStream: true))
        let frames = try client.received().filter { $0.streamID != .rootStream }
        let statuses = frames.compactMap { frame in status(of: frame).map { "\(Int(frame.streamID)):\($0)" } }
        #expect(statuses == ["1:200", "3:200"])
        if case .headers(let head) = frames.first?.payload { #expect(head.endStream) }
        #expect(fixture.gateway.openStreams == 0, "NIO closed both streams and the gateway forgot them")
        _ = try? fixture.channel.finish()
        _ = try? client.channel.finish()
    }

    @Test func withNIOAnAnswerBeforeTheUploadEndsIsSentWholeBeforeTheStreamIsReset() throws {
        // The 413 is written, its DATA held by NIO until the end of the read; the rest of the body in
        // the same read goes over the limit, so the stream is reset. NIO drops the DATA it still holds
        // for a reset stream: the answer must leave first, and the reset say NO_ERROR (RFC 9113
        // section 8.1: the client stops sending and keeps the response).
        let fixture = try makeFixture(nioSettings: [HTTP2Setting(parameter: .maxConcurrentStreams, value: 256)], rawRule: "max_body=1KiB")
        let client = try Client(server: fixture.channel)
        let head = HPACKHeaders([
            (":method", "POST"), (":path", "/raw/upload"), (":scheme", "https"), (":authority", "example.org"),
            ("content-length", "4096"),
        ])
        try client.sendInOneRead([
            HTTP2Frame(streamID: 1, payload: .headers(.init(headers: head))),
            HTTP2Frame(streamID: 1, payload: data(2048)),
            HTTP2Frame(streamID: 1, payload: data(2048)),
        ])
        let frames = try client.received().filter { $0.streamID == 1 }
        let kinds = frames.map { frame -> String in
            switch frame.payload {
            case .headers(let block): return "HEADERS \(block.headers.first(name: ":status") ?? "-")"
            case .data(let data): return data.endStream ? "DATA END_STREAM" : "DATA"
            case .rstStream(let code): return "RST_STREAM \(code)"
            default: return "other"
            }
        }
        #expect(kinds == ["HEADERS 413", "DATA END_STREAM", "RST_STREAM \(HTTP2ErrorCode.noError)"])
        if case .data(let body) = frames.dropFirst().first?.payload, case .byteBuffer(let bytes) = body.data {
            #expect(String(buffer: bytes).contains("M_TOO_LARGE"))
        }
        #expect(try fixture.upstreamReceived().isEmpty, "nothing of the refused request went upstream")
        #expect(fixture.gateway.openStreams == 0)
        _ = try? fixture.channel.finish()
        _ = try? client.channel.finish()
    }

    @Test func withNIOAnUploadLargerThanEveryWindowReachesTheUpstreamWhole() throws {
        // 16 KiB windows: the 200 KiB body goes through only if the gateway keeps opening both the
        // stream's window and the connection's (65,535 bytes, which SETTINGS cannot change).
        let fixture = try makeFixture(nioSettings: [HTTP2Setting(parameter: .initialWindowSize, value: 16 * 1024)])
        let client = try Client(server: fixture.channel)
        let size = 200 * 1024
        try client.send(1, request("POST", "/raw/upload", endStream: false))
        for _ in 0..<(size / (8 * 1024)) { try client.send(1, data(8 * 1024)) }
        try client.send(1, data(0, endStream: true))
        let sent = try fixture.upstreamReceived()
        let body = sent.split(separator: "\r\n\r\n", maxSplits: 1).last ?? ""
        #expect(body.utf8.filter { $0 == UInt8(ascii: "x") }.count == size, "the whole body went upstream")
        #expect(sent.hasSuffix("0\r\n\r\n"), "and its end")

        try fixture.upstream.writeInbound(ByteBuffer(string: "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"))
        try client.exchange()
        #expect(try client.received().compactMap { status(of: $0) } == ["201"])
        #expect(fixture.gateway.openStreams == 0)
        _ = try? fixture.channel.finish()
        _ = try? client.channel.finish()
    }
}
