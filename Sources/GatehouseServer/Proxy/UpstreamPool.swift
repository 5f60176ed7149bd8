import GatehouseCore
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// A keep-alive HTTP/1.1 connection to one member of an upstream pool.
final class UpstreamConnection {
    let channel: any Channel
    let memberIndex: Int
    let member: UpstreamMember
    /// `member` as the access log and warnings name it, made once per connection rather than per request.
    let memberDescription: String
    let handler: UpstreamHandler
    var idleSince: NIODeadline = .now()

    init(channel: any Channel, memberIndex: Int, member: UpstreamMember, handler: UpstreamHandler) {
        self.channel = channel
        self.memberIndex = memberIndex
        self.member = member
        self.memberDescription = "\(member)"
        self.handler = handler
    }
}

/// A connection handed to a request, and whether it had served a request before (which matters for
/// retries: a reused keep-alive connection may have been closed by the upstream meanwhile).
struct UpstreamLease {
    let connection: UpstreamConnection
    let reused: Bool
}

/// The connections of one upstream pool on one event loop.
///
/// One pool per loop means a request and its upstream connection always share a thread: no locks, no
/// hops, and the proxy path never leaves the event loop. Members are chosen round robin, by fewest
/// active connections, or by the request's ``StickyKey`` (``RendezvousHashing``); a member that
/// refused a connection is skipped for `fail_timeout`.
final class UpstreamPool {
    let configuration: UpstreamConfiguration
    let eventLoop: any EventLoop
    private let logger: Logger
    private let addresses: [SocketAddress?]
    private let rendezvous: RendezvousHashing
    private var idle: [[UpstreamConnection]]
    private var active: [Int]
    private var downUntil: [NIODeadline]
    private var nextMember = 0
    private var sweeper: RepeatedTask?
    private var closed = false

