import GatehouseCore
import NIOEmbedded
import Testing

@testable import GatehouseServer

struct UpstreamConnectionTests {
    /// The access log and proxy warnings name the member a request went to; the name is made once
    /// per connection, and must read as the member did when it was made per request.
    @Test(arguments: [UpstreamMember(host: "127.0.0.1", port: 8008), UpstreamMember(host: "::1", port: 8448)])
    func namesItsMemberAsTheLogDoes(member: UpstreamMember) throws {
        let connection = UpstreamConnection(channel: EmbeddedChannel(), memberIndex: 0, member: member, handler: UpstreamHandler())
        #expect(connection.memberDescription == "\(member)")
        #expect(connection.memberDescription == (member.host == "::1" ? "[::1]:8448" : "127.0.0.1:8008"))
    }
}
