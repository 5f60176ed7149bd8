import Logging
import NIOEmbedded
import Testing

@testable import GatehouseCore
@testable import GatehouseServer

/// ``LoopContext/pool(named:)`` remembers the pool it found last: a request must still get the pool
/// its route names, whatever the request before it went to.
struct LoopContextTests {
    @Test func eachNameGetsItsOwnPoolWhateverWasAskedBefore() throws {
        var upstreams: [String: UpstreamConfiguration] = [:]
        for (name, port) in [("synapse", 9), ("media", 10)] {
            upstreams[name] = UpstreamConfiguration(
                name: name, members: [UpstreamMember(host: "127.0.0.1", port: port)], balance: .roundRobin, connectTimeout: .seconds(5),
                maxIdleConnections: 1, idleConnectionTimeout: .seconds(30), failTimeout: .seconds(2))
        }
        let loop = LoopContext(eventLoop: EmbeddedEventLoop(), upstreams: upstreams, logger: Logger(label: "test"))
        for name in ["synapse", "synapse", "media", "synapse", "media", "media", "synapse"] {
            let pool = try #require(loop.pool(named: name))
            #expect(pool === loop.pools[name], "\(name)")
            #expect(pool.configuration.name == name)
        }
        #expect(loop.pool(named: "nowhere") == nil)
        #expect(loop.pool(named: "media") === loop.pools["media"], "an unknown name leaves the remembered pool alone")
    }
}
