import GatehouseAuth
import Testing

/// RFC 7636 S256.
struct PKCETests {
    static let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

    @Test func appendixBExample() {
        #expect(PKCE.s256Challenge(of: Self.verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        #expect(PKCE.verify(verifier: Self.verifier, challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"))
        #expect(!PKCE.verify(verifier: Self.verifier, challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"))
        #expect(!PKCE.verify(verifier: Self.verifier, challenge: Self.verifier), "plain is not accepted")
    }

    @Test func verifierSyntax() {
        #expect(PKCE.isWellFormedVerifier(String(repeating: "a", count: 43)))
        #expect(PKCE.isWellFormedVerifier(String(repeating: "~._-", count: 32)))
        #expect(!PKCE.isWellFormedVerifier(String(repeating: "a", count: 42)))
        #expect(!PKCE.isWellFormedVerifier(String(repeating: "a", count: 129)))
        #expect(!PKCE.isWellFormedVerifier(String(repeating: "a", count: 42) + "+"))
        #expect(!PKCE.isWellFormedVerifier(String(repeating: "é", count: 43)))
        #expect(!PKCE.verify(verifier: "short", challenge: PKCE.s256Challenge(of: "short")), "a malformed verifier never matches")
    }
}
