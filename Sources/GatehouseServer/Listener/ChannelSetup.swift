import GatehouseCore
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOSSL

/// Builds the pipeline of an accepted connection (the accept phase): on a `proxy_protocol` listener the
/// PROXY header first, then TLS, then ALPN picks HTTP/2 or HTTP/1.1, each with parser limits, and a
/// ``GatewayHandler`` per connection (HTTP/1) or per stream (HTTP/2, kept by the connection's
/// ``HTTP2GatewayHandler``).
struct ChannelSetup: Sendable {
    let runtime: GatewayRuntime
    let contexts: LoopContexts
    let tls: NIOSSLContext?
    let hsts: String?
    let admission: ConnectionAdmission
    /// `http.listeners[].proxy_protocol`: every connection comes from a trusted proxy and starts with a
    /// PROXY header, whose client becomes the connection's peer address.
    var proxyProtocol = false

    func initialize(_ channel: any Channel) -> EventLoopFuture<Void> {
        guard proxyProtocol else {
            guard admission.admit(channel) else {
                return channel.eventLoop.makeFailedFuture(ConnectionRefused())
            }
            return configure(channel, peer: channel.remoteAddress?.ipAddress)
        }
        return initializeBehindProxy(channel)
    }

    /// A `proxy_protocol` listener: only a peer in `http.trusted_proxies` may speak, and only after a
    /// PROXY header; the client it names is the peer address from then on (rate limits, the access log,
    /// `X-Forwarded-For`, sticky upstreams, session activity, the per-address connection cap).
    private func initializeBehindProxy(_ channel: any Channel) -> EventLoopFuture<Void> {
        let tcpPeer = channel.remoteAddress?.ipAddress
        guard let tcpPeer, ClientAddress.isTrustedProxy(tcpPeer, trustedProxies: runtime.configuration.http.trustedProxies) else {
            // Closed before a byte is read: whatever it sent is never looked at.
            runtime.logger.notice("closing a connection: the peer is not in http.trusted_proxies and this listener expects a PROXY header",
                metadata: ["listener": "\(admission.listener)", "peer": "\(tcpPeer ?? "-")"])
            return channel.eventLoop.makeFailedFuture(ConnectionRefused())
        }
        guard admission.admitBeforeProxyHeader(channel) else {
            return channel.eventLoop.makeFailedFuture(ConnectionRefused())
        }
        let admission = self.admission
        let reader = ProxyHeaderHandler(
            timeout: TimeAmount(runtime.timeouts.header), listener: admission.listener, logger: runtime.logger
        ) { channel, header in
            let client = header.clientAddress ?? tcpPeer
            guard admission.admitProxiedClient(client, of: channel) else {
                return channel.eventLoop.makeFailedFuture(ConnectionRefused())
            }
            return self.configure(channel, peer: client)
        }
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(reader)
        }
    }

    /// Everything after admission (and after the PROXY header): TLS and ALPN, or plain HTTP/1.1.
    /// - Parameter peer: the client's address for ``ConnectionInfo/peerAddress``.
    private func configure(_ channel: any Channel, peer: String?) -> EventLoopFuture<Void> {
        let loop = contexts.context(for: channel.eventLoop)
        guard let tls else {
            let info = ConnectionInfo(isHTTP2: false, isTLS: false, peerAddress: peer, hsts: nil)
            return configureHTTP1(channel, loop: loop, info: info)
        }
        let hsts = self.hsts
        // A client that never completes the TLS handshake (and ALPN) is cut after the header timeout.
        let handshakeTimer = channel.eventLoop.scheduleTask(in: TimeAmount(runtime.timeouts.header)) {
            channel.close(promise: nil)
        }
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
        }.flatMap {
            channel.configureHTTP2SecureUpgrade(
                h2ChannelConfigurator: { channel in
                    handshakeTimer.cancel()
                    return self.configureHTTP2(channel, loop: loop, info: ConnectionInfo(isHTTP2: true, isTLS: true, peerAddress: peer, hsts: hsts))
                },
                http1ChannelConfigurator: { channel in
                    handshakeTimer.cancel()
                    return self.configureHTTP1(channel, loop: loop, info: ConnectionInfo(isHTTP2: false, isTLS: true, peerAddress: peer, hsts: hsts))
                })
        }
    }

    private func configureHTTP1(_ channel: any Channel, loop: LoopContext, info: ConnectionInfo) -> EventLoopFuture<Void> {
        let runtime = self.runtime
        return channel.eventLoop.makeCompletedFuture {
            let sync = channel.pipeline.syncOperations
            // No HTTP codec: GatewayHandler reads requests and writes responses as bytes
            // (HTTP1RequestReader, with the limits of `limits`), and handles pipelining itself.
            // Over TLS, a small response's head and body leave as one record.
            if info.isTLS { try sync.addHandler(WriteCoalescingHandler()) }
            try sync.addHandler(GatewayHandler(runtime: runtime, loop: loop, info: info))
        }
    }

    private func configureHTTP2(_ channel: any Channel, loop: LoopContext, info: ConnectionInfo) -> EventLoopFuture<Void> {
        let window = 1 << 20
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: 256),
            HTTP2Setting(parameter: .maxHeaderListSize, value: runtime.limits.maxHeaderBytes),
            HTTP2Setting(parameter: .initialWindowSize, value: window),
        ]
        // Gatehouse checks every request header block itself, as strictly (pseudo-headers, names,
        // values, connection-specific fields, `te`; ``HTTP2RequestHead``), and writes only
        // lower-case, checked fields in its responses; NIO's own pass over every field both ways
        // cost about a tenth of an HTTP/2 request. DATA is still checked against content-length.
        connection.headerBlockValidation = .disabled
        let runtime = self.runtime
        return channel.eventLoop.makeCompletedFuture {
            let sync = channel.pipeline.syncOperations
            // Between TLS and the HTTP/2 handler: the streams' flushes leave as one write per tick, an
            // error GOAWAY ends the connection, and Gatehouse's settings apply from the first request
            // (HTTP2ConnectionEdge). The frames written before a flush are sealed as one TLS record.
            try sync.addHandler(WriteCoalescingHandler())
            try sync.addHandler(HTTP2ConnectionEdge(grace: .seconds(2)))
            // No stream multiplexer: NIO passes every frame to one handler that keeps a GatewayHandler
            // per stream (no channel, pipeline or promises per stream), and does the streams' flow
            // control itself.
            let lifecycle = HTTP2ConnectionLifecycle(idle: TimeAmount(runtime.timeouts.idle))
            let gateway = HTTP2GatewayHandler(
                runtime: runtime, loop: loop, info: info, connectionWindow: window, streamWindow: window, lifecycle: lifecycle)
            try sync.addHandler(NIOHTTP2Handler(mode: .server, frameDelegate: HTTP2SentFrames(gateway: gateway), connectionConfiguration: connection))
            try sync.addHandler(gateway)
            try sync.addHandler(lifecycle)
        }
    }
}

/// A connection over a listener's caps (see ``ConnectionAdmission``); NIO closes it.
struct ConnectionRefused: Error {}
