import Crypto
import CryptoExtras
import Foundation
import GatehouseCore
import GatehouseTestSupport
import GatehouseTesting
import Testing

@testable import GatehouseServer

/// `id_token_signed_response_alg` and `userinfo_signed_response_alg` (OpenID Connect Registration
/// §2) through the in-process gateway, with an RSA and an EC key configured: registration accepts
/// only an algorithm a key signs with, id_tokens carry the registered algorithm (RS256 without one),
/// and the userinfo answer of a client that registered an algorithm is a JWT that verifies with the
/// published JWKS, as a relying party checks it. Discovery's lists are in `OIDCDiscoveryTests`.
@Suite(.serialized)
struct OIDCSignedResponsesTests {
    typealias F = TokenEndpointsFixture

    /// Registers a native client like the fixture's `public` one (same redirect URI) with `extra` members.
    static func register(_ fixture: F, _ extra: String) async throws -> RawHTTPClient.Response {
        let body = #"{"application_type":"native","client_uri":"https://element.io/","redirect_uris":["io.element.app:/callback"],"#
            + #""token_endpoint_auth_method":"none"\#(extra)}"#
        return try await fixture.post("/oauth2/registration", body, contentType: "application/json")
    }

    static func clientId(_ response: RawHTTPClient.Response) throws -> String {
        try #require(try F.json(response)["client_id"] as? String)
    }

