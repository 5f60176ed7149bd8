import Testing

@testable import GatehouseCore

/// `http.listeners[].proxy_protocol`: off unless set, a strict boolean, and refused when no peer could
/// ever send the header.
struct ListenerProxyProtocolConfigurationTests {
    private let withProxyProtocol = ConfigFixture.valid.replacingOccurrences(
        of: "- name: internal\n      binds: [{host: 127.0.0.1, port: 8081}]",
        with: """
            - name: internal
                  binds: [{host: 127.0.0.1, port: 8081}]
                - name: behind-haproxy
                  binds: [{address: "10.0.0.21:8443"}]
                  tls: {certificate_file: cert.pem, key_file: key.pem}
                  proxy_protocol: true
            """)

    @Test func offUnlessSetAndReadPerListener() throws {
        let fixture = try ConfigFixture()
        #expect(withProxyProtocol != ConfigFixture.valid, "fixture edit did not apply")
        #expect(try fixture.load(ConfigFixture.valid).http.listeners.map(\.proxyProtocol) == [false, false])
        let config = try fixture.load(withProxyProtocol)
        #expect(config.http.listeners.map(\.name) == ["public", "internal", "behind-haproxy"])
        #expect(config.http.listeners.map(\.proxyProtocol) == [false, false, true])
    }

    @Test func onlyTrueOrFalse() throws {
        let errors = try ConfigFixture().errors(withProxyProtocol.replacingOccurrences(of: "proxy_protocol: true", with: "proxy_protocol: v2"))
        #expect(errors.contains { $0.contains("http.listeners[2].proxy_protocol: expected true or false") }, "\(errors)")
    }

    @Test func theKeyIsListedAmongTheListenerKeys() throws {
        let errors = try ConfigFixture().errors(withProxyProtocol.replacingOccurrences(of: "proxy_protocol: true", with: "proxy-protocol: true"))
        let message = "http.listeners[2].proxy-protocol: unknown key. Known keys here: binds, name, proxy_protocol, tls"
        #expect(errors.contains { $0.contains(message) }, "\(errors)")
    }

    @Test func refusedWhenNoPeerIsTrusted() throws {
        let fixture = try ConfigFixture()
        let errors = fixture.errors(withProxyProtocol.replacingOccurrences(
            of: "  listeners:", with: "  trusted_proxies: []\n  listeners:"))
        #expect(errors.contains {
            $0.contains("http.listeners[2].proxy_protocol: no peer may send a PROXY header: http.trusted_proxies is empty")
                && $0.contains("List the load balancer's address in http.trusted_proxies")
        }, "\(errors)")
        // Without a proxy_protocol listener, an empty list is fine (nobody's X-Forwarded-For is believed).
        #expect(try fixture.load(ConfigFixture.valid.replacingOccurrences(of: "  listeners:", with: "  trusted_proxies: []\n  listeners:"))
            .http.trustedProxies.isEmpty)
    }
}
