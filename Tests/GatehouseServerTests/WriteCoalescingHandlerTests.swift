import NIOCore
import NIOEmbedded
import Testing

@testable import GatehouseServer

struct WriteCoalescingHandlerTests {
    @Test func smallWritesBeforeAFlushLeaveAsOne() throws {
        let channel = EmbeddedChannel(handler: WriteCoalescingHandler())
        let head = channel.eventLoop.makePromise(of: Void.self)
        let end = channel.eventLoop.makePromise(of: Void.self)
        channel.write(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"), promise: head)
        channel.write(ByteBuffer(string: "{}"), promise: nil)
        channel.write(ByteBuffer(), promise: end)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil, "nothing leaves before the flush")
        channel.flush()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        try head.futureResult.wait()
        try end.futureResult.wait()
        _ = try channel.finish()
    }

    @Test func aWriteThatDoesNotFitFollowsWhatWasGathered() throws {
        let channel = EmbeddedChannel(handler: WriteCoalescingHandler(limit: 8))
        channel.write(ByteBuffer(string: "head"), promise: nil)
        channel.write(ByteBuffer(string: "a large body"), promise: nil)
        channel.write(ByteBuffer(string: "tail"), promise: nil)
        channel.flush()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "head"))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "a large body"))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "tail"))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        _ = try channel.finish()
    }

    @Test func gatheringStopsAtTheLimit() throws {
        let channel = EmbeddedChannel(handler: WriteCoalescingHandler(limit: 8))
        for piece in ["abc", "def", "gh", "ijk"] { channel.write(ByteBuffer(string: piece), promise: nil) }
        channel.flush()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "abcdefgh"))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "ijk"))
        _ = try channel.finish()
    }

    /// A tick of HTTP/2 frames (a HEADERS frame, then DATA headers and payloads): once a piece does
    /// not fit the first buffer, what was gathered moves once into a buffer of the limit's size, so
    /// the rest is appended in place instead of through a doubling reallocation each.
    @Test func gatheringGrowsOnceToTheLimit() throws {
        let channel = EmbeddedChannel(handler: WriteCoalescingHandler(limit: 16 * 1024))
        var pieces: [ByteBuffer] = []
        for index in 0..<8 {
            pieces.append(ByteBuffer(string: "headers \(index);"))
            pieces.append(ByteBuffer(repeating: UInt8(ascii: "a") + UInt8(index), count: 300))
        }
        for piece in pieces { channel.write(piece, promise: nil) }
        channel.flush()
        let sent = try #require(try channel.readOutbound(as: ByteBuffer.self))
        var expected = ByteBuffer()
        for var piece in pieces { expected.writeBuffer(&piece) }
        #expect(sent == expected, "every piece, in order, in one buffer")
        #expect(sent.capacity == 16 * 1024, "grown to the limit in one step")
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        _ = try channel.finish()
    }

    @Test func eachFlushSendsItsOwnWrites() throws {
        let channel = EmbeddedChannel(handler: WriteCoalescingHandler())
        channel.write(ByteBuffer(string: "first"), promise: nil)
        channel.flush()
        channel.write(ByteBuffer(string: "second"), promise: nil)
        channel.flush()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "first"))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "second"))
        _ = try channel.finish()
    }

    @Test func aGatheredBufferIsNotChangedUnderItsWriter() throws {
        let channel = EmbeddedChannel(handler: WriteCoalescingHandler())
        let kept = ByteBuffer(string: "kept")
        channel.write(kept, promise: nil)
        channel.write(ByteBuffer(string: "+more"), promise: nil)
        channel.flush()
        #expect(kept == ByteBuffer(string: "kept"))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "kept+more"))
        _ = try channel.finish()
    }

    @Test func whatWasGatheredGoesDownBeforeAClose() throws {
        let recorder = OutboundRecorder()
        let channel = EmbeddedChannel(handlers: [recorder, WriteCoalescingHandler()])
        var outcomes: [Bool] = []
        for piece in ["one", "two"] {
            let promise = channel.eventLoop.makePromise(of: Void.self)
            promise.futureResult.whenComplete { outcomes.append((try? $0.get()) != nil) }
            channel.write(ByteBuffer(string: piece), promise: promise)
        }
        channel.close(promise: nil)
        channel.embeddedEventLoop.run()
        #expect(recorder.events == ["write onetwo", "close"])
        #expect(outcomes.count == 2 || outcomes.isEmpty, "both writes complete alike, with the one write that carries them")
        #expect(Set(outcomes).count <= 1)
    }
}

/// Records what reaches it from the handlers above, in order.
private final class OutboundRecorder: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer

    var events: [String] = []

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        events.append("write \(String(buffer: unwrapOutboundIn(data)))")
        context.write(data, promise: promise)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        events.append("close")
        context.close(mode: mode, promise: promise)
    }
}
