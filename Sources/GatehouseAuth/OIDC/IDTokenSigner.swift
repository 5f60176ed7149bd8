import Crypto
import CryptoExtras
import GatehouseCore
import JWTKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Signs id_tokens with the keys of `secrets.keys` (OpenID Connect Core 1.0 §2, §3.1.3.6), and the
/// userinfo answers of clients that registered `userinfo_signed_response_alg`
/// (`IDTokenSigner+UserInfo.swift`).
///
/// JOSE is jwt-kit's; this type only chooses the key (the first configured key of the requested
/// algorithm, so older keys stay published for verification after a rotation), fills the claims from
/// the injected clock, and computes `at_hash` / `c_hash`.
public struct IDTokenSigner: Sendable {
    /// How long an id_token is valid (MAS: one hour).
    public static let defaultLifetime: Duration = .seconds(3600)

    let issuer: String
    let collection: JWTKeyCollection
    let kids: [SigningAlgorithm: String]
    private let clock: any WallClock
    private let lifetime: Duration

    /// The algorithms this signer can sign with, sorted.
    public var algorithms: [SigningAlgorithm] { kids.keys.sorted { $0.rawValue < $1.rawValue } }

    /// The id_token algorithm of a client that registered none: RS256, the default of OpenID Connect
    /// Registration §2 (and MAS), when an RSA key is configured; otherwise the only kind of key there is.
    public var defaultAlgorithm: SigningAlgorithm? { kids[.rs256] != nil ? .rs256 : algorithms.first }

    /// - Parameters:
    ///   - issuer: `iss`, the discovery document's `issuer` byte for byte.
    ///   - secrets: the validated `secrets` section.
    ///   - clock: the wall clock for `iat` and `exp`.
    ///   - lifetime: how long tokens are valid.
    public init(issuer: String, secrets: SecretsConfiguration, clock: any WallClock, lifetime: Duration = defaultLifetime) async throws {
        self.issuer = issuer
        self.clock = clock
        self.lifetime = lifetime
        let collection = JWTKeyCollection()
        var kids: [SigningAlgorithm: String] = [:]
        for algorithm in SigningAlgorithm.allCases {
            guard let key = secrets.signingKey(for: algorithm) else { continue }
            let kid = JWKIdentifier(string: key.kid)
            switch key.material {
            case .rsa(let rsa):
                await collection.add(rsa: try Insecure.RSA.PrivateKey(backing: rsa), digestAlgorithm: .sha256, kid: kid)
            case .p256(let ec):
                await collection.add(ecdsa: try ES256PrivateKey(backing: ec), kid: kid)
            }
            kids[algorithm] = key.kid
        }
        self.collection = collection
        self.kids = kids
    }

    /// Signs an id_token.
    /// - Parameters:
    ///   - subject: `sub`.
    ///   - audience: `aud`, the client id.
    ///   - nonce: `nonce` from the authorization request, if any.
    ///   - authTime: when the user authenticated, for `auth_time`.
    ///   - accessToken: the access token issued with this id_token, for `at_hash`.
    ///   - code: the authorization code issued with this id_token, for `c_hash`.
    ///   - algorithm: the JWS algorithm (RS256 unless the client registered another).
    /// - Returns: the compact JWS.
    public func sign(
        subject: String, audience: String, nonce: String? = nil, authTime: Date? = nil,
        accessToken: String? = nil, code: String? = nil, algorithm: SigningAlgorithm = .rs256
    ) async throws(IDTokenSignerError) -> String {
        guard let kid = kids[algorithm] else { throw .noKey(algorithm) }
        let now = Int64(clock.now().timeIntervalSince1970.rounded(.down))
        let claims = IDTokenClaims(
            issuer: issuer, subject: subject, audience: audience, issuedAt: now, expiresAt: now + lifetime.components.seconds,
            nonce: nonce, authTime: authTime.map { Int64($0.timeIntervalSince1970.rounded(.down)) },
            accessTokenHash: accessToken.map { Self.leftHalfHash($0, algorithm: algorithm) },
            codeHash: code.map { Self.leftHalfHash($0, algorithm: algorithm) })
        do {
            return try await collection.sign(claims, kid: JWKIdentifier(string: kid))
        } catch {
            throw .signing(String(describing: error))
        }
    }

    /// `at_hash` / `c_hash` (OpenID Connect Core 1.0 §3.3.2.11): the base64url of the left-most half of
    /// the hash of the ASCII value, with the hash of the JWS algorithm (SHA-256 for RS256 and ES256).
    /// - Parameters:
    ///   - value: the access token or code.
    ///   - algorithm: the id_token's signing algorithm.
    public static func leftHalfHash(_ value: String, algorithm: SigningAlgorithm) -> String {
        let digest: [UInt8]
        switch algorithm {
        case .rs256, .es256: digest = Array(SHA256.hash(data: Array(value.utf8)))
        }
        return Base64URL.encode(Array(digest.prefix(digest.count / 2)))
    }
}

/// Why an id_token could not be signed.
public enum IDTokenSignerError: Error, Equatable, Sendable {
    /// No key of this algorithm is configured in `secrets.keys`.
    case noKey(SigningAlgorithm)
    /// jwt-kit failed to sign (its description).
    case signing(String)
}
