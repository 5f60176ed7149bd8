import Foundation
import GatehouseTesting
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import Testing

@testable import GatehouseServer

/// A TLS `proxy_protocol` listener with a real TLS client whose PROXY header and ClientHello leave in
/// one write (one TCP segment, so very likely one read on the server): the header is consumed before
/// TLS, the handshake and the request that follow work, and the header's client is the peer.
struct ProxyProtocolTLSTests {
    /// Puts the PROXY header in front of the first bytes the TLS client writes (its ClientHello).
    final class HeaderBeforeFirstWrite: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        private var header: [UInt8]?

        init(header: [UInt8]) { self.header = header }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            guard let header else { return context.write(data, promise: promise) }
            self.header = nil
            var buffer = context.channel.allocator.buffer(bytes: header)
            var hello = unwrapOutboundIn(data)
            buffer.writeBuffer(&hello)
            context.write(wrapOutboundOut(buffer), promise: promise)
        }
    }

    /// Collects the plaintext until the server closes.
    final class Collector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        private var received: [UInt8] = []
        private let done: EventLoopPromise<[UInt8]>

        init(done: EventLoopPromise<[UInt8]>) { self.done = done }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += Array(unwrapInboundIn(data).readableBytesView)
        }

        func channelInactive(context: ChannelHandlerContext) {
            done.succeed(received)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            // An unclean TLS shutdown after a complete `Connection: close` response is fine here.
            context.close(promise: nil)
        }
    }

    @Test func theHeaderAndTheClientHelloInOneWrite() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-pp-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pair = try SelfSignedCertificate.make(hostNames: ["localhost"])
        try pair.certificatePEM.write(toFile: "\(directory)/cert.pem", atomically: true, encoding: .utf8)
        try pair.keyPEM.write(toFile: "\(directory)/key.pem", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: "\(directory)/key.pem")

        let origin = try await FakeOrigin(group: MultiThreadedEventLoopGroup.singleton)
        let response = try await withTestGateway(
            routes: "*  ^/  proxy origin\n", upstreams: ["origin": origin.port],
            listenerYAML: "proxy_protocol: true\n      tls: {certificate_file: \(directory)/cert.pem, key_file: \(directory)/key.pem}"
        ) { port in
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .none
            configuration.applicationProtocols = ["http/1.1"]
            let context = try NIOSSLContext(configuration: configuration)
            let header = ProxyHeaderParserTests.v2(0x21, 0x11, ProxyHeaderParserTests.ipv4Block)
            let done = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: [UInt8].self)
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        try sync.addHandler(HeaderBeforeFirstWrite(header: header))
                        try sync.addHandler(NIOSSLClientHandler(context: context, serverHostname: nil))
                        try sync.addHandler(Collector(done: done))
                    }
                }
                .connect(host: "127.0.0.1", port: port).get()
            let request = "GET /who HTTP/1.1\r\nHost: matrix.example.org\r\nConnection: close\r\n\r\n"
            try await channel.writeAndFlush(channel.allocator.buffer(string: request)).get()
            return String(decoding: try await done.futureResult.get(), as: UTF8.self)
        }
        #expect(response.hasPrefix("HTTP/1.1 200"), "\(response)")
        #expect(origin.requests.map { $0.header("x-forwarded-for") } == [["203.0.113.7"]])
        #expect(origin.requests.map { $0.header("x-forwarded-proto") } == [["https"]])
        try await origin.stop()
    }
}

@available(*, unavailable)
extension ProxyProtocolTLSTests.HeaderBeforeFirstWrite: Sendable {}

@available(*, unavailable)
extension ProxyProtocolTLSTests.Collector: Sendable {}
