import Crypto
import CryptoExtras
import Foundation
import GatehouseCore
import JWTKit
import Testing

@testable import GatehouseAuth

/// id_tokens: signed with jwt-kit, verified with the published JWK, claims from the injected clock.
struct IDTokenSignerTests {
    /// Generated once per process (RSA key generation is slow).
    static let rsa = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
    static let olderRSA = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
    static let ec = P256.Signing.PrivateKey()

    static let secrets = SecretsConfiguration(
        encryption: Array(repeating: 7, count: 32),
        keys: [
            SigningKey(kid: "rsa-new", material: .rsa(rsa)),
            SigningKey(kid: "ec-1", material: .p256(ec)),
            SigningKey(kid: "rsa-old", material: .rsa(olderRSA)),
        ])

    /// A verifier that knows only the public JWKS, as a relying party does.
    static func verifier(publishing keys: [SigningKey]) async throws -> JWTKeyCollection {
        try await JWTKeyCollection().add(jwksJSON: "{\"keys\":[" + keys.map(\.publicJWK).joined(separator: ",") + "]}")
    }

    /// The JOSE header of a compact JWS, decoded independently of jwt-kit.
    static func header(_ token: String) throws -> [String: String] {
        var part = String(token.split(separator: ".")[0]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while part.count % 4 != 0 { part += "=" }
        let data = try #require(Data(base64Encoded: part))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: String])
    }

    @Test func rs256TokenVerifiesWithThePublishedKeyAndCarriesTheClaims() async throws {
        let clock = ManualClock(start: Date(timeIntervalSince1970: 1_800_000_000))
        let signer = try await IDTokenSigner(issuer: "https://matrix.example.org/", secrets: Self.secrets, clock: clock)
        #expect(signer.algorithms == [.es256, .rs256])
        clock.advance(by: 42.7)
        let token = try await signer.sign(
            subject: "01JABCDEF", audience: "client-1", nonce: "n-0S6_WzA2Mj", authTime: Date(timeIntervalSince1970: 1_799_999_000),
            accessToken: "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", code: "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk")
        #expect(try Self.header(token) == ["alg": "RS256", "typ": "JWT", "kid": "rsa-new"])
        let claims = try await Self.verifier(publishing: Self.secrets.keys).verify(token, as: IDTokenClaims.self)
        // at_hash / c_hash: the examples of OpenID Connect Core 1.0 Appendix A.3 and A.4 (RS256).
        #expect(claims == IDTokenClaims(
            issuer: "https://matrix.example.org/", subject: "01JABCDEF", audience: "client-1", issuedAt: 1_800_000_042,
            expiresAt: 1_800_003_642, nonce: "n-0S6_WzA2Mj", authTime: 1_799_999_000,
            accessTokenHash: "77QmUPtjPfzWtF2AnpK9RQ", codeHash: "LDktKdoQak3Pk0cnXxCltA"))
    }

    @Test func es256TokenVerifiesWithTheECKey() async throws {
        let signer = try await IDTokenSigner(issuer: "https://matrix.example.org/", secrets: Self.secrets, clock: ManualClock())
        let token = try await signer.sign(subject: "u", audience: "c", accessToken: "token", algorithm: .es256)
        #expect(try Self.header(token)["alg"] == "ES256" && Self.header(token)["kid"] == "ec-1")
        let ecOnly = try await Self.verifier(publishing: [Self.secrets.keys[1]])
        let claims = try await ecOnly.verify(token, as: IDTokenClaims.self)
        #expect(claims.accessTokenHash == IDTokenSigner.leftHalfHash("token", algorithm: .es256))
        #expect(claims.nonce == nil && claims.codeHash == nil && claims.authTime == nil)
        // Optional claims that are absent are left out, not sent as null.
        let payload = String(token.split(separator: ".")[1])
        #expect(!payload.isEmpty)
        #expect(!(try Self.decodedPayload(token)).contains("null"))
    }

    static func decodedPayload(_ token: String) throws -> String {
        var part = String(token.split(separator: ".")[1]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while part.count % 4 != 0 { part += "=" }
        return String(decoding: try #require(Data(base64Encoded: part)), as: UTF8.self)
    }

    /// A token is refused by a verifier that knows only another key (the signature is really checked).
    @Test func anotherKeyDoesNotVerify() async throws {
        let signer = try await IDTokenSigner(issuer: "https://i/", secrets: Self.secrets, clock: ManualClock())
        let token = try await signer.sign(subject: "u", audience: "c")
        let olderOnly = try await JWTKeyCollection().add(
            jwksJSON: "{\"keys\":[" + SigningKey(kid: "rsa-new", material: .rsa(Self.olderRSA)).publicJWK + "]}")
        await #expect(throws: (any Error).self) { try await olderOnly.verify(token, as: IDTokenClaims.self) }
        var tampered = token.split(separator: ".").map(String.init)
        tampered[1] = Base64URL.encode(Array(#"{"iss":"https://i/","sub":"admin","aud":"c","iat":1,"exp":9999999999}"#.utf8))
        await #expect(throws: (any Error).self) {
            try await Self.verifier(publishing: Self.secrets.keys).verify(tampered.joined(separator: "."), as: IDTokenClaims.self)
        }
    }

    @Test func missingAlgorithmIsAnError() async throws {
        let rsaOnly = SecretsConfiguration(encryption: Array(repeating: 0, count: 32), keys: [SigningKey(kid: "r", material: .rsa(Self.rsa))])
        let signer = try await IDTokenSigner(issuer: "https://i/", secrets: rsaOnly, clock: ManualClock())
        await #expect(throws: IDTokenSignerError.noKey(.es256)) { try await signer.sign(subject: "u", audience: "c", algorithm: .es256) }
    }

    /// at_hash computed independently: SHA-256, left 16 bytes, base64url without padding.
    @Test func leftHalfHashMatchesAnIndependentComputation() {
        let value = "mat_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz43"
        let digest = Array(SHA256.hash(data: Data(value.utf8)))
        let expected = Data(digest[0..<16]).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        #expect(IDTokenSigner.leftHalfHash(value, algorithm: .rs256) == expected)
        #expect(expected.count == 22)
    }
}
