/// `secrets` (MAS's section): the encryption key and the keys that sign id_tokens.
///
/// Keys are parsed when the configuration loads, so a key that does not parse, is too short or is of
/// an unsupported kind stops `serve` and fails `config check` with the key path, never at first use.
public struct SecretsConfiguration: Sendable {
    /// `secrets.encryption` / `encryption_file`: 32 bytes that will encrypt cookies and stored client
    /// secrets. Changing it makes what was encrypted with it unreadable.
    public var encryption: [UInt8]
    /// `secrets.keys[]`, in file order. The first key of each algorithm signs; the others are only
    /// published in the JWKS, so a relying party can still check tokens signed before a rotation.
    public var keys: [SigningKey]

    /// - Parameters:
    ///   - encryption: the 32-byte encryption key.
    ///   - keys: the signing keys, in file order.
    public init(encryption: [UInt8], keys: [SigningKey]) {
        self.encryption = encryption
        self.keys = keys
    }

    /// The key that signs with `algorithm`: the first configured key of that algorithm.
    /// - Parameter algorithm: the JWS algorithm.
    public func signingKey(for algorithm: SigningAlgorithm) -> SigningKey? {
        keys.first { $0.algorithm == algorithm }
    }

    /// The algorithms id_tokens can be signed with (sorted, each once), as advertised in
    /// `id_token_signing_alg_values_supported`.
    public var algorithms: [SigningAlgorithm] {
        Set(keys.map(\.algorithm)).sorted { $0.rawValue < $1.rawValue }
    }
}
