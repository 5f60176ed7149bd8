import GatehouseCore
import Logging
import NIOEmbedded
import Testing

@testable import GatehouseServer

/// ``LoopContext/pool(named:)`` remembers the pool it found last: a request must still get the pool
/// its route names, whatever the request before it went to.
struct LoopContextTests {
    @Test func eachNameGetsItsOwnPoolWhateverWasAskedBefore() throws {
        let upstreams = try ConfigurationLoader.parse(
            yaml: """
                http:
                  public_base: http://localhost/
                  listeners: [{name: test, binds: [{address: "127.0.0.1:0"}]}]
                matrix: {homeserver: localhost, endpoint: "http://127.0.0.1:1/", secret: "test-secret-of-at-least-32-bytes!"}
                database: {path: test.db}
                routes: {files: [test.routes]}
                upstreams:
                  synapse: {members: ["http://127.0.0.1:9"]}
                  media: {members: ["http://127.0.0.1:10"]}
                """, file: "/tmp/gatehouse-embedded/gatehouse.yaml"
        ).upstreams
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
