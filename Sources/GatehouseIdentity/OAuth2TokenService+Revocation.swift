#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseAuth
import GatehouseCore
import GatehouseStorage

extension OAuth2TokenService {
    /// `POST /oauth2/revoke` (RFC 7009): ends the whole session of a live `mat_` or `mar_` token and
    /// deletes its Synapse device before returning, as MAS ends the session.
    ///
    /// Anything that is not a live token of this server (malformed, unknown, compat, already dead, or
    /// of another kind than `token_type_hint` says) changes nothing and is not an error (RFC 7009
    /// §2.2). A live token of another client is `unauthorized_client`.
    /// - Parameters:
    ///   - credentials: the client's credentials (any registered method, `none` included).
    ///   - form: `token` and optional `token_type_hint`.
    public func revoke(credentials: ClientCredentials, form: OAuth2Form) async throws(OAuth2TokenError) {
        let client = try await authenticator.authenticate(credentials)
        let token = try form.required("token")
        let hint = try form.optional("token_type_hint")
        guard hint == nil || hint == "access_token" || hint == "refresh_token" else {
            throw OAuth2TokenError(.unsupportedTokenType, "token_type_hint must be access_token or refresh_token")
        }
        guard case .success(let kind) = TokenFormat.check(token) else { return }
        let now = clock.now()
        let session: OAuth2Session
        do {
            switch (kind, hint) {
            case (.accessToken, nil), (.accessToken, "access_token"):
                guard let found = try await store.oauth2Sessions.lookupAccessToken(hash: TokenHasher.sha256Hex(token)),
                    found.token.revokedAt == nil, found.token.expiresAt > now, found.session.finishedAt == nil
                else { return }
                session = found.session
            case (.refreshToken, nil), (.refreshToken, "refresh_token"):
                guard let found = try await store.oauth2Sessions.lookupRefreshToken(hash: TokenHasher.sha256Hex(token)),
                    found.token.revokedAt == nil, found.token.consumedAt == nil, found.session.finishedAt == nil
                else { return }
                session = found.session
            default:
                return
            }
        } catch {
            throw .unavailable
        }
        guard session.clientId == client.id else { throw .unauthorizedClient("The token was issued to another client") }
        do {
            try await terminator.end(session)
        } catch {
            throw .unavailable
        }
    }
}
