import Crypto
import CryptoExtras

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A JWS algorithm Gatehouse signs with (RFC 7518 §3.1).
public enum SigningAlgorithm: String, Sendable, CaseIterable {
    /// RSASSA-PKCS1-v1_5 with SHA-256; OpenID Connect Core §15.1 requires providers to support it.
    case rs256 = "RS256"
    /// ECDSA on P-256 with SHA-256.
    case es256 = "ES256"
}

/// One private signing key from `secrets.keys[]`, with its key id.
public struct SigningKey: Sendable {
    /// The private key.
    public enum Material: Sendable {
        /// An RSA key of at least 2048 bits (RS256).
        case rsa(_RSA.Signing.PrivateKey)
        /// An EC key on P-256 (ES256).
        case p256(P256.Signing.PrivateKey)
    }

    /// The `kid`: the configured one, else the RFC 7638 thumbprint of the public key (as MAS does).
    public var kid: String
    /// The private key, which decides the algorithm.
    public var material: Material

    /// - Parameters:
    ///   - kid: the key id; `nil` for the RFC 7638 thumbprint.
    ///   - material: the private key.
    public init(kid: String?, material: Material) {
        self.material = material
        self.kid = ""
        self.kid = kid ?? thumbprint
    }

    /// The algorithm this key signs with.
    public var algorithm: SigningAlgorithm {
        switch material {
        case .rsa: .rs256
        case .p256: .es256
        }
    }

    /// The public key's JWK members that RFC 7638 §3.2 hashes, in lexicographic order:
    /// `e, kty, n` for RSA (RFC 7518 §6.3.1) and `crv, kty, x, y` for EC (§6.2.1), values base64url.
    public var publicParameters: [(name: String, value: String)] {
        switch material {
        case .rsa(let key):
            // A key that parsed always has primitives; an empty member would make the JWK unusable, not unsafe.
            let primitives = try? key.publicKey.getKeyPrimitives()
            return [
                ("e", Base64URL.encode(Array(primitives?.publicExponent ?? Data()))),
                ("kty", "RSA"),
                ("n", Base64URL.encode(Array(primitives?.modulus ?? Data()))),
            ]
        case .p256(let key):
            // x9.63: 0x04 || x (32 bytes) || y (32 bytes).
            let point = Array(key.publicKey.x963Representation)
            return [
                ("crv", "P-256"),
                ("kty", "EC"),
                ("x", Base64URL.encode(Array(point[1..<33]))),
                ("y", Base64URL.encode(Array(point[33..<65]))),
            ]
        }
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key.
    public var thumbprint: String {
        let json = "{" + publicParameters.map { "\(JSONText.quote($0.name)):\(JSONText.quote($0.value))" }.joined(separator: ",") + "}"
        return Base64URL.encode(Array(SHA256.hash(data: Array(json.utf8))))
    }

    /// The public JWK as published at `/oauth2/keys.json`: the key's members plus `kid`, `use` and `alg`.
    public var publicJWK: String {
        var members = publicParameters
        members += [("kid", kid), ("use", "sig"), ("alg", algorithm.rawValue)]
        return "{" + members.map { "\(JSONText.quote($0.name)):\(JSONText.quote($0.value))" }.joined(separator: ",") + "}"
    }

    /// Parses a PEM private key: RSA (PKCS#1 or PKCS#8, at least 2048 bits) or EC P-256 (SEC 1 or PKCS#8).
    /// - Parameters:
    ///   - pem: the PEM text.
    ///   - kid: the configured key id, if any.
    /// - Returns: the key, or a description of why it cannot be used.
    public static func parse(pem: String, kid: String?) -> Result<SigningKey, SigningKeyProblem> {
        if pem.contains("ENCRYPTED") { return .failure(.encrypted) }
        if let rsa = try? _RSA.Signing.PrivateKey(unsafePEMRepresentation: pem) {
            guard rsa.keySizeInBits >= 2048 else { return .failure(.rsaTooShort(bits: rsa.keySizeInBits)) }
            return .success(SigningKey(kid: kid, material: .rsa(rsa)))
        }
        if let ec = try? P256.Signing.PrivateKey(pemRepresentation: pem) {
            return .success(SigningKey(kid: kid, material: .p256(ec)))
        }
        if (try? P384.Signing.PrivateKey(pemRepresentation: pem)) != nil || (try? P521.Signing.PrivateKey(pemRepresentation: pem)) != nil {
            return .failure(.unsupportedCurve)
        }
        return .failure(.notAKey)
    }
}

/// Why a configured signing key cannot be used.
public enum SigningKeyProblem: Error, Equatable, Sendable {
    /// A passphrase-protected key (MAS's `password`/`password_file` are not supported).
    case encrypted
    /// An RSA key shorter than 2048 bits.
    case rsaTooShort(bits: Int)
    /// An EC key on P-384 or P-521 (only P-256 is supported).
    case unsupportedCurve
    /// Not a PEM private key of a supported kind.
    case notAKey

    /// The problem, for a configuration error.
    public var problem: String {
        switch self {
        case .encrypted: "is an encrypted private key, which Gatehouse cannot use"
        case .rsaTooShort(let bits): "is an RSA key of \(bits) bits; at least 2048 are needed"
        case .unsupportedCurve: "is an EC key on a curve other than P-256; only P-256 (ES256) is supported"
        case .notAKey: "is not a PEM private key (RSA, or EC on P-256)"
        }
    }

    /// How to fix it.
    public var fix: String {
        switch self {
        case .encrypted: "Decrypt it with `openssl pkey -in KEY -out KEY.plain` and point the configuration at that file (mode 0600)"
        case .rsaTooShort, .notAKey, .unsupportedCurve:
            "Generate one with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048` or "
                + "`openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256` (or let `gatehouse config generate` write them)"
        }
    }
}
