import JWTKit

/// The claims of an id_token (OpenID Connect Core 1.0 §2 and §3.3.2.11), as Gatehouse issues them.
///
/// Optional claims are left out of the JSON when `nil`, never sent as `null`.
public struct IDTokenClaims: JWTPayload, Equatable {
    /// `iss`: the issuer, byte for byte the discovery document's `issuer`.
    public var issuer: String
    /// `sub`: the user's stable identifier.
    public var subject: String
    /// `aud`: the client the token is for.
    public var audience: String
    /// `iat`, seconds since the epoch.
    public var issuedAt: Int64
    /// `exp`, seconds since the epoch.
    public var expiresAt: Int64
    /// `nonce`: the value the client sent to `/authorize`, when it sent one.
    public var nonce: String?
    /// `auth_time`: when the user last authenticated, seconds since the epoch.
    public var authTime: Int64?
    /// `at_hash`: the access token's left-half hash, when the token is issued with one.
    public var accessTokenHash: String?
    /// `c_hash`: the authorization code's left-half hash, when issued with one.
    public var codeHash: String?

    enum CodingKeys: String, CodingKey {
        case issuer = "iss"
        case subject = "sub"
        case audience = "aud"
        case issuedAt = "iat"
        case expiresAt = "exp"
        case nonce
        case authTime = "auth_time"
        case accessTokenHash = "at_hash"
        case codeHash = "c_hash"
    }

    /// Gatehouse only issues id_tokens; a relying party checks `exp` against its own clock. This
    /// checks what holds whatever the time: the token expires after it was issued.
    /// - Parameter algorithm: the algorithm that verified the signature.
    public func verify(using algorithm: some JWTAlgorithm) async throws {
        guard expiresAt > issuedAt else {
            throw JWTError.claimVerificationFailure(failedClaim: nil, reason: "exp is not after iat")
        }
    }
}
