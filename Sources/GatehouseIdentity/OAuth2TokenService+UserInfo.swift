import GatehouseAuth
import GatehouseCore
import GatehouseStorage

extension OAuth2TokenService {
    /// What the userinfo endpoint answers a client (OpenID Connect Core 1.0 §5.3.2).
    public enum UserInfoAnswer: Sendable, Equatable {
        /// `application/json`: `{"sub", "username"}`.
        case json(UserInfo)
        /// `application/jwt`: the same claims with `iss` and `aud`, signed with the client's
        /// `userinfo_signed_response_alg` (compact JWS).
        case jwt(String)
    }

    /// `GET|POST /oauth2/userinfo`: who a live `mat_` token with the `openid` scope acts for, as JSON,
    /// or as a signed JWT when the token's client registered `userinfo_signed_response_alg` (as MAS).
    /// - Parameter accessToken: the bearer token.
    /// - Returns: `nil` when the token is not such a token (the endpoint answers 401).
    /// - Throws: `temporarily_unavailable` when the store fails; `server_error` when the client's
    ///   algorithm has no key any more (`secrets.keys` changed since it registered).
    public func userInfo(accessToken: String) async throws(OAuth2TokenError) -> UserInfoAnswer? {
        guard case .success(.accessToken) = TokenFormat.check(accessToken) else { return nil }
        let now = clock.now()
        let found: OAuth2TokenLookup<OAuth2AccessToken>?
        do {
            found = try await store.oauth2Sessions.lookupAccessToken(hash: TokenHasher.sha256Hex(accessToken))
        } catch {
            throw .unavailable
        }
        guard let found, found.token.revokedAt == nil, found.token.expiresAt > now, found.session.finishedAt == nil,
            let user = found.user, user.isActive, OAuth2Scope.tokens(found.session.scope).contains("openid")
        else { return nil }
        if found.token.firstUsedAt == nil {
            // The client holds this token: a refresh retry that would kill it is no longer a lost answer.
            try? await store.oauth2Sessions.markUsed(accessTokenId: found.token.id, at: now)
        }
        let info = UserInfo(subject: user.id, username: user.username)
        let client: OAuth2Client?
        do {
            client = try await store.clients.find(id: found.session.clientId)
        } catch {
            throw .unavailable
        }
        guard let algorithm = client?.metadata.userinfoSignedResponseAlg else { return .json(info) }
        guard let signer else {
            logger.error("userinfo: the client registered a signed answer but no signing key is configured (secrets.keys)")
            throw .internalError
        }
        do {
            return .jwt(try await signer.signUserInfo(subject: info.subject, username: info.username, audience: found.session.clientId, algorithm: algorithm))
        } catch {
            logger.error(
                "userinfo: could not sign the answer; is the client's userinfo_signed_response_alg still in secrets.keys?",
                metadata: ["client": "\(found.session.clientId)", "algorithm": "\(algorithm.rawValue)", "error": "\(error)"])
            throw .internalError
        }
    }
}
