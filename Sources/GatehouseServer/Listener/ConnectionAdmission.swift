import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Caps the client connections a listener holds open, in total and per client address, so that one
/// client (or a flood of idle connections) cannot use up the process's file descriptors: a listener
/// always leaves room for the others, the internal one Synapse uses included, and for upstream
/// connections. A connection over a cap is closed as soon as it is accepted, before TLS; on a
/// `proxy_protocol` listener the per-address cap counts the client the PROXY header names (every TCP
/// peer there is the load balancer), once the header is read.
final class ConnectionAdmission: Sendable {
    let listener: String
    let maxTotal: Int
    let maxPerAddress: Int
    private let logger: Logger
    private let state = NIOLockedValueBox(State())

    private struct State {
        var total = 0
        var perAddress: [String: Int] = [:]
        var lastWarning = NIODeadline.uptimeNanoseconds(0)
    }

    /// - Parameters:
    ///   - listener: the listener's name, for the log.
    ///   - maxTotal: open connections allowed on this listener.
    ///   - maxPerAddress: open connections allowed from one IP address.
    ///   - logger: where refusals are reported (at most one line every 10 seconds).
    init(listener: String, maxTotal: Int, maxPerAddress: Int, logger: Logger) {
        self.listener = listener
        self.maxTotal = maxTotal
        self.maxPerAddress = maxPerAddress
        self.logger = logger
    }

    /// Connections open now, for `/metrics` (read at scrape time, never on the request path).
    var openConnections: Int { state.withLockedValue { $0.total } }

    /// Counts the connection in if it fits under both caps, keyed on its TCP peer; it is counted out
    /// when it closes.
    /// - Returns: `false` when the connection must be refused.
    func admit(_ channel: any Channel) -> Bool {
        admit(channel, countsTowardTotal: true, address: channel.remoteAddress?.ipAddress ?? "-")
    }

    /// On a `proxy_protocol` listener, before the header is read: counts the connection toward the
    /// listener's total only, since its client is not known yet (the TCP peer is the load balancer).
    /// - Returns: `false` when the connection must be refused.
    func admitBeforeProxyHeader(_ channel: any Channel) -> Bool {
        admit(channel, countsTowardTotal: true, address: nil)
    }

    /// On a `proxy_protocol` listener, once the header is read: counts the connection toward the cap
    /// of the client the header names.
    /// - Parameters:
    ///   - client: the client's address (or the peer's own, for a header that names none).
    ///   - channel: the connection, already counted by ``admitBeforeProxyHeader(_:)``.
    /// - Returns: `false` when the connection must be refused.
    func admitProxiedClient(_ client: String, of channel: any Channel) -> Bool {
        admit(channel, countsTowardTotal: false, address: client)
    }

    private func admit(_ channel: any Channel, countsTowardTotal: Bool, address: String?) -> Bool {
        let (admitted, warn) = state.withLockedValue { state -> (Bool, Bool) in
            let fromAddress = address.map { state.perAddress[$0, default: 0] } ?? 0
            guard !countsTowardTotal || state.total < maxTotal, fromAddress < maxPerAddress else {
                let now = NIODeadline.now()
                let warn = now - state.lastWarning >= .seconds(10)
                if warn { state.lastWarning = now }
                return (false, warn)
            }
            if countsTowardTotal { state.total += 1 }
            if let address { state.perAddress[address] = fromAddress + 1 }
            return (true, false)
        }
        if warn {
            logger.warning("refusing connections over the limit", metadata: [
                "listener": "\(listener)", "peer": "\(address ?? channel.remoteAddress?.ipAddress ?? "-")",
                "max_connections": "\(maxTotal)", "max_connections_per_address": "\(maxPerAddress)",
            ])
        }
        guard admitted else { return false }
        channel.closeFuture.whenComplete { _ in self.release(countsTowardTotal: countsTowardTotal, address: address) }
        return true
    }

    private func release(countsTowardTotal: Bool, address: String?) {
        state.withLockedValue { state in
            if countsTowardTotal { state.total -= 1 }
            guard let address else { return }
            let remaining = state.perAddress[address, default: 1] - 1
            state.perAddress[address] = remaining > 0 ? remaining : nil
        }
    }
}

/// Pauses a listener for a moment when it cannot accept (EMFILE, ENFILE, ENOBUFS...), and says why
/// at most once every 10 seconds.
///
/// NIO keeps a listening socket registered for reads after a failed `accept`, so with connections
/// waiting in the backlog the event loop would retry at once, forever, at 100% CPU (its
/// `AcceptBackoffHandler` only delays later `read()` calls and does not stop that loop). Turning
/// `autoRead` off unregisters the socket; a timer turns it back on.
final class AcceptBackoff: ChannelInboundHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel

    private let listener: String
    private let logger: Logger
    private let pause: TimeAmount
    private var paused = false
    private var lastWarning = NIODeadline.uptimeNanoseconds(0)
    private var suppressed = 0

    init(listener: String, logger: Logger, pause: TimeAmount = .milliseconds(200)) {
        self.listener = listener
        self.logger = logger
        self.pause = pause
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is IOError else { return context.fireErrorCaught(error) }
        report(error)
        guard !paused, let options = context.channel.syncOptions else { return }
        paused = true
        try? options.setOption(.autoRead, value: false)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: pause) {
            let (handler, context) = bound.value
            handler.paused = false
            guard context.channel.isActive else { return }
            try? context.channel.syncOptions?.setOption(.autoRead, value: true)
        }
    }

    private func report(_ error: any Error) {
        let now = NIODeadline.now()
        guard now - lastWarning >= .seconds(10) else {
            suppressed += 1
            return
        }
        logger.error("cannot accept connections; pausing accepts briefly", metadata: [
            "listener": "\(listener)", "error": "\(error)", "suppressed_since_last": "\(suppressed)",
        ])
        lastWarning = now
        suppressed = 0
    }
}

@available(*, unavailable)
extension AcceptBackoff: Sendable {}
