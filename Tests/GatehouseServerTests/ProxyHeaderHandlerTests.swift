import Logging
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@testable import GatehouseServer

/// ``ProxyHeaderHandler`` in an `EmbeddedChannel`: the header is consumed, what follows it reaches the
/// handlers set up after it, in order and exactly once, whether it came in the header's read, byte by
/// byte or while the set-up was under way; anything else closes the connection.
struct ProxyHeaderHandlerTests {
    /// A TLS ClientHello's first bytes, as they follow the header on a TLS listener.
    static let clientHello: [UInt8] = [0x16, 0x03, 0x01, 0x00, 0xF4, 0x01, 0x00, 0x00, 0xF0, 0x03, 0x03] + (0..<40).map { UInt8($0) }
    static let v1 = Array("PROXY TCP4 203.0.113.7 10.0.0.21 51000 8443\r\n".utf8)
    static let v2 = ProxyHeaderParserTests.v2(0x21, 0x21, ProxyHeaderParserTests.ipv6Block + [0x01, 0, 2, 0x68, 0x32])

    /// A connected embedded channel with the handler; `proceed` records each header and answers with `answer`.
    final class Fixture {
        let channel = EmbeddedChannel()
        var headers: [ProxyHeader] = []
        var answer: (any Channel) -> EventLoopFuture<Void> = { $0.eventLoop.makeSucceededVoidFuture() }
        let log = CapturedLog()

        init(timeout: TimeAmount = .seconds(10)) throws {
            let log = self.log
            var logger = Logger(label: "test") { _ in CapturedLog.Handler(log: log) }
            logger.logLevel = .trace
            let handler = ProxyHeaderHandler(timeout: timeout, listener: "test", logger: logger) { [unowned self] channel, header in
                headers.append(header)
                return answer(channel)
            }
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.connect(to: SocketAddress(ipAddress: "10.0.0.10", port: 40000)).wait()
        }

        func write(_ bytes: [UInt8]) throws {
            try channel.writeInbound(channel.allocator.buffer(bytes: bytes))
        }

        /// Every byte passed on past the handler.
        func passedOn() throws -> [UInt8] {
            var bytes: [UInt8] = []
            while let buffer = try channel.readInbound(as: ByteBuffer.self) { bytes += Array(buffer.readableBytesView) }
            return bytes
        }

        var handlerIsGone: Bool { (try? channel.pipeline.syncOperations.handler(type: ProxyHeaderHandler.self)) == nil }
    }

    @Test(arguments: [(ProxyHeaderHandlerTests.v1, "203.0.113.7", 1), (ProxyHeaderHandlerTests.v2, "2001:db8::7", 2)])
    func headerAndClientHelloInOneRead(header: [UInt8], client: String, version: Int) throws {
        let fixture = try Fixture()
        try fixture.write(header + Self.clientHello)
        #expect(fixture.headers == [ProxyHeader(clientAddress: client, version: version)])
        #expect(try fixture.passedOn() == Self.clientHello)
        #expect(fixture.handlerIsGone)
        #expect(fixture.channel.isActive)
        // Later reads go straight to the protocol's handlers.
        try fixture.write([0x17, 0x03, 0x03])
        #expect(try fixture.passedOn() == [0x17, 0x03, 0x03])
    }

    @Test(arguments: [ProxyHeaderHandlerTests.v1, ProxyHeaderHandlerTests.v2])
    func byteByByte(header: [UInt8]) throws {
        let fixture = try Fixture()
        for byte in header + Self.clientHello {
            try fixture.write([byte])
        }
        #expect(fixture.headers.count == 1)
        #expect(try fixture.passedOn() == Self.clientHello)
        #expect(fixture.handlerIsGone)
    }

    @Test func aHeaderAloneHandsOverWithNothingToPass() throws {
        let fixture = try Fixture()
        try fixture.write(Self.v1)
        #expect(fixture.headers.count == 1)
        #expect(try fixture.passedOn().isEmpty)
        #expect(fixture.handlerIsGone)
        try fixture.write(Self.clientHello)
        #expect(try fixture.passedOn() == Self.clientHello)
    }

