import GatehouseAuth
import GatehouseCore

/// Client secrets of confidential clients: generated, hashed for the store, checked in constant time.
///
/// Only the SHA-256 of a secret is stored. That is enough because every secret is long and random:
/// generated ones are 32 base62 characters (about 190 bits) and configured ones must be at least
/// ``StaticClientConfiguration/minimumSecretBytes`` bytes.
public enum ClientSecret {
    /// Length of generated secrets.
    public static let generatedLength = 32

    /// A new random secret.
    /// - Parameter random: the randomness source.
    public static func generate(random: some RandomSource) -> String {
        random.string(length: generatedLength, alphabet: Alphabet.base62)
    }

    /// The stored form of `secret`.
    /// - Parameter secret: the client secret.
    public static func hash(_ secret: String) -> String {
        TokenHasher.sha256Hex(secret)
    }

    /// Whether `presented` is the secret whose hash is `storedHash`; compares the two digests in
    /// constant time (RFC 9700 §2.5; the digests have a fixed, public length).
    /// - Parameters:
    ///   - presented: the secret the client sent.
    ///   - storedHash: ``OAuth2Client/secretHash``; `nil` (a public client) never matches.
    public static func matches(_ presented: String, storedHash: String?) -> Bool {
        guard let storedHash else { return false }
        return ConstantTime.equals(hash(presented).utf8, storedHash.utf8)
    }
}
