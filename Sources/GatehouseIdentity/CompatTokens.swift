#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseAuth
import GatehouseCore
import GatehouseStorage

/// New compat tokens: the text handed to the client once, and the row that stores only its hash.
enum CompatTokens {
    /// An `mct_` access token for `session`, expiring at `expiresAt` (`nil`: never).
    static func access(session: String, now: Date, expiresAt: Date?, random: some RandomSource) -> (String, CompatAccessToken) {
        let token = TokenFormat.generate(.compatAccessToken, random: random)
        let row = CompatAccessToken(
            id: ULID.make(at: now, random: random), sessionId: session, tokenHash: TokenHasher.sha256Hex(token), createdAt: now,
            expiresAt: expiresAt)
        return (token, row)
    }

    /// An `mcr_` refresh token for `session`, paired with the access token `accessTokenId`.
    static func refresh(session: String, accessTokenId: String, now: Date, random: some RandomSource) -> (String, CompatRefreshToken) {
        let token = TokenFormat.generate(.compatRefreshToken, random: random)
        let row = CompatRefreshToken(
            id: ULID.make(at: now, random: random), sessionId: session, accessTokenId: accessTokenId,
            tokenHash: TokenHasher.sha256Hex(token), createdAt: now)
        return (token, row)
    }
}