    init(configuration: UpstreamConfiguration, eventLoop: any EventLoop, logger: Logger) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.logger = logger
        // IP literals are resolved once here; names are resolved per connection by NIO.
        self.addresses = configuration.members.map { try? SocketAddress(ipAddress: $0.host, port: $0.port) }
        self.rendezvous = RendezvousHashing(members: configuration.members)
        let count = configuration.members.count
        self.idle = Array(repeating: [], count: count)
        self.active = Array(repeating: 0, count: count)
        self.downUntil = Array(repeating: .uptimeNanoseconds(0), count: count)
    }

    /// Whether members are chosen by the request's ``StickyKey`` (`balance: sticky_user`).
    var isSticky: Bool { configuration.balance == .stickyUser }

    /// An idle connection to `member`, if one is left (else ``connect(member:_:)`` makes one): apart,
    /// so that a request with a connection ready goes on without a completion closure, which costs
    /// an allocation per request.
    func takeIdle(member: Int) -> UpstreamLease? {
        eventLoop.preconditionInEventLoop()
        while let connection = idle[member].popLast() {
            guard connection.channel.isActive else { continue }
            active[member] += 1
            return UpstreamLease(connection: connection, reused: true)
        }
        return nil
    }

    /// Takes a connection back after a request: kept for reuse when the exchange ended cleanly.
    /// - Parameters:
    ///   - connection: the connection the request used.
    ///   - reusable: whether the response and request both completed with keep-alive.
    func release(_ connection: UpstreamConnection, reusable: Bool) {
        eventLoop.preconditionInEventLoop()
        active[connection.memberIndex] -= 1
        connection.handler.exchange = nil
        connection.handler.resumeReads()
        guard reusable, !closed, connection.channel.isActive, idle[connection.memberIndex].count < configuration.maxIdleConnections else {
            connection.channel.close(promise: nil)
            return
        }
        connection.idleSince = .now()
        idle[connection.memberIndex].append(connection)
        startSweeperIfNeeded()
    }

    /// Adds a connection made elsewhere to the idle ones, as if it had served a request: the next
    /// request to its member gets it. Tests hand in connections on `EmbeddedChannel`s this way.
    func adopt(_ connection: UpstreamConnection) {
        eventLoop.preconditionInEventLoop()
        idle[connection.memberIndex].append(connection)
    }

    /// Closes every idle connection and refuses to pool more (shutdown).
    func closeAll() {
        closed = true
        sweeper?.cancel()
        for connections in idle { connections.forEach { $0.channel.close(promise: nil) } }
        idle = idle.map { _ in [] }
    }

    /// The member a request goes to.
    /// - Parameters:
    ///   - avoiding: a member to skip if another is available (the one that just failed).
    ///   - sticky: the request's key, for a `sticky_user` pool (others ignore it).
    func member(avoiding: Int? = nil, sticky: StickyKey? = nil) -> Int {
        eventLoop.preconditionInEventLoop()
        let count = configuration.members.count
        if count == 1 { return 0 }
        let now = NIODeadline.now()
        if let sticky, isSticky,
            let member = rendezvous.member(for: sticky, where: { downUntil[$0] <= now && $0 != avoiding })
        {
            return member
        }
        let candidates = (0..<count).filter { downUntil[$0] <= now && $0 != avoiding }
        guard !candidates.isEmpty else {
            // Every member is marked down: try the one that has been down longest rather than none.
            return (0..<count).filter { $0 != avoiding }.min { downUntil[$0] < downUntil[$1] } ?? 0
        }
        switch configuration.balance {
        case .leastConnections:
            return candidates.min { active[$0] < active[$1] }!
        case .roundRobin, .stickyUser:
            // A sticky pool gets here only for a request with no key at all (no peer address).
            for offset in 0..<count {
                let member = (nextMember + offset) % count
                if candidates.contains(member) {
                    nextMember = member + 1
                    return member
                }
            }
            return candidates[0]
        }
    }

    /// Opens a new connection to `member`.
    /// - Parameter completion: called on this pool's event loop.
    func connect(member: Int, _ completion: @escaping (Result<UpstreamLease, UpstreamConnectError>) -> Void) {
        eventLoop.preconditionInEventLoop()
        let memberConfig = configuration.members[member]
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            // One read (at most 64 KiB) per wake-up: the client's writability is looked at between
            // reads, so a download holds about one read of it in memory, not four.
            .channelOption(.maxMessagesPerRead, value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // One handler: the request goes out as bytes in exactly the framing Gatehouse
                    // decided, and the response is read on bytes.
                    try channel.pipeline.syncOperations.addHandler(UpstreamHandler())
                }
            }
        let future: EventLoopFuture<any Channel>
        if let address = addresses[member] {
            future = bootstrap.connect(to: address)
        } else {
            future = bootstrap.connect(host: memberConfig.host, port: memberConfig.port)
        }
        active[member] += 1
        let loopBound = NIOLoopBound((self, completion), eventLoop: eventLoop)
        future.whenComplete { result in
            let (pool, completion) = loopBound.value
            // The handler is made inside the channel initializer (on the channel's own loop, which is
            // this pool's) and looked up here, so it never crosses an isolation boundary.
            let connected = result.flatMap { channel in
                Result { (channel, try channel.pipeline.syncOperations.handler(type: UpstreamHandler.self)) }
            }
            switch connected {
            case .success(let (channel, handler)):
                let connection = UpstreamConnection(channel: channel, memberIndex: member, member: memberConfig, handler: handler)
                handler.onClose = { [weak pool, weak connection] in
                    guard let pool, let connection else { return }
                    pool.forget(connection)
                }
                completion(.success(UpstreamLease(connection: connection, reused: false)))
            case .failure(let error):
                pool.active[member] -= 1
                pool.downUntil[member] = .now() + TimeAmount(pool.configuration.failTimeout)
                pool.logger.warning("upstream connect failed", metadata: [
                    "upstream": "\(pool.configuration.name)", "member": "\(memberConfig)", "error": "\(error)",
                ])
                completion(.failure(UpstreamConnectError(member: memberConfig, underlying: "\(error)")))
            }
        }
    }

    /// Drops a closed connection from the idle list (it may close while idle: upstream keep-alive timeout).
    private func forget(_ connection: UpstreamConnection) {
        if let index = idle[connection.memberIndex].firstIndex(where: { $0 === connection }) {
            idle[connection.memberIndex].remove(at: index)
        }
    }

    private func startSweeperIfNeeded() {
        guard sweeper == nil else { return }
        let interval = max(TimeAmount.seconds(1), .nanoseconds(TimeAmount(configuration.idleConnectionTimeout).nanoseconds / 2))
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        sweeper = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            loopBound.value.closeExpiredIdleConnections()
        }
    }

    private func closeExpiredIdleConnections() {
        let cutoff = NIODeadline.now() - TimeAmount(configuration.idleConnectionTimeout)
        for member in idle.indices {
            let (expired, fresh) = idle[member].reduce(into: ([UpstreamConnection](), [UpstreamConnection]())) { result, connection in
                if connection.idleSince < cutoff { result.0.append(connection) } else { result.1.append(connection) }
            }
            idle[member] = fresh
            expired.forEach { $0.channel.close(promise: nil) }
        }
    }
}

/// No connection could be opened to an upstream member.
struct UpstreamConnectError: Error {
    let member: UpstreamMember
    let underlying: String
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
