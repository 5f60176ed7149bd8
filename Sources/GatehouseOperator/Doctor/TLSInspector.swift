import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// Opens two TLS connections to the public URL: one that accepts any certificate, to read the leaf
/// whatever is wrong with it, and one that verifies the chain against the system's roots (and an
/// optional extra CA file) without checking the host name, to tell "untrusted" from "wrong name".
/// A leaf that is itself in the CA file counts as trusted (a pinned development certificate).
public struct TLSInspector: Sendable {
    let group: any EventLoopGroup
    /// A PEM file of extra trusted certificates (`doctor --ca-file`), e.g. the self-signed one.
    let caFile: String?
    let timeout: TimeAmount

    /// - Parameters:
    ///   - group: the event loops to connect on.
    ///   - caFile: extra trust anchors (PEM), or `nil`.
    ///   - timeout: per connection and handshake.
    public init(group: any EventLoopGroup, caFile: String?, timeout: TimeAmount = .seconds(10)) {
        self.group = group
        self.caFile = caFile
        self.timeout = timeout
    }

    /// Inspects `host:port`.
    /// - Parameters:
    ///   - host: the public host name (SNI), or an IP address (no SNI then).
    ///   - port: the public port.
    public func inspect(host: String, port: Int) async -> Result<TLSInspection, ProbeFailure> {
        var anyCertificate = TLSConfiguration.makeClientConfiguration()
        anyCertificate.certificateVerification = .none
        let leaf: NIOSSLCertificate
        do {
            guard let certificate = try await handshake(host: host, port: port, configuration: anyCertificate) else {
                return .failure(ProbeFailure("the server sent no certificate"))
            }
            leaf = certificate
        } catch {
            return .failure(ProbeFailure("\(error)"))
        }
        let summary: CertificateSummary
        do {
            summary = try CertificateSummary(der: leaf.toDERBytes())
        } catch {
            return .failure(ProbeFailure("the server's certificate does not parse: \(error)"))
        }
        var verifying = TLSConfiguration.makeClientConfiguration()
        verifying.certificateVerification = .noHostnameVerification
        if let caFile { verifying.additionalTrustRoots = [.file(caFile)] }
        do {
            _ = try await handshake(host: host, port: port, configuration: verifying)
            return .success(TLSInspection(certificate: summary, trustFailure: nil))
        } catch {
            // BoringSSL does not take a leaf certificate (CA:FALSE, like the development one) as a trust
            // anchor; naming that exact certificate in --ca-file trusts it all the same.
            if let caFile, let pinned = try? NIOSSLCertificate.fromPEMFile(caFile),
                let leafDER = try? leaf.toDERBytes(), pinned.contains(where: { (try? $0.toDERBytes()) == leafDER })
            {
                return .success(TLSInspection(certificate: summary, trustFailure: nil))
            }
            return .success(TLSInspection(certificate: summary, trustFailure: "\(error)"))
        }
    }

    /// Connects, completes a handshake and returns the peer's leaf certificate.
    private func handshake(host: String, port: Int, configuration: TLSConfiguration) async throws -> NIOSSLCertificate? {
        let context = try NIOSSLContext(configuration: configuration)
        let serverName = CertificateSummary.normalizedIP(host) == nil ? host : nil
        let eventLoop = group.next()
        let handshakeDone = eventLoop.makePromise(of: Void.self)
        let timeout = self.timeout
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(timeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverName))
                        try channel.pipeline.syncOperations.addHandler(HandshakeWatcher(done: handshakeDone))
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            handshakeDone.fail(error)
            throw error
        }
        let deadline = eventLoop.scheduleTask(in: timeout) { handshakeDone.fail(ProbeFailure("no TLS handshake within \(timeout.nanoseconds / 1_000_000_000) s")) }
        defer {
            deadline.cancel()
            channel.close(promise: nil)
        }
        try await handshakeDone.futureResult.get()
        return try await channel.nioSSL_peerCertificate().get()
    }
}

/// Completes a promise when the TLS handshake finishes or the connection fails first.
private final class HandshakeWatcher: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let done: EventLoopPromise<Void>

    init(done: EventLoopPromise<Void>) {
        self.done = done
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent { done.succeed(()) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        done.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        done.fail(ProbeFailure("the server closed the connection during the TLS handshake"))
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension HandshakeWatcher: Sendable {}
