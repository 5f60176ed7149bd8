import Foundation
import GatehouseStorage
import GatehouseTestSupport

/// Fixtures for the OAuth 2.0 repositories, at whole milliseconds.
extension Fixture {
    static func browserSession(_ id: String, user: User, at seconds: Double = 0) -> BrowserSession {
        BrowserSession(id: id, userId: user.id, createdAt: at(seconds), authenticatedAt: at(seconds), userAgent: "Firefox")
    }

    static func grant(_ id: String, client: String = "client-1", at seconds: Double = 0) -> AuthorizationGrant {
        AuthorizationGrant(
            id: id, clientId: client, redirectURI: "https://app.example/cb", scope: "openid urn:matrix:client:api:*", state: "st",
            nonce: "n", codeChallenge: "challenge", responseMode: .query, createdAt: at(seconds))
    }

    static func deviceGrant(_ id: String, userCode: String, at seconds: Double = 0, lifetime: Double = 1200) -> DeviceCodeGrant {
        DeviceCodeGrant(
            id: id, clientId: "client-1", scope: "urn:matrix:client:api:*", deviceCodeHash: "hash-\(id)", userCode: userCode,
            createdAt: at(seconds), expiresAt: at(seconds + lifetime))
    }

    static func oauth2Session(_ id: String, user: User?, device: String?, at seconds: Double = 0) -> OAuth2Session {
        OAuth2Session(
            id: id, clientId: "client-1", userId: user?.id, scope: device.map { "urn:matrix:client:device:\($0)" } ?? "", deviceId: device,
            createdAt: at(seconds))
    }

    static func oauth2AccessToken(_ id: String, session: OAuth2Session, at seconds: Double = 0) -> OAuth2AccessToken {
        OAuth2AccessToken(id: id, sessionId: session.id, tokenHash: "hash-\(id)", createdAt: at(seconds), expiresAt: at(seconds + 300))
    }

    static func oauth2RefreshToken(_ id: String, session: OAuth2Session, accessToken: OAuth2AccessToken, at seconds: Double = 0)
        -> OAuth2RefreshToken
    {
        OAuth2RefreshToken(id: id, sessionId: session.id, accessTokenId: accessToken.id, tokenHash: "hash-\(id)", createdAt: at(seconds))
    }
}
