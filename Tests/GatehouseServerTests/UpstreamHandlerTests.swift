import NIOCore
import NIOEmbedded
import Testing

@testable import GatehouseServer

/// ``UpstreamHandler`` on an `EmbeddedChannel`, with an exchange that lets go of the connection the
/// way ``GatewayHandler`` does through ``UpstreamPool/release(_:reusable:)``: it forgets the exchange
/// and closes the channel, and NIO closes at once, from inside the read that brought the event.
struct UpstreamHandlerTests {
    /// Records what the connection reported, and closes it on the event it is told to.
    final class ClosingExchange: UpstreamExchange {
        enum CloseOn { case head, end }

        let channel: EmbeddedChannel
        let handler: UpstreamHandler
        let closeOn: CloseOn
        var events: [String] = []

        init(channel: EmbeddedChannel, handler: UpstreamHandler, closeOn: CloseOn) {
            self.channel = channel
            self.handler = handler
            self.closeOn = closeOn
        }

        private func letGo() {
            handler.exchange = nil
            channel.close(promise: nil)
        }

        func upstreamResponseHead(_ head: HTTP1ResponseHead, bytes: ByteBuffer) {
            events.append("head \(head.status)")
            if closeOn == .head { letGo() }
        }

        func upstreamResponseBody(_ buffer: ByteBuffer) {
            events.append("body \(buffer.readableBytes)")
        }

        func upstreamResponseEnd(reusable: Bool) {
            events.append("end reusable=\(reusable)")
            if closeOn == .end { letGo() }
        }

        func upstreamReadComplete() {}
        func upstreamWritabilityChanged(isWritable: Bool) {}

        func upstreamFailed(_ error: (any Error)?) {
            events.append("failed")
        }
    }

    /// A request whose body is still being sent (the upstream answered early, as Synapse does with a
    /// 413), so the connection cannot be reused once the response ends.
    private func start(closeOn: ClosingExchange.CloseOn) throws -> (EmbeddedChannel, ClosingExchange, closes: () -> Int) {
        let handler = UpstreamHandler()
        let channel = EmbeddedChannel(handler: handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8008)).wait()
        var closes = 0
        handler.onClose = { closes += 1 }
        let exchange = ClosingExchange(channel: channel, handler: handler, closeOn: closeOn)
        handler.exchange = exchange
        let head = ByteBuffer(string: "POST /_matrix/media/v3/upload HTTP/1.1\r\nHost: synapse\r\nContent-Length: 100000\r\n\r\n")
        #expect(handler.sendHead(bytes: head, framing: .contentLength(100_000), method: .post))
        #expect(handler.sendBody(ByteBuffer(repeating: 0x61, count: 16_384)))
        return (channel, exchange, { closes })
    }

    /// The whole response, and more bytes behind it, in one read; the exchange closes the
    /// connection on the response's end. The close is finished after the read (it used to be run
    /// inside it, a simultaneous access to the response reader that stopped the process).
    @Test func aConnectionClosedByItsExchangeWhenTheResponseEndsInsideARead() throws {
        let (channel, exchange, closes) = try start(closeOn: .end)
        let response = "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\n\r\n"
        try channel.writeInbound(ByteBuffer(string: response))
        #expect(exchange.events == ["head 413", "body 2", "end reusable=true"])
        #expect(!channel.isActive)
        #expect(closes() == 1)
    }

    /// The exchange lets go as soon as the head arrives (its client left): nothing after the head
    /// reaches it, and the pool hears of the close once.
    @Test func aConnectionClosedByItsExchangeOnTheHeadHearsNothingMore() throws {
        let (channel, exchange, closes) = try start(closeOn: .head)
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"))
        #expect(exchange.events == ["head 200"])
        #expect(!channel.isActive)
        #expect(closes() == 1)
    }
}
