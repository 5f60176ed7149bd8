#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A user signed in on Gatehouse's HTML pages (MAS `user_sessions`). The browser holds only its id,
/// inside the encrypted session cookie.
public struct BrowserSession: Sendable, Equatable {
    public var id: String
    public var userId: String
    public var createdAt: Date
    /// The last time the user proved their password in this session (`auth_time` of id_tokens;
    /// `prompt=login` asks again).
    public var authenticatedAt: Date
    /// Signed out (or ended by an administrator); the cookie no longer counts.
    public var finishedAt: Date?
    /// The browser's `User-Agent` when the session started, for the session list.
    public var userAgent: String?
    /// The last recorded page view (see ``SessionActivity``).
    public var lastActiveAt: Date?
    /// The client address of that page view.
    public var lastActiveAddress: String?

    public init(
        id: String, userId: String, createdAt: Date, authenticatedAt: Date, finishedAt: Date? = nil, userAgent: String? = nil,
        lastActiveAt: Date? = nil, lastActiveAddress: String? = nil
    ) {
        self.id = id
        self.userId = userId
        self.createdAt = createdAt
        self.authenticatedAt = authenticatedAt
        self.finishedAt = finishedAt
        self.userAgent = userAgent
        self.lastActiveAt = lastActiveAt
        self.lastActiveAddress = lastActiveAddress
    }
}

/// How the authorization response travels back to the client (OAuth 2.0 Multiple Response Type
/// Encoding Practices; OAuth 2.0 Form Post Response Mode).
public enum ResponseMode: String, Sendable, CaseIterable {
    case query
    case fragment
    case formPost = "form_post"
}

/// One `/authorize` request, from the moment it is accepted until its code is exchanged (MAS
/// `oauth2_authorization_grants`).
///
/// States: pending (neither `fulfilledAt` nor `cancelledAt`); fulfilled (the user consented: the
/// code exists, only as `codeHash`); exchanged (`exchangedAt`, with the session it created);
/// cancelled (the user declined). The code is generated at fulfilment, so a pending grant has no
/// code at all.
public struct AuthorizationGrant: Sendable, Equatable {
    public var id: String
    public var clientId: String
    /// The redirect URI the response goes to, exactly as the request named it (or the client's only
    /// registered one).
    public var redirectURI: String
    /// The scope tokens requested, space-separated, device scope included (generated when absent).
    public var scope: String
    public var state: String?
    public var nonce: String?
    /// The PKCE S256 challenge (required; `plain` is refused before a grant exists).
    public var codeChallenge: String
    public var responseMode: ResponseMode
    /// The `login_hint` as sent (`mxid:@user:server`), for the login page.
    public var loginHint: String?
    public var createdAt: Date
    /// Set at consent: the user and the browser session that consented.
    public var userId: String?
    public var browserSessionId: String?
    public var fulfilledAt: Date?
    /// SHA-256 (lower-case hex) of the authorization code, set at fulfilment.
    public var codeHash: String?
    public var exchangedAt: Date?
    /// The OAuth 2.0 session the exchange created (ended if the code is replayed).
    public var sessionId: String?
    public var cancelledAt: Date?

    public init(
        id: String, clientId: String, redirectURI: String, scope: String, state: String? = nil, nonce: String? = nil,
        codeChallenge: String, responseMode: ResponseMode, loginHint: String? = nil, createdAt: Date, userId: String? = nil,
        browserSessionId: String? = nil, fulfilledAt: Date? = nil, codeHash: String? = nil, exchangedAt: Date? = nil,
        sessionId: String? = nil, cancelledAt: Date? = nil
    ) {
        self.id = id
        self.clientId = clientId
        self.redirectURI = redirectURI
        self.scope = scope
        self.state = state
        self.nonce = nonce
        self.codeChallenge = codeChallenge
        self.responseMode = responseMode
        self.loginHint = loginHint
        self.createdAt = createdAt
        self.userId = userId
        self.browserSessionId = browserSessionId
        self.fulfilledAt = fulfilledAt
        self.codeHash = codeHash
        self.exchangedAt = exchangedAt
        self.sessionId = sessionId
        self.cancelledAt = cancelledAt
    }
}

/// What redeeming an authorization code found.
public enum CodeRedemption: Sendable, Equatable {
    /// The code was fulfilled and unused; it is now marked exchanged (at the given time). The caller
    /// creates the session and links it with ``OAuth2SessionRepository/create(session:accessToken:refreshToken:grantId:)``.
    case redeemed(AuthorizationGrant)
    /// The code had been exchanged before: a replay. The grant carries the session of the first
    /// exchange, which the caller ends.
    case replayed(AuthorizationGrant)
    /// No fulfilled grant has this code.
    case unknown
}

/// An RFC 8628 device authorization (MAS `oauth2_device_code_grant`).
public struct DeviceCodeGrant: Sendable, Equatable {
    public enum Status: String, Sendable {
        case pending
        case approved
        case rejected
        case exchanged
    }

    public var id: String
    public var clientId: String
    public var scope: String
    /// SHA-256 (lower-case hex) of the `device_code` the client polls with.
    public var deviceCodeHash: String
    /// The code the user types (upper-case, unambiguous alphabet); unique among pending grants.
    public var userCode: String
    public var createdAt: Date
    public var expiresAt: Date
    public var status: Status
    /// Set at approval (or rejection): who decided, in which browser session.
    public var userId: String?
    public var browserSessionId: String?
    public var decidedAt: Date?
    /// The last poll, for `slow_down`.
    public var lastPolledAt: Date?
    public var exchangedAt: Date?
    /// The session the exchange created.
    public var sessionId: String?

