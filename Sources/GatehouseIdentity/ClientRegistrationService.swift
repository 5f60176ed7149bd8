#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseAuth
import GatehouseCore
import GatehouseStorage

/// Dynamic client registration (RFC 7591 / MSC2966): validates a request with
/// ``ClientRegistrationPolicy`` and stores the client. The HTTP endpoint is a thin adapter over
/// ``register(body:)``.
public struct ClientRegistrationService: Sendable {
    let repository: any OAuth2ClientRepository
    let clock: any WallClock
    let random: any RandomSource
    let signingAlgorithms: [SigningAlgorithm]

    /// - Parameters:
    ///   - repository: where clients are stored.
    ///   - clock: the time of registration (`client_id_issued_at`, the ULID's time).
    ///   - random: the ULID's randomness.
    ///   - signingAlgorithms: the algorithms of `secrets.keys`, which `id_token_signed_response_alg`
    ///     and `userinfo_signed_response_alg` may name.
    public init(repository: any OAuth2ClientRepository, clock: any WallClock, random: any RandomSource, signingAlgorithms: [SigningAlgorithm] = []) {
        self.repository = repository
        self.clock = clock
        self.random = random
        self.signingAlgorithms = signingAlgorithms
    }

    /// What a registration ends in.
    public enum Outcome: Sendable {
        /// The stored client: a new one, or an earlier registration with identical metadata.
        case registered(OAuth2Client)
        /// The request broke a rule; answer 400 with this error.
        case refused(ClientRegistrationError)
    }

    /// Registers the client a request body describes.
    /// - Parameter body: the JSON body of `POST /oauth2/registration`.
    /// - Throws: storage errors only; a bad request is ``Outcome/refused(_:)``.
    public func register(body: some Collection<UInt8>) async throws -> Outcome {
        switch ClientRegistrationPolicy.validate(body: body, signingAlgorithms: signingAlgorithms) {
        case .failure(let error):
            return .refused(error)
        case .success(let metadata):
            let now = clock.now()
            let client = OAuth2Client(
                id: ULID.make(at: now, random: random), origin: .dynamic, metadata: metadata,
                metadataDigest: TokenHasher.sha256Hex(metadata.json()), createdAt: now)
            return .registered(try await repository.register(client))
        }
    }
}
