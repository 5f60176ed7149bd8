import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A scripted HTTP/1.1 origin for in-process tests: records every request it receives and answers
/// according to the request path, standing in for Synapse where speed matters more than realism.
///
/// Paths it understands:
/// - `/echo...`: 200 with a JSON-ish text of the method, target and headers it received;
/// - `/status/N`: status N with a small body;
/// - `/slow/MS`: answers after MS milliseconds;
/// - `/drop`: closes the connection without answering;
/// - `/stream/N`: N chunks of 1 KiB, one every 10 ms, chunked;
/// - `/upload`: reads the whole body and answers with its length;
/// - `/cut-body`: announces `Content-Length: 10`, sends 3 bytes of body and closes the connection;
/// - `/held-body`: sends a head (`Content-Length: 5`) at once and its body, `later`, only when the
///   test calls ``releaseHeldBodies()``.
public final class FakeOrigin: Sendable {
    /// What the origin saw of one request.
    public struct Received: Sendable {
        public var method: String
        public var uri: String
        public var headers: [(String, String)]
        public var bodyBytes: Int
        /// Which accepted connection carried it (1-based), to check connection reuse.
        public var connection: Int

        /// The values of a header, case-insensitively.
        public func header(_ name: String) -> [String] {
            headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
        }
    }

    private let channel: any Channel
    private let state: NIOLockedValueBox<(requests: [Received], connections: Int)>
    /// The bodies `/held-body` answers wait to send.
    private let heldBodies: NIOLockedValueBox<[@Sendable () -> Void]>

    /// The port it listens on (127.0.0.1).
    public var port: Int { channel.localAddress!.port! }

    /// Requests received so far.
    public var requests: [Received] { state.withLockedValue { $0.requests } }

    /// Connections accepted so far.
    public var connections: Int { state.withLockedValue { $0.connections } }

    /// Starts listening on an ephemeral loopback port.
    /// - Parameter group: the event loops to use.
    public init(group: any EventLoopGroup) async throws {
        let state = NIOLockedValueBox<(requests: [Received], connections: Int)>(([], 0))
        self.state = state
        let heldBodies = NIOLockedValueBox<[@Sendable () -> Void]>([])
        self.heldBodies = heldBodies
        self.channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let number = state.withLockedValue { value -> Int in
                    value.connections += 1
                    return value.connections
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(OriginHandler(state: state, heldBodies: heldBodies, connection: number))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    /// Sends the bodies of the `/held-body` answers sent so far.
    public func releaseHeldBodies() {
        let pending = heldBodies.withLockedValue { pending in
            defer { pending = [] }
            return pending
        }
        for send in pending { send() }
    }

    /// Stops listening.
    public func stop() async throws {
        try await channel.close()
    }
}

private final class OriginHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let state: NIOLockedValueBox<(requests: [FakeOrigin.Received], connections: Int)>
    let heldBodies: NIOLockedValueBox<[@Sendable () -> Void]>
    let connection: Int
    var head: HTTPRequestHead?
    var bodyBytes = 0

    init(
        state: NIOLockedValueBox<(requests: [FakeOrigin.Received], connections: Int)>, heldBodies: NIOLockedValueBox<[@Sendable () -> Void]>,
        connection: Int
    ) {
        self.state = state
        self.heldBodies = heldBodies
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            bodyBytes = 0
        case .body(let buffer):
            bodyBytes += buffer.readableBytes
        case .end:
            guard let head else { return }
            let received = FakeOrigin.Received(
                method: head.method.rawValue, uri: head.uri, headers: head.headers.map { ($0.name, $0.value) },
                bodyBytes: bodyBytes, connection: connection)
            state.withLockedValue { $0.requests.append(received) }
            answer(context: context, head: head, received: received)
        }
    }

    private func answer(context: ChannelHandlerContext, head: HTTPRequestHead, received: FakeOrigin.Received) {
        let path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
        if path == "/drop" {
            context.close(promise: nil)
            return
        }
        if path.hasPrefix("/slow/"), let milliseconds = Int64(path.dropFirst("/slow/".count)) {
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .milliseconds(milliseconds)) {
                let (handler, context) = bound.value
                handler.send(context: context, status: .ok, body: "slow")
            }
            return
        }
        if path.hasPrefix("/stream/"), let chunks = Int(path.dropFirst("/stream/".count)) {
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok))), promise: nil)
            stream(context: context, remaining: chunks)
            return
        }
        if path == "/cut-body" {
            var headers = HTTPHeaders()
            headers.add(name: "Content-Length", value: "10")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: "abc")))), promise: nil)
            context.close(promise: nil)
            return
        }
        if path == "/held-body" {
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let loop = context.eventLoop
            heldBodies.withLockedValue {
                $0.append {
                    loop.execute {
                        let (handler, context) = bound.value
                        context.write(handler.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: "later")))), promise: nil)
                        context.writeAndFlush(handler.wrapOutboundOut(.end(nil)), promise: nil)
                    }
                }
            }
            // Sent after the body waits to be released: a client that reads the head and releases it
            // at once must find it waiting.
            var headers = HTTPHeaders()
            headers.add(name: "Content-Length", value: "5")
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            return
        }
        if path.hasPrefix("/status/"), let code = Int(path.dropFirst("/status/".count)) {
            send(context: context, status: HTTPResponseStatus(statusCode: code), body: "status \(code)")
            return
        }
        if path == "/upload" {
            send(context: context, status: .ok, body: "received \(received.bodyBytes)")
            return
        }
        var text = "\(head.method.rawValue) \(head.uri)\n"
        for (name, value) in head.headers { text += "\(name): \(value)\n" }
        send(context: context, status: .ok, body: text)
    }

    private func stream(context: ChannelHandlerContext, remaining: Int) {
        guard remaining > 0 else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        let chunk = context.channel.allocator.buffer(repeating: UInt8(ascii: "x"), count: 1024)
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(chunk))), promise: nil)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: .milliseconds(10)) {
            let (handler, context) = bound.value
            handler.stream(context: context, remaining: remaining - 1)
        }
    }

    private func send(context: ChannelHandlerContext, status: HTTPResponseStatus, body: String) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        headers.add(name: "Content-Type", value: "text/plain")
        headers.add(name: "Connection", value: "keep-alive, X-Origin-Hop")
        headers.add(name: "X-Origin-Hop", value: "must not reach the client")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
