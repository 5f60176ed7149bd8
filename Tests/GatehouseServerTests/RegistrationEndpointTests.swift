import Foundation
import GatehouseCore
import GatehouseStorage
import GatehouseTestSupport
import GatehouseTesting
import Testing

@testable import GatehouseServer

/// Always the same bytes, so the client id is known in advance.
private struct FixedRandom: RandomSource {
    func bytes(_ count: Int) -> [UInt8] { Array(repeating: 7, count: count) }
}

/// `POST /oauth2/registration` through the in-process gateway: the `oauth2` route, the body cap,
/// the answers and what ends up in the store (every test on SQLite and on PostgreSQL).
struct RegistrationEndpointTests {
    static let routes = "*  ^/oauth2/  local oauth2  max_body=64KiB"

    /// The gateway over a fresh store of `backend`.
    private static func withGateway(
        _ backend: StoreBackend, extraYAML: String = "", _ body: (_ port: Int, _ store: any IdentityStore, _ clock: ManualClock) async throws -> Void
    ) async throws {
        try await withStore(backend) { store, _ in
            let clock = ManualClock()
            try await withTestGateway(
                routes: routes, upstreams: [:], extraYAML: extraYAML, identityStore: store, clock: clock, random: FixedRandom()
            ) { port in
                try await body(port, store, clock)
            }
        }
    }

    private static func post(_ port: Int, _ json: String, contentType: String = "application/json") async throws -> RawHTTPClient.Response {
        try await request(
            port: port,
            "POST /oauth2/registration HTTP/1.1\r\nHost: localhost\r\nContent-Type: \(contentType)\r\nContent-Length: \(json.utf8.count)\r\n"
                + "Connection: close\r\n\r\n\(json)")
    }

