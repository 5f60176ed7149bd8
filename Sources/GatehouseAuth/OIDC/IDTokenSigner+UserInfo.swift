import GatehouseCore
import JWTKit

extension IDTokenSigner {
    /// Signs a userinfo answer for a client that registered `userinfo_signed_response_alg` (OpenID
    /// Connect Core 1.0 §5.3.2): the claims of the JSON answer plus `iss` and `aud`, as MAS signs it,
    /// with the key the id_tokens of that algorithm use. No `iat`/`exp`: the answer is fresh per request,
    /// and MAS adds none.
    /// - Parameters:
    ///   - subject: `sub`, the user's ULID.
    ///   - username: `username`, the localpart.
    ///   - audience: `aud`, the client id.
    ///   - algorithm: the client's registered algorithm.
    /// - Returns: the compact JWS, served as `application/jwt`.
    public func signUserInfo(
        subject: String, username: String, audience: String, algorithm: SigningAlgorithm
    ) async throws(IDTokenSignerError) -> String {
        guard let kid = kids[algorithm] else { throw .noKey(algorithm) }
        let claims = SignedUserInfoClaims(issuer: issuer, audience: audience, subject: subject, username: username)
        do {
            return try await collection.sign(claims, kid: JWKIdentifier(string: kid))
        } catch {
            throw .signing(String(describing: error))
        }
    }
}

/// The claims of a signed userinfo answer: MAS's `SignedUserInfo` (`iss`, `aud`, then the userinfo
/// claims `sub` and `username`).
public struct SignedUserInfoClaims: JWTPayload, Equatable {
    /// `iss`: the issuer, byte for byte the discovery document's `issuer`.
    public var issuer: String
    /// `aud`: the client that asked.
    public var audience: String
    /// `sub`: the user's ULID.
    public var subject: String
    /// `username`: the localpart.
    public var username: String

    enum CodingKeys: String, CodingKey {
        case issuer = "iss"
        case audience = "aud"
        case subject = "sub"
        case username
    }

    /// The answer carries no time claims; the relying party checks `iss` and `aud` against what it
    /// expects, which only it knows.
    /// - Parameter algorithm: the algorithm that verified the signature.
    public func verify(using algorithm: some JWTAlgorithm) async throws {}
}