    public init(
        id: String, clientId: String, scope: String, deviceCodeHash: String, userCode: String, createdAt: Date, expiresAt: Date,
        status: Status = .pending, userId: String? = nil, browserSessionId: String? = nil, decidedAt: Date? = nil,
        lastPolledAt: Date? = nil, exchangedAt: Date? = nil, sessionId: String? = nil
    ) {
        self.id = id
        self.clientId = clientId
        self.scope = scope
        self.deviceCodeHash = deviceCodeHash
        self.userCode = userCode
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.status = status
        self.userId = userId
        self.browserSessionId = browserSessionId
        self.decidedAt = decidedAt
        self.lastPolledAt = lastPolledAt
        self.exchangedAt = exchangedAt
        self.sessionId = sessionId
    }
}

/// An OAuth 2.0 session (MAS `oauth2_sessions`): one client's grant for one user (or for no user,
/// with `client_credentials`), owning at most one Matrix device.
public struct OAuth2Session: Sendable, Equatable {
    public var id: String
    public var clientId: String
    /// `nil` for `client_credentials` sessions.
    public var userId: String?
    /// The granted scope tokens, space-separated.
    public var scope: String
    /// The Matrix device of the device scope, if any (denormalised from `scope` for lookups).
    public var deviceId: String?
    /// The browser session that consented, if any.
    public var browserSessionId: String?
    public var createdAt: Date
    public var finishedAt: Date?
    public var lastActiveAt: Date?
    /// The client address of the last recorded use (see ``SessionActivity``).
    public var lastActiveAddress: String?
    /// The name the user gave the session (its device) on the account page; `nil` shows the client's name.
    public var humanName: String?

    public init(
        id: String, clientId: String, userId: String?, scope: String, deviceId: String?, browserSessionId: String? = nil,
        createdAt: Date, finishedAt: Date? = nil, lastActiveAt: Date? = nil, lastActiveAddress: String? = nil, humanName: String? = nil
    ) {
        self.id = id
        self.clientId = clientId
        self.userId = userId
        self.scope = scope
        self.deviceId = deviceId
        self.browserSessionId = browserSessionId
        self.createdAt = createdAt
        self.finishedAt = finishedAt
        self.lastActiveAt = lastActiveAt
        self.lastActiveAddress = lastActiveAddress
        self.humanName = humanName
    }
}

/// An OAuth 2.0 access token (`mat_…`); only its SHA-256 is stored.
public struct OAuth2AccessToken: Sendable, Equatable {
    public var id: String
    public var sessionId: String
    public var tokenHash: String
    public var createdAt: Date
    public var expiresAt: Date
    public var revokedAt: Date?
    /// The first introspection that found it active: a refresh token whose successor's access token
    /// was never used may be retried once (MAS's lost-response tolerance).
    public var firstUsedAt: Date?

    public init(id: String, sessionId: String, tokenHash: String, createdAt: Date, expiresAt: Date, revokedAt: Date? = nil, firstUsedAt: Date? = nil) {
        self.id = id
        self.sessionId = sessionId
        self.tokenHash = tokenHash
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.firstUsedAt = firstUsedAt
    }
}

/// An OAuth 2.0 refresh token (`mar_…`); single use, rotated on every refresh, states as
/// ``CompatRefreshToken``.
public struct OAuth2RefreshToken: Sendable, Equatable {
    public var id: String
    public var sessionId: String
    /// The access token issued with it.
    public var accessTokenId: String
    public var tokenHash: String
    public var createdAt: Date
    public var consumedAt: Date?
    public var revokedAt: Date?
    public var nextRefreshTokenId: String?

    public init(
        id: String, sessionId: String, accessTokenId: String, tokenHash: String, createdAt: Date, consumedAt: Date? = nil,
        revokedAt: Date? = nil, nextRefreshTokenId: String? = nil
    ) {
        self.id = id
        self.sessionId = sessionId
        self.accessTokenId = accessTokenId
        self.tokenHash = tokenHash
        self.createdAt = createdAt
        self.consumedAt = consumedAt
        self.revokedAt = revokedAt
        self.nextRefreshTokenId = nextRefreshTokenId
    }
}

/// Everything introspection and the token endpoint need about an OAuth 2.0 token, in one read.
public struct OAuth2TokenLookup<Token: Sendable & Equatable>: Sendable, Equatable {
    public var token: Token
    public var session: OAuth2Session
    /// `nil` for `client_credentials` sessions.
    public var user: User?

    public init(token: Token, session: OAuth2Session, user: User?) {
        self.token = token
        self.session = session
        self.user = user
    }
}

/// A legacy SSO login in progress (MAS `compat_sso_logins`): started by
/// `/login/sso/redirect?redirectUrl=…`, confirmed by the user on the browser pages, then finished by
/// issuing an `m.login.token` (``CompatLoginToken``) and redirecting to `redirectURL`.
public struct CompatSSOLogin: Sendable, Equatable {
    public var id: String
    /// The client's `redirectUrl`, validated.
    public var redirectURL: String
    public var createdAt: Date
    /// Set when the user confirmed: the login token issued then.
    public var fulfilledAt: Date?
    public var userId: String?
    public var loginTokenId: String?

    public init(id: String, redirectURL: String, createdAt: Date, fulfilledAt: Date? = nil, userId: String? = nil, loginTokenId: String? = nil) {
        self.id = id
        self.redirectURL = redirectURL
        self.createdAt = createdAt
        self.fulfilledAt = fulfilledAt
        self.userId = userId
        self.loginTokenId = loginTokenId
    }
}
