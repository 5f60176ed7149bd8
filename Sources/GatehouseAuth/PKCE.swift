import Crypto
import GatehouseCore

/// Proof Key for Code Exchange with the `S256` method (RFC 7636), the only method Gatehouse accepts.
public enum PKCE {
    /// Whether `verifier` has the form RFC 7636 §4.1 requires: 43–128 characters of
    /// `[A-Za-z0-9-._~]`.
    /// - Parameter verifier: the `code_verifier` a client sent.
    public static func isWellFormedVerifier(_ verifier: String) -> Bool {
        let bytes = verifier.utf8
        guard (43...128).contains(bytes.count) else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                true
            default:
                false
            }
        }
    }

    /// The `S256` challenge of a verifier: `BASE64URL(SHA256(ASCII(verifier)))` (RFC 7636 §4.2).
    /// - Parameter verifier: a well-formed verifier.
    public static func s256Challenge(of verifier: String) -> String {
        Base64URL.encode(Array(SHA256.hash(data: Array(verifier.utf8))))
    }

    /// Whether `verifier` is well formed and matches `challenge` (RFC 7636 §4.6); the comparison
    /// takes the same time whatever the content.
    /// - Parameters:
    ///   - verifier: the `code_verifier` from the token request.
    ///   - challenge: the `code_challenge` stored with the authorization grant.
    public static func verify(verifier: String, challenge: String) -> Bool {
        guard isWellFormedVerifier(verifier) else { return false }
        return ConstantTime.equals(s256Challenge(of: verifier).utf8, challenge.utf8)
    }
}
