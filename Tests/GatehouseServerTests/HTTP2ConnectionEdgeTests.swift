import NIOCore
import NIOEmbedded
import Testing

@testable import GatehouseServer

/// ``HTTP2ConnectionEdge``, below the HTTP/2 handler: closing after an error GOAWAY, Gatehouse's
/// settings applied before the client acknowledges them (issue 7, items 2 and 8), and the flushes of
/// one tick merged.
struct HTTP2ConnectionEdgeTests {
    /// An HTTP/2 frame: 9-byte header and payload.
    static func frame(type: UInt8, flags: UInt8 = 0, stream: UInt32 = 0, payload: [UInt8] = []) -> [UInt8] {
        let length = payload.count
        var bytes: [UInt8] = [UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), type, flags]
        bytes += [UInt8(stream >> 24 & 0x7F), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF)]
        return bytes + payload
    }

    static func goAway(errorCode: UInt32) -> [UInt8] {
        frame(type: 0x7, payload: [0, 0, 0, 1, UInt8(errorCode >> 24), UInt8(errorCode >> 16 & 0xFF), UInt8(errorCode >> 8 & 0xFF), UInt8(errorCode & 0xFF)])
    }

    static let settings = frame(type: 0x4, payload: [0, 3, 0, 0, 0, 100])
    static let settingsAck = frame(type: 0x4, flags: 0x1)
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    // MARK: OutboundFrameScanner

    @Test(arguments: [1, 2, 3, 7, 1000])
    func scannerFindsAnErrorGoAwayWhateverTheSplits(piece: Int) {
        // A DATA payload that looks like a GOAWAY must be skipped, not parsed.
        let decoy = Self.goAway(errorCode: 1)
        let bytes = Self.settings + Self.frame(type: 0x0, stream: 1, payload: decoy) + Self.goAway(errorCode: 0) + Self.goAway(errorCode: 11)
        var scanner = OutboundFrameScanner()
        var foundAt: [Int] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + piece, bytes.count)
            if scanner.scan(ByteBuffer(bytes: bytes[offset..<end])) { foundAt.append(end) }
            offset = end
        }
        #expect(foundAt == [bytes.count], "only the final GOAWAY with ENHANCE_YOUR_CALM counts")
    }

    @Test func noErrorGoAwayIsNotAConnectionError() {
        var scanner = OutboundFrameScanner()
        let afterNoError = scanner.scan(ByteBuffer(bytes: Self.goAway(errorCode: 0)))
        let afterProtocolError = scanner.scan(ByteBuffer(bytes: Self.goAway(errorCode: 2)))
        #expect(!afterNoError)
        #expect(afterProtocolError)
    }

    // MARK: The end after an error GOAWAY

    @Test func afterAnErrorGoAwayNothingIsReadAndTheConnectionCloses() throws {
        let channel = EmbeddedChannel(handler: HTTP2ConnectionEdge(grace: .seconds(2)))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.writeInbound(ByteBuffer(bytes: Self.preface + Self.settings))
        #expect(try Self.inbound(channel) == Self.preface + Self.settings + Self.settingsAck)
        // Written and flushed as the HTTP/2 handler does (the flush waits for the end of the tick).
        channel.write(ByteBuffer(bytes: Self.settings), promise: nil)
        channel.flush()
        channel.embeddedEventLoop.run()
        #expect(channel.isActive)
        channel.write(ByteBuffer(bytes: Self.goAway(errorCode: 1)), promise: nil)
        channel.flush()
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive, "closed once the GOAWAY is written")
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(bytes: Self.settings))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(bytes: Self.goAway(errorCode: 1)), "the GOAWAY itself still leaves")
    }

    @Test func inboundBytesAfterAnErrorGoAwayAreDropped() throws {
        let channel = EmbeddedChannel(handler: HTTP2ConnectionEdge(grace: .seconds(2)))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        // A write that does not complete (no flush here) leaves the close to the grace timer.
        channel.write(ByteBuffer(bytes: Self.goAway(errorCode: 11)), promise: nil)
        try channel.writeInbound(ByteBuffer(string: "flood"))
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
        channel.embeddedEventLoop.advanceTime(by: .seconds(3))
        #expect(!channel.isActive)
    }

    // MARK: Settings from the first request

    @Test(arguments: [1, 5, 9, 24, 4096])
    func settingsAreAcknowledgedForTheClientAndItsOwnAckRemoved(piece: Int) throws {
        let headers = Self.frame(type: 0x1, flags: 0x5, stream: 1, payload: Array(repeating: 0x82, count: 20))
        let ping = Self.frame(type: 0x6, payload: Array(repeating: 7, count: 8))
        let client = Self.preface + Self.settings + headers + ping + Self.settingsAck + ping + Self.settingsAck
        let channel = EmbeddedChannel(handler: HTTP2ConnectionEdge(grace: .seconds(2)))
        var offset = 0
        while offset < client.count {
            let end = min(offset + piece, client.count)
            try channel.writeInbound(ByteBuffer(bytes: client[offset..<end]))
            offset = end
        }
        var seen: [UInt8] = []
        while var buffer = try channel.readInbound(as: ByteBuffer.self) {
            seen += buffer.readBytes(length: buffer.readableBytes)!
        }
        // The synthetic ACK right after the client's SETTINGS; the client's first ACK removed; a
        // later one (a reply to another SETTINGS) passes.
        let expected = Self.preface + Self.settings + Self.settingsAck + headers + ping + ping + Self.settingsAck
        #expect(seen == expected)
    }

    @Test func aStreamThatDoesNotStartWithSettingsIsPassedUntouched() throws {
        let channel = EmbeddedChannel(handler: HTTP2ConnectionEdge(grace: .seconds(2)))
        let bytes = Self.preface + Self.settingsAck + Self.settings
        try channel.writeInbound(ByteBuffer(bytes: bytes))
        var seen: [UInt8] = []
        while var buffer = try channel.readInbound(as: ByteBuffer.self) {
            seen += buffer.readBytes(length: buffer.readableBytes)!
        }
        #expect(seen == bytes)
    }

    // MARK: One flush per tick

    @Test func flushesOfOneTickLeaveTogether() throws {
        let channel = EmbeddedChannel(handler: HTTP2ConnectionEdge(grace: .seconds(2)))
        channel.write(ByteBuffer(bytes: Self.settings), promise: nil)
        channel.flush()
        channel.write(ByteBuffer(bytes: Self.settingsAck), promise: nil)
        channel.flush()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil, "nothing leaves before the end of the tick")
        channel.embeddedEventLoop.run()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(bytes: Self.settings))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(bytes: Self.settingsAck))
        // And in every later tick (the deferred flush is made once per connection).
        for _ in 0..<2 {
            channel.write(ByteBuffer(bytes: Self.settingsAck), promise: nil)
            channel.flush()
            #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
            channel.embeddedEventLoop.run()
            #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(bytes: Self.settingsAck))
        }
        _ = try channel.finish()
    }

    /// The deferred flush holds its handler while the connection lives; a closed connection lets
    /// both go (a connection's handlers would otherwise outlive it, one set per connection ever made).
    @Test func aClosedConnectionLetsTheHandlerGo() throws {
        weak var released: HTTP2ConnectionEdge?
        do {
            let handler = HTTP2ConnectionEdge(grace: .seconds(2))
            released = handler
            let channel = EmbeddedChannel(handler: handler)
            channel.write(ByteBuffer(bytes: Self.settings), promise: nil)
            channel.flush()
            channel.embeddedEventLoop.run()
            #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(bytes: Self.settings))
            _ = try channel.finish()
        }
        #expect(released == nil)
    }

    @Test func closeFlushesWhatIsPending() throws {
        let channel = EmbeddedChannel(handler: HTTP2ConnectionEdge(grace: .seconds(2)))
        channel.write(ByteBuffer(bytes: Self.goAway(errorCode: 0)), promise: nil)
        channel.flush()
        channel.close(promise: nil)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(bytes: Self.goAway(errorCode: 0)))
    }

    /// Every byte the channel passed on, in order.
    static func inbound(_ channel: EmbeddedChannel) throws -> [UInt8] {
        var seen: [UInt8] = []
        while var buffer = try channel.readInbound(as: ByteBuffer.self) {
            seen += buffer.readBytes(length: buffer.readableBytes)!
        }
        return seen
    }
}