    @Test(arguments: StoreBackend.allCases) func nativeClientIsRegisteredWith201AndTheFullMetadata(_ backend: StoreBackend) async throws {
        try await Self.withGateway(backend) { port, store, clock in
            let response = try await Self.post(port, #"""
                {"application_type":"native","client_name":"Element X","client_name#fr":"Élément X","client_uri":"https://element.io/",
                 "redirect_uris":["io.element.app:/callback","http://127.0.0.1/callback"],"grant_types":["authorization_code","refresh_token"],
                 "response_types":["code"],"token_endpoint_auth_method":"none","software_statement":"ignored"}
                """#)
            let id = ULID.make(at: clock.now(), random: FixedRandom())
            #expect(response.status == 201)
            #expect(response.header("Cache-Control") == "no-store")
            #expect(response.header("Content-Type") == "application/json")
            #expect(response.header("Access-Control-Allow-Origin") == "*")
            #expect(response.body == #"{"application_type":"native","client_id":"\#(id)","client_id_issued_at":1800000000,"client_name":"Element X","client_name#fr":"Élément X","client_uri":"https://element.io/","grant_types":["authorization_code","refresh_token"],"redirect_uris":["io.element.app:/callback","http://127.0.0.1/callback"],"response_types":["code"],"token_endpoint_auth_method":"none"}"#)
            let stored = try #require(try await store.clients.find(id: id))
            #expect(stored.origin == .dynamic && stored.metadata.clientName["fr"] == "Élément X")
        }
    }

    @Test(arguments: StoreBackend.allCases) func refusalsAreRFC7591JSONNamingTheRule(_ backend: StoreBackend) async throws {
        try await Self.withGateway(backend) { port, store, _ in
            let cases: [(String, String)] = [
                (#"{"client_uri":"https://example.com/","redirect_uris":["https://evil.com/cb"],"token_endpoint_auth_method":"none"}"#,
                 #"{"error":"invalid_redirect_uri","error_description":"redirect_uris[0]: host evil.com is not example.com (the host of client_uri) or a subdomain of it"}"#),
                (#"{"client_uri":"https://example.com/","redirect_uris":["https://example.com/cb#x"],"token_endpoint_auth_method":"none"}"#,
                 #"{"error":"invalid_redirect_uri","error_description":"redirect_uris[0] 'https://example.com/cb#x' has a fragment (#); redirect URIs must not (RFC 6749 §3.1.2)"}"#),
                (#"{"client_uri":"https://example.com/","redirect_uris":["https://example.com/cb"],"grant_types":["implicit"],"token_endpoint_auth_method":"none"}"#,
                 #"{"error":"invalid_client_metadata","error_description":"grant_types: 'implicit' is not allowed; a dynamically registered client may use only authorization_code, refresh_token, urn:ietf:params:oauth:grant-type:device_code"}"#),
                (#"{"client_uri":"https://example.com/","redirect_uris":["https://example.com/cb"],"token_endpoint_auth_method":"client_secret_basic"}"#,
                 #"{"error":"invalid_client_metadata","error_description":"token_endpoint_auth_method 'client_secret_basic' is not allowed: anybody can register a client here, so a secret would not identify it; dynamically registered clients are public clients and must send \"none\" (and use PKCE)"}"#),
                ("{not json", #"{"error":"invalid_request","error_description":"The body is not valid JSON"}"#),
            ]
            for (body, expected) in cases {
                let response = try await Self.post(port, body)
                #expect(response.status == 400, "\(body)")
                #expect(response.header("Cache-Control") == "no-store")
                #expect(response.body == expected)
            }
            let form = try await Self.post(port, "client_uri=https://example.com/", contentType: "application/x-www-form-urlencoded")
            #expect(form.status == 400)
            #expect(form.body.contains(#""error":"invalid_request""#) && form.body.contains("Content-Type: application/json"))
            #expect(try await store.clients.list().isEmpty)
        }
    }

    @Test(arguments: StoreBackend.allCases) func browserClientsGetTheCORSPreflight(_ backend: StoreBackend) async throws {
        try await Self.withGateway(backend) { port, _, _ in
            let preflight = try await request(
                port: port,
                "OPTIONS /oauth2/registration HTTP/1.1\r\nHost: localhost\r\nOrigin: https://app.element.io\r\n"
                    + "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\nConnection: close\r\n\r\n")
            #expect(preflight.status == 204)
            #expect(preflight.header("Access-Control-Allow-Origin") == "*")
            #expect(preflight.header("Access-Control-Allow-Methods") == "POST, OPTIONS")
            #expect(preflight.header("Access-Control-Allow-Headers")?.contains("Content-Type") == true)
            let refused = try await Self.post(port, "{}")
            #expect(refused.status == 400 && refused.header("Access-Control-Allow-Origin") == "*")
        }
    }

    @Test(arguments: StoreBackend.allCases) func registrationsPerAddressAreLimited(_ backend: StoreBackend) async throws {
        let yaml = "rate_limiting: {client_registration: {burst: 2, per_second: 0.01}}"
        try await Self.withGateway(backend, extraYAML: yaml) { port, store, clock in
            let body = #"{"client_uri":"https://example.com/","redirect_uris":["https://example.com/cb"],"token_endpoint_auth_method":"none"}"#
            #expect(try await Self.post(port, body).status == 201)
            // Refused registrations count too: they cost a parse.
            #expect(try await Self.post(port, "{}").status == 400)
            let limited = try await Self.post(port, body)
            #expect(limited.status == 429)
            #expect(limited.header("Retry-After") == "100")
            #expect(limited.header("Cache-Control") == "no-store")
            #expect(limited.body == #"{"error":"temporarily_unavailable","error_description":"Too many client registrations from this address; try again in 100 s"}"#)
            // The preflight and wrong methods are not counted.
            let options = try await request(port: port, "OPTIONS /oauth2/registration HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            #expect(options.status == 204)
            clock.advance(by: 100)
            #expect(try await Self.post(port, body).status == 201)
            #expect(try await Self.post(port, body).status == 429)
            #expect(try await store.clients.list().count == 1)
        }
    }

    @Test(arguments: StoreBackend.allCases) func onlyPostAndBodiesOver64KiBAreRefusedBeforeParsing(_ backend: StoreBackend) async throws {
        try await Self.withGateway(backend) { port, store, _ in
            let get = try await request(port: port, "GET /oauth2/registration HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            #expect(get.status == 405)
            #expect(get.header("Allow") == "POST, OPTIONS")
            let huge = #"{"client_name":""# + String(repeating: "x", count: 70_000) + #""}"#
            let tooLarge = try await Self.post(port, huge)
            #expect(tooLarge.status == 413)
            #expect(try await store.clients.list().isEmpty)
        }
    }
}
