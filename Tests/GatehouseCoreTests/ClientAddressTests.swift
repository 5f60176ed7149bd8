import Testing

@testable import GatehouseCore

struct ClientAddressTests {
    /// A load balancer on 10.0.0.0/8 and the loopback proxies.
    let trusted = ["10.0.0.0/8", "127.0.0.0/8", "::1/128", "fd00::/8"].compactMap(IPNetwork.parse)

    func resolve(_ peer: String?, _ forwardedFor: [String]) -> String? {
        ClientAddress.resolve(peer: peer, forwardedFor: forwardedFor, trustedProxies: trusted)
    }

    @Test func anUntrustedPeerIgnoresForwardedFor() {
        #expect(resolve("203.0.113.9", ["198.51.100.1"]) == "203.0.113.9")
        #expect(resolve("203.0.113.9", ["10.0.0.1, 198.51.100.1"]) == "203.0.113.9")
        #expect(resolve("203.0.113.9", []) == "203.0.113.9")
        #expect(ClientAddress.resolve(peer: "127.0.0.1", forwardedFor: ["198.51.100.1"], trustedProxies: []) == "127.0.0.1",
            "no trusted proxies configured")
    }

    @Test func aTrustedPeerWithOneHop() {
        #expect(resolve("127.0.0.1", ["198.51.100.1"]) == "198.51.100.1")
        #expect(resolve("127.0.0.1", [" 198.51.100.1 "]) == "198.51.100.1")
        #expect(resolve("127.0.0.1", []) == "127.0.0.1", "no header: the proxy itself")
        #expect(resolve("127.0.0.1", [""]) == "127.0.0.1")
    }

    @Test func aTrustedPeerWithSeveralHops() {
        // Client → 10.1.1.1 (trusted) → 127.0.0.1 (peer); the client prepended its own guess.
        #expect(resolve("127.0.0.1", ["1.2.3.4, 198.51.100.1, 10.1.1.1"]) == "198.51.100.1")
        // The same hops spread over several header lines, in order.
        #expect(resolve("127.0.0.1", ["1.2.3.4", "198.51.100.1,10.1.1.1"]) == "198.51.100.1")
        #expect(resolve("127.0.0.1", ["1.2.3.4, 198.51.100.1", "10.1.1.1"]) == "198.51.100.1")
        // Only the right-most untrusted entry counts, whatever is left of it.
        #expect(resolve("127.0.0.1", ["10.9.9.9, 203.0.113.5, 10.1.1.1"]) == "203.0.113.5")
        #expect(resolve("127.0.0.1", ["198.51.100.1,,10.1.1.1,"]) == "198.51.100.1", "empty entries are skipped")
    }

    @Test func whenEveryHopIsTrustedTheLeftMostIsUsed() {
        #expect(resolve("127.0.0.1", ["10.3.3.3, 10.2.2.2, 10.1.1.1"]) == "10.3.3.3")
        #expect(resolve("::1", ["fd00::5"]) == "fd00::5")
    }

    @Test func garbageStopsTheWalkAtTheLastTrustedHop() {
        #expect(resolve("127.0.0.1", ["unknown"]) == "127.0.0.1")
        #expect(resolve("127.0.0.1", ["198.51.100.1, evil.example, 10.1.1.1"]) == "10.1.1.1")
        #expect(resolve("127.0.0.1", ["198.51.100.1, 1.2.3.4.5"]) == "127.0.0.1")
        #expect(resolve("127.0.0.1", ["198.51.100.1, <script>"]) == "127.0.0.1")
        #expect(resolve("127.0.0.1", ["198.51.100.1, 10.1.1.1:99999"]) == "127.0.0.1", "bad port")
        #expect(resolve("127.0.0.1", ["198.51.100.1, [198.51.100.2]"]) == "127.0.0.1", "brackets are for IPv6")
        // An untrusted client that sends garbage still only gets its own address.
        #expect(resolve("203.0.113.9", ["garbage"]) == "203.0.113.9")
    }

    @Test func noUsablePeerGivesNil() {
        #expect(resolve(nil, ["198.51.100.1"]) == nil)
        #expect(resolve("not-an-ip", ["198.51.100.1"]) == nil)
        #expect(resolve("", []) == nil)
    }

    @Test func ipv6IsNormalised() {
        #expect(resolve("2001:DB8:0:0:0:0:0:1", []) == "2001:db8::1")
        #expect(resolve("::1", ["2001:0db8:0000:0000:0001:0000:0000:0001"]) == "2001:db8::1:0:0:1", "first longest run")
        #expect(resolve("::1", ["2001:db8:0:0:1:0:0:0"]) == "2001:db8:0:0:1::", "longest run wins")
        #expect(resolve("::1", ["2001:db8:0:1:1:1:1:1"]) == "2001:db8:0:1:1:1:1:1", "a single zero group is not compressed")
        #expect(resolve("::1", ["[2001:db8::7]:443"]) == "2001:db8::7")
        #expect(resolve("::1", ["[2001:db8::7]"]) == "2001:db8::7")
        #expect(resolve("[::1]", ["2001:db8::7"]) == "2001:db8::7", "bracketed peer")
        #expect(resolve("fe80::1%eth0", []) == "fe80::1", "zone dropped")
        #expect(resolve("::", []) == "::")
        #expect(resolve("::1", ["fd00::1, ::1"]) == "fd00::1")
        #expect(resolve("::1", ["10.1.1.1, ::1"]) == "10.1.1.1", "mixed families")
        #expect(resolve("::1", ["2001:db8::7, 10.1.1.1:8080"]) == "2001:db8::7", "IPv4 hop with a port")
    }

    @Test func ipv4MappedIPv6IsTheIPv4Address() {
        #expect(resolve("::ffff:203.0.113.9", []) == "203.0.113.9")
        #expect(resolve("::FFFF:cb00:7109", []) == "203.0.113.9")
        // A mapped peer inside an IPv4 trusted network is trusted.
        #expect(resolve("::ffff:127.0.0.1", ["::ffff:198.51.100.1"]) == "198.51.100.1")
        #expect(resolve("127.0.0.1", ["::ffff:10.1.1.1"]) == "10.1.1.1", "all trusted: the left-most, normalised")
        // A plain IPv4 peer inside a trusted network written in mapped form is trusted too.
        let mappedNetwork = [IPNetwork.parse("::ffff:192.0.2.0/120")!]
        #expect(ClientAddress.resolve(peer: "192.0.2.10", forwardedFor: ["198.51.100.1"], trustedProxies: mappedNetwork) == "198.51.100.1")
        #expect(ClientAddress.normalize("::ffff:1.2.3.4") == ClientAddress.normalize("1.2.3.4"))
        #expect(ClientAddress.normalize("nope") == nil)
    }
}
