import NIOCore
import NIOEmbedded
import Testing

@testable import GatehouseServer

struct FlushCoalescingHandlerTests {
    @Test func flushesOfOneTickLeaveTogether() throws {
        let channel = EmbeddedChannel(handler: FlushCoalescingHandler())
        channel.write(ByteBuffer(string: "one"), promise: nil)
        channel.flush()
        channel.write(ByteBuffer(string: "two"), promise: nil)
        channel.flush()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil, "nothing leaves before the end of the tick")
        channel.embeddedEventLoop.run()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "one"))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "two"))
        _ = try channel.finish()
    }

    @Test func closeFlushesWhatIsPending() throws {
        let channel = EmbeddedChannel(handler: FlushCoalescingHandler())
        channel.write(ByteBuffer(string: "goaway"), promise: nil)
        channel.flush()
        channel.close(promise: nil)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "goaway"))
    }
}