    @Test func bytesThatArriveDuringTheSetUpWaitForIt() throws {
        let fixture = try Fixture()
        let setUp = fixture.channel.eventLoop.makePromise(of: Void.self)
        fixture.answer = { _ in setUp.futureResult }
        try fixture.write(Self.v2 + Self.clientHello.prefix(5))
        try fixture.write(Array(Self.clientHello.dropFirst(5)))
        #expect(try fixture.passedOn().isEmpty, "nothing passes before the pipeline behind the handler is ready")
        setUp.succeed()
        #expect(try fixture.passedOn() == Self.clientHello)
        #expect(fixture.handlerIsGone)
    }

    @Test func aFailedSetUpClosesTheConnection() throws {
        let fixture = try Fixture()
        fixture.answer = { $0.eventLoop.makeFailedFuture(ConnectionRefused()) }
        try fixture.write(Self.v1 + Self.clientHello)
        #expect(!fixture.channel.isActive)
        #expect(try fixture.passedOn().isEmpty)
    }

    @Test(arguments: [
        Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8),
        ProxyHeaderHandlerTests.clientHello,
        Array("PROXY TCP4 203.0.113.07 10.0.0.21 51000 8443\r\n".utf8),
        ProxyHeaderParserTests.v2(0x22, 0x11, ProxyHeaderParserTests.ipv4Block),
    ])
    func anythingButAValidHeaderClosesWithoutPassingAByte(bytes: [UInt8]) throws {
        let fixture = try Fixture()
        try fixture.write(bytes)
        #expect(!fixture.channel.isActive)
        #expect(fixture.headers.isEmpty)
        #expect(try fixture.passedOn().isEmpty)
    }

    @Test func aRefusalIsLoggedOnceWithItsReasonAndNoByteOfTheHeader() throws {
        let fixture = try Fixture()
        try fixture.write(Array("PROXY TCP4 203.0.113.07 10.0.0.21 51000 8443\r\n".utf8))
        try fixture.write(Array("more".utf8))
        let lines = fixture.log.lines
        #expect(lines.count == 1, "\(lines)")
        let line = try #require(lines.first)
        #expect(line.hasPrefix("notice closing a connection: invalid PROXY protocol header"), "\(line)")
        #expect(line.contains("v1 address not in canonical form") && line.contains("10.0.0.10") && line.contains("test"), "\(line)")
        #expect(!line.contains("203.0.113"), "the header's bytes are not logged")
    }

    @Test func aHeaderThatDoesNotCompleteInTimeClosesTheConnection() throws {
        let fixture = try Fixture(timeout: .seconds(5))
        try fixture.write(Array(Self.v1.prefix(20)))
        fixture.channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        #expect(fixture.channel.isActive, "still within the timeout")
        fixture.channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!fixture.channel.isActive)
        #expect(fixture.headers.isEmpty)
        #expect(fixture.log.lines.count == 1 && fixture.log.lines[0].hasPrefix("info closing a connection: no complete PROXY protocol header in time"),
            "\(fixture.log.lines)")
    }

    @Test func silenceClosesTheConnectionToo() throws {
        let fixture = try Fixture(timeout: .seconds(5))
        fixture.channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        #expect(!fixture.channel.isActive)
    }

    @Test func theTimerStopsOnceTheHeaderIsRead() throws {
        let fixture = try Fixture(timeout: .seconds(5))
        try fixture.write(Self.v1)
        fixture.channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(fixture.channel.isActive)
    }
}

/// The lines a logger wrote (level, message, metadata).
final class CapturedLog: Sendable {
    private let store = Mutex<[String]>([])

    var lines: [String] { store.withLock { $0 } }

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let line = "\(event.level) \(event.message) \(metadata.merging(event.metadata ?? [:]) { $1 })"
            log.store.withLock { $0.append(line) }
        }
    }
}
