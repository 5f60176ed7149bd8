#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseAuth
import GatehouseCore
import GatehouseStorage

/// New OAuth 2.0 tokens: the text handed to the client once, and the row that stores only its hash.
enum OAuth2Tokens {
    /// A `mat_` access token for `session`, expiring at `expiresAt`.
    static func access(session: String, now: Date, expiresAt: Date, random: some RandomSource) -> (String, OAuth2AccessToken) {
        let token = TokenFormat.generate(.accessToken, random: random)
        let row = OAuth2AccessToken(
            id: ULID.make(at: now, random: random), sessionId: session, tokenHash: TokenHasher.sha256Hex(token), createdAt: now,
            expiresAt: expiresAt)
        return (token, row)
    }

    /// A `mar_` refresh token for `session`, paired with the access token `accessTokenId`.
    static func refresh(session: String, accessTokenId: String, now: Date, random: some RandomSource) -> (String, OAuth2RefreshToken) {
        let token = TokenFormat.generate(.refreshToken, random: random)
        let row = OAuth2RefreshToken(
            id: ULID.make(at: now, random: random), sessionId: session, accessTokenId: accessTokenId,
            tokenHash: TokenHasher.sha256Hex(token), createdAt: now)
        return (token, row)
    }
}

/// The scope tokens of a session as the token endpoint reads them.
enum OAuth2Scope {
    /// The tokens of a space-separated scope, without empty ones.
    static func tokens(_ scope: String) -> [String] {
        scope.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
    }
}

extension Result where Success == AuthorizationScope, Failure == AuthorizationScope.Problem {
    /// The scope the policy (``AuthorizationScope``) accepts, or its refusal as `invalid_scope`.
    func orInvalidScope() throws(OAuth2TokenError) -> AuthorizationScope {
        switch self {
        case .success(let scope): return scope
        case .failure(let problem): throw .invalidScope(problem.description)
        }
    }
}