    @Test(arguments: StoreBackend.allCases) func registrationAcceptsOnlyAnAlgorithmAConfiguredKeySignsWith(_ backend: StoreBackend) async throws {
        try await F.run(backend, configuredKeys: true) { fixture in
            let accepted = try await Self.register(fixture, #","id_token_signed_response_alg":"ES256","userinfo_signed_response_alg":"RS256""#)
            #expect(accepted.status == 201, "\(accepted.body)")
            let json = try F.json(accepted)
            #expect(json["id_token_signed_response_alg"] as? String == "ES256" && json["userinfo_signed_response_alg"] as? String == "RS256")
            let stored = try #require(try await fixture.store.clients.find(id: try Self.clientId(accepted)))
            #expect(stored.metadata.idTokenSignedResponseAlg == .es256 && stored.metadata.userinfoSignedResponseAlg == .rs256)

            for (member, value) in [("id_token_signed_response_alg", "PS256"), ("userinfo_signed_response_alg", "none"), ("userinfo_signed_response_alg", "HS256")] {
                let refused = try await Self.register(fixture, #","\#(member)":"\#(value)""#)
                #expect(refused.status == 400 && F.error(refused) == "invalid_client_metadata", "\(member) \(value)")
                let description = try F.json(refused)["error_description"] as? String
                #expect(description == "\(member) '\(value)' is not supported; this server signs with ES256, RS256", "\(description ?? "")")
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func anAlgorithmWithoutAKeyIsRefused(_ backend: StoreBackend) async throws {
        // This gateway's configuration has no `secrets.keys`: nothing can be registered for signing.
        try await F.run(backend) { fixture in
            let refused = try await Self.register(fixture, #","userinfo_signed_response_alg":"ES256""#)
            #expect(refused.status == 400 && F.error(refused) == "invalid_client_metadata")
            #expect(try F.json(refused)["error_description"] as? String
                == "userinfo_signed_response_alg 'ES256' has no signing key on this server; it signs with none (no signing key is configured)")
        }
    }

    @Test(arguments: StoreBackend.allCases) func idTokensAreSignedWithTheRegisteredAlgorithmElseRS256(_ backend: StoreBackend) async throws {
        try await F.run(backend, configuredKeys: true) { fixture in
            let es256 = try Self.clientId(try await Self.register(fixture, #","id_token_signed_response_alg":"ES256""#))
            let plain = try Self.clientId(try await Self.register(fixture, ""))
            let jwks = try await JWKS(fixture)
            for (client, algorithm, kid, grant) in [(es256, "ES256", "ec", "grant-es"), (plain, "RS256", "rsa-1", "grant-rs")] {
                let idToken = try #require(try await fixture.tokens(grant: grant, client: client)["id_token"] as? String)
                let header = try JWKS.part(idToken, 0)
                #expect(header["alg"] as? String == algorithm && header["kid"] as? String == kid, "\(client): \(header)")
                #expect(try jwks.verify(idToken), "the id_token verifies with the published key")
                #expect(try JWKS.part(idToken, 1)["aud"] as? String == client)
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func userInfoIsASignedJWTForAClientThatRegisteredAnAlgorithm(_ backend: StoreBackend) async throws {
        try await F.run(backend, configuredKeys: true) { fixture in
            let jwks = try await JWKS(fixture)
            for (algorithm, kid, grant) in [("ES256", "ec", "grant-ui-es"), ("RS256", "rsa-1", "grant-ui-rs")] {
                let client = try Self.clientId(try await Self.register(fixture, #","userinfo_signed_response_alg":"\#(algorithm)""#))
                let access = try #require(try await fixture.tokens(grant: grant, client: client)["access_token"] as? String)
                let reply = try await fixture.get("/oauth2/userinfo", headers: ["Authorization: Bearer \(access)"])
                #expect(reply.status == 200 && reply.header("Content-Type") == "application/jwt", "\(reply.status) \(reply.body)")
                let header = try JWKS.part(reply.body, 0)
                #expect(header["alg"] as? String == algorithm && header["kid"] as? String == kid)
                #expect(try jwks.verify(reply.body), "\(algorithm): the answer verifies with the published JWKS")
                let claims = try JWKS.part(reply.body, 1)
                #expect(claims["iss"] as? String == "http://localhost/" && claims["aud"] as? String == client)
                #expect(claims["sub"] as? String == "user-alice" && claims["username"] as? String == "alice")
                #expect(Set(claims.keys) == ["iss", "aud", "sub", "username"], "MAS's claims, nothing more")
                let posted = try await fixture.post("/oauth2/userinfo", "access_token=\(access)")
                #expect(posted.status == 200 && posted.header("Content-Type") == "application/jwt")
            }
            // A client without the member still gets JSON.
            let access = try #require(try await fixture.tokens(grant: "grant-ui-json")["access_token"] as? String)
            let json = try await fixture.get("/oauth2/userinfo", headers: ["Authorization: Bearer \(access)"])
            #expect(json.header("Content-Type") == "application/json" && json.body == #"{"sub":"user-alice","username":"alice"}"#)
        }
    }
}

/// The published JWK Set, as a relying party uses it: verifies compact JWS with RS256 or ES256.
private struct JWKS {
    let keys: [String: [String: Any]]

    init(_ fixture: TokenEndpointsFixture) async throws {
        let set = try TokenEndpointsFixture.json(try await fixture.get("/oauth2/keys.json"))
        let list = try #require(set["keys"] as? [[String: Any]])
        keys = Dictionary(uniqueKeysWithValues: list.compactMap { key in (key["kid"] as? String).map { ($0, key) } })
    }

    /// Whether the token's signature verifies with the published key its header names.
    func verify(_ token: String) throws -> Bool {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        try #require(parts.count == 3)
        let header = try Self.part(token, 0)
        let kid = try #require(header["kid"] as? String)
        let key = try #require(keys[kid], "the kid is published")
        let signed = Data((parts[0] + "." + parts[1]).utf8)
        let signature = try Self.decode(parts[2])
        switch header["alg"] as? String {
        case "ES256":
            #expect(key["kty"] as? String == "EC" && key["crv"] as? String == "P-256")
            let x = try Self.decode(try #require(key["x"] as? String))
            let y = try Self.decode(try #require(key["y"] as? String))
            let publicKey = try P256.Signing.PublicKey(rawRepresentation: x + y)
            return publicKey.isValidSignature(try P256.Signing.ECDSASignature(rawRepresentation: signature), for: signed)
        case "RS256":
            #expect(key["kty"] as? String == "RSA")
            let publicKey = try _RSA.Signing.PublicKey(
                n: try Self.decode(try #require(key["n"] as? String)), e: try Self.decode(try #require(key["e"] as? String)))
            return publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: signed, padding: .insecurePKCS1v1_5)
        default:
            return false
        }
    }

    /// The JSON object of a token's header (0) or payload (1).
    static func part(_ token: String, _ index: Int) throws -> [String: Any] {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        try #require(parts.count == 3, "a compact JWS: \(token)")
        return try #require(try JSONSerialization.jsonObject(with: try decode(String(parts[index]))) as? [String: Any])
    }

    static func decode(_ text: String) throws -> Data {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return try #require(Data(base64Encoded: base64))
    }
}
