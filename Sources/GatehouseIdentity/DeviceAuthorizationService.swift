#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseAuth
import GatehouseCore
import GatehouseStorage

/// `POST /oauth2/device`, the device authorization request of RFC 8628 §3.1–§3.2: a client on a
/// device without a browser gets a `device_code` to poll the token endpoint with and a `user_code`
/// for the user to type at `/link` on another device.
///
/// The device code (32 base62 characters) is stored only as its SHA-256; the user code
/// (``UserCode``) is unique among pending grants, and a collision draws another.
public struct DeviceAuthorizationService: Sendable {
    /// Lifetimes.
    public struct Configuration: Sendable {
        /// The default poll interval (MAS: 5 s).
        public static let defaultInterval: Duration = .seconds(5)

        /// How long the user has to approve (MAS: 1200 s).
        public var lifetime: Duration
        /// The minimum time between polls (`interval`).
        public var interval: Duration

        public init(lifetime: Duration = .seconds(1200), interval: Duration = defaultInterval) {
            self.lifetime = lifetime
            self.interval = interval
        }
    }

    /// The answer (RFC 8628 §3.2); the endpoint adds the verification URIs.
    public struct Authorization: Sendable, Equatable {
        public var deviceCode: String
        /// As the user sees it, `XXXX-XXXX`.
        public var userCode: String
        public var expiresIn: Int
        public var interval: Int
    }

    /// Length of device codes (MAS: 32 alphanumeric characters).
    public static let deviceCodeLength = 32

    let store: any IdentityStore
    let authenticator: ClientAuthenticator
    let configuration: Configuration
    let clock: any WallClock
    let random: any RandomSource

    /// - Parameters:
    ///   - store: the identity store.
    ///   - configuration: lifetimes.
    ///   - clock: the wall clock.
    ///   - random: codes and identifiers.
    public init(
        store: any IdentityStore, configuration: Configuration = Configuration(), clock: any WallClock = SystemClock(),
        random: any RandomSource = SystemRandom()
    ) {
        self.store = store
        self.authenticator = ClientAuthenticator(clients: store.clients)
        self.configuration = configuration
        self.clock = clock
        self.random = random
    }

    /// Starts a device authorization.
    /// - Parameters:
    ///   - credentials: the client's credentials (any registered method).
    ///   - form: optional `scope`.
    /// - Throws: the client authentication errors; `unauthorized_client` when the client may not use
    ///   the device code grant; `invalid_scope` (``AuthorizationScope``); `temporarily_unavailable`.
    public func authorize(credentials: ClientCredentials, form: OAuth2Form) async throws(OAuth2TokenError) -> Authorization {
        let client = try await authenticator.authenticate(credentials)
        guard client.metadata.grantTypes.contains(GrantType.deviceCode) else {
            throw .unauthorizedClient("The client is not allowed to use the device code grant")
        }
        let scope = try AuthorizationScope.resolve(try form.optional("scope"), for: .interactive, random: random).orInvalidScope().text
        let now = clock.now()
        let deviceCode = random.string(length: Self.deviceCodeLength, alphabet: Alphabet.base62)
        let lifetime = OAuth2TokenService.seconds(configuration.lifetime)
        for _ in 0..<5 {
            let userCode = UserCode.generate(random: random)
            let grant = DeviceCodeGrant(
                id: ULID.make(at: now, random: random), clientId: client.id, scope: scope, deviceCodeHash: TokenHasher.sha256Hex(deviceCode),
                userCode: userCode, createdAt: now, expiresAt: now.addingTimeInterval(lifetime))
            do {
                try await store.deviceGrants.create(grant)
                return Authorization(
                    deviceCode: deviceCode, userCode: UserCode.display(userCode), expiresIn: OAuth2TokenService.wholeSeconds(configuration.lifetime),
                    interval: OAuth2TokenService.wholeSeconds(configuration.interval))
            } catch let error as StorageError where error.isConflict {
                continue  // the user code is held by a live pending grant: draw another
            } catch {
                throw .unavailable
            }
        }
        throw .unavailable
    }
}
