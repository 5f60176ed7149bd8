import Foundation
import GatehouseCore
import Testing

@Suite struct Base64URLTests {
    /// RFC 4648 §10's vectors, unpadded.
    @Test(arguments: [
        ("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy"),
    ])
    func rfc4648Vectors(plain: String, encoded: String) {
        #expect(Base64URL.encode(Array(plain.utf8)) == encoded)
        #expect(Base64URL.decode(encoded) == Array(plain.utf8))
    }

    @Test func theURLSafeCharactersReplacePlusAndSlash() {
        #expect(Base64URL.encode([0xFB, 0xFF]) == "-_8")
        #expect(Base64URL.decode("-_8") == [0xFB, 0xFF])
    }

    /// Every length and byte value agrees with Foundation's base64 with `+/` swapped and `=` dropped.
    @Test func agreesWithFoundationForEveryLength() {
        var generator = SystemRandomNumberGenerator()
        for length in 0...96 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let expected = Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(Base64URL.encode(bytes) == expected)
            #expect(Base64URL.decode(expected) == bytes)
        }
    }

    @Test(arguments: ["Zg==", "Z", "Zm9vY", "Zm+v", "Zm/v", "Zm9v\n", "Zh", "Zm9"])
    func nonCanonicalOrForeignTextIsRefused(text: String) {
        // Padding, a length no encoding has, standard-alphabet characters, whitespace, and leftover
        // bits that are not zero ("Zh" is "f" with a stray bit, "Zm9" is "fo" with one; "fo" is "Zm8").
        #expect(Base64URL.decode(text) == nil)
    }
}
