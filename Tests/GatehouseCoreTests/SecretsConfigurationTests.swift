import Crypto
import CryptoExtras
import Foundation
import Testing

@testable import GatehouseCore

/// `secrets`: the encryption key and the signing keys, with errors that name the key and the fix.
struct SecretsConfigurationTests {
    private static func valid(replacing old: String, with new: String) -> String {
        let yaml = ConfigFixture.valid.replacingOccurrences(of: old, with: new)
        precondition(yaml != ConfigFixture.valid, "fixture text not found: \(old)")
        return yaml
    }

    @Test func keysAndEncryptionAreRead() throws {
        let fixture = try ConfigFixture()
        let config = try fixture.load(ConfigFixture.valid)
        let secrets = try #require(config.secrets)
        #expect(secrets.encryption == Array(repeating: [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef], count: 4).flatMap { $0 })
        #expect(secrets.keys.map(\.kid) == ["rsa-1", "ec-1"])
        #expect(secrets.keys.map(\.algorithm) == [.rs256, .es256])
        #expect(secrets.algorithms == [.es256, .rs256])
        #expect(secrets.signingKey(for: .rs256)?.kid == "rsa-1")
        #expect(config.warnings.isEmpty)
    }

    @Test func theFirstKeyOfEachAlgorithmSigns() throws {
        let fixture = try ConfigFixture()
        try fixture.write(try _RSA.Signing.PrivateKey(keySize: .bits2048).pemRepresentation, to: "old_rsa.pem", mode: 0o600)
        let config = try fixture.load(Self.valid(
            replacing: "- {kid: ec-1, key_file: signing_ec.pem}",
            with: "- {kid: ec-1, key_file: signing_ec.pem}\n    - {kid: rsa-0, key_file: old_rsa.pem}"))
        let secrets = try #require(config.secrets)
        #expect(secrets.keys.map(\.kid) == ["rsa-1", "ec-1", "rsa-0"])
        #expect(secrets.signingKey(for: .rs256)?.kid == "rsa-1")
        #expect(secrets.signingKey(for: .es256)?.kid == "ec-1")
    }

    /// Without `kid`, the key is named by its RFC 7638 thumbprint, as MAS does.
    @Test func kidDefaultsToTheThumbprint() throws {
        let fixture = try ConfigFixture()
        let config = try fixture.load(Self.valid(replacing: "{kid: ec-1, key_file: signing_ec.pem}", with: "{key_file: signing_ec.pem}"))
        let key = try #require(config.secrets?.keys.last)
        // Recomputed independently: SHA-256 over {"crv","kty","x","y"} in that order, no spaces.
        let point = Array(try P256.Signing.PrivateKey(pemRepresentation: ConfigFixture.ecPEM).publicKey.x963Representation)
        func b64(_ bytes: some Sequence<UInt8>) -> String {
            Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
        let json = "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"\(b64(point[1..<33]))\",\"y\":\"\(b64(point[33..<65]))\"}"
        #expect(key.kid == b64(SHA256.hash(data: Data(json.utf8))))
        #expect(key.kid.count == 43)
    }

    /// RFC 7638 §3.1: the thumbprint of its example key, through ``Base64URL``.
    @Test func base64URLReproducesTheRFC7638Example() throws {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
        let modulus = try #require(Data(base64Encoded: n.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/") + "=="))
        let publicKey = try _RSA.Signing.PublicKey(n: modulus, e: Data([1, 0, 1]))
        // Only the public half matters for the thumbprint; wrap it in a key whose parameters we control.
        let members = [("e", "AQAB"), ("kty", "RSA"), ("n", n)]
        let json = "{" + members.map { "\"\($0.0)\":\"\($0.1)\"" }.joined(separator: ",") + "}"
        #expect(Base64URL.encode(Array(SHA256.hash(data: Data(json.utf8)))) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        #expect(try publicKey.getKeyPrimitives().modulus == modulus)
    }

    @Test func jwkHasThePublicMembers() throws {
        let config = try ConfigFixture().load(ConfigFixture.valid)
        let keys = try #require(config.secrets?.keys)
        let rsa = try JSONSerialization.jsonObject(with: Data(keys[0].publicJWK.utf8)) as? [String: String]
        #expect(Set(rsa?.keys.map { $0 } ?? []) == ["kty", "kid", "use", "alg", "n", "e"])
        #expect(rsa?["kty"] == "RSA" && rsa?["alg"] == "RS256" && rsa?["use"] == "sig" && rsa?["e"] == "AQAB")
        #expect(rsa?["n"]?.count == 342, "2048-bit modulus, base64url without padding")
        let ec = try JSONSerialization.jsonObject(with: Data(keys[1].publicJWK.utf8)) as? [String: String]
        #expect(Set(ec?.keys.map { $0 } ?? []) == ["kty", "kid", "use", "alg", "crv", "x", "y"])
        #expect(ec?["crv"] == "P-256" && ec?["alg"] == "ES256" && ec?["kid"] == "ec-1")
        #expect(ec?["x"]?.count == 43 && ec?["y"]?.count == 43)
    }

    @Test func missingSectionIsAWarning() throws {
        let fixture = try ConfigFixture()
        let yaml = String(ConfigFixture.valid[..<ConfigFixture.valid.range(of: "secrets:")!.lowerBound])
        let config = try fixture.load(yaml)
        #expect(config.secrets == nil)
        #expect(config.warnings.map(\.description).contains { $0.hasPrefix("secrets: there is no `secrets` section") && $0.contains("config generate") })
    }

    /// Each broken `secrets` gives an error naming the key path and the fix.
    @Test func errorsNameTheKeyAndTheFix() throws {
        let fixture = try ConfigFixture()
        try fixture.write(ConfigFixture.rsaPEM, to: "open_rsa.pem", mode: 0o644)
        try fixture.write(String(repeating: "ab", count: 16), to: "short_encryption", mode: 0o600)
        try fixture.write(String(repeating: "ab", count: 32), to: "open_encryption", mode: 0o640)
        try fixture.write(try _RSA.Signing.PrivateKey(unsafeKeySize: .init(bitCount: 1024)).pemRepresentation, to: "rsa1024.pem", mode: 0o600)
        try fixture.write(P384.Signing.PrivateKey().pemRepresentation, to: "p384.pem", mode: 0o600)
        try fixture.write("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", to: "encrypted.pem", mode: 0o600)
        try fixture.write("not a key", to: "garbage.pem", mode: 0o600)
        let dir = fixture.directory
        let cases: [(String, String, String)] = [
            ("key_file: signing_ec.pem", "key_file: missing.pem",
             "secrets.keys[1].key_file: cannot read the signing key \(dir)/missing.pem: no such file"),
            ("key_file: signing_ec.pem", "key_file: open_rsa.pem",
             "secrets.keys[1].key_file: the signing key \(dir)/open_rsa.pem can be read by other accounts (mode 0644). Run `chmod 600"),
            ("key_file: signing_ec.pem", "key_file: rsa1024.pem",
             "secrets.keys[1].key_file: the file \(dir)/rsa1024.pem is an RSA key of 1024 bits; at least 2048 are needed. Generate one"),
            ("key_file: signing_ec.pem", "key_file: p384.pem", "secrets.keys[1].key_file: the file \(dir)/p384.pem is an EC key on a curve other than P-256"),
            ("key_file: signing_ec.pem", "key_file: encrypted.pem", "secrets.keys[1].key_file: the file \(dir)/encrypted.pem is an encrypted private key"),
            ("key_file: signing_ec.pem", "key_file: garbage.pem", "secrets.keys[1].key_file: the file \(dir)/garbage.pem is not a PEM private key"),
            ("{kid: ec-1, key_file: signing_ec.pem}", "{kid: ec-1}", "secrets.keys[1].key_file: no key is given. Set `key_file`"),
            ("{kid: ec-1, key_file: signing_ec.pem}", "{kid: ec-1, key_file: signing_ec.pem, key: x}", "secrets.keys[1].key: `key` and `key_file` are both set"),
            ("{kid: ec-1, key_file: signing_ec.pem}", "{kid: ec-1, key_file: signing_ec.pem, password: x}", "secrets.keys[1].password: unknown key"),
            ("{kid: ec-1, key_file: signing_ec.pem}", "{kid: rsa-1, key_file: signing_ec.pem}", "secrets.keys[1].kid: kid 'rsa-1' is already used by secrets.keys[0]"),
            ("{kid: ec-1, key_file: signing_ec.pem}", "{kid: \"a b\", key_file: signing_ec.pem}", "secrets.keys[1].kid: must be 1-128 printable ASCII"),
            ("- {kid: rsa-1, key_file: signing_rsa.pem}\n", "", "secrets.keys: has no RSA key; OpenID Connect requires id_tokens signed with RS256"),
            ("encryption_file: encryption", "encryption_file: short_encryption",
             "secrets.encryption_file: must be 32 bytes written as 64 hexadecimal characters. Generate it with `openssl rand -hex 32`"),
            ("encryption_file: encryption", "encryption_file: open_encryption",
             "secrets.encryption_file: the encryption key file \(dir)/open_encryption can be read by other accounts (mode 0640)"),
            ("encryption_file: encryption", "encryption: xyz", "secrets.encryption: must be 32 bytes written as 64 hexadecimal characters"),
            ("encryption_file: encryption", "foo: 1", "secrets.foo: unknown key"),
            ("encryption_file: encryption\n", "", "secrets.encryption_file: no encryption key is configured"),
        ]
        for (old, new, message) in cases {
            let errors = fixture.errors(Self.valid(replacing: old, with: new))
            #expect(errors.contains { $0.contains(message) }, "\(new): \(errors)")
        }
        let noKeys = fixture.errors(Self.valid(replacing: "  keys:\n    - {kid: rsa-1, key_file: signing_rsa.pem}\n    - {kid: ec-1, key_file: signing_ec.pem}", with: ""))
        #expect(noKeys.contains { $0.contains("secrets.keys: no signing key is configured. Add an RSA key: `openssl genpkey") }, "\(noKeys)")
    }

    @Test func inlineKeysAreAcceptedWithAWarningWhenTheFileIsOpen() throws {
        let fixture = try ConfigFixture()
        let indented = ConfigFixture.ecPEM.split(separator: "\n").map { "        " + $0 }.joined(separator: "\n")
        let yaml = Self.valid(
            replacing: "- {kid: ec-1, key_file: signing_ec.pem}",
            with: "- kid: ec-inline\n      key: |\n\(indented)")
        try fixture.write(yaml, to: "gatehouse.yaml", mode: 0o644)
        let config = try ConfigurationLoader.load(path: "\(fixture.directory)/gatehouse.yaml")
        #expect(config.secrets?.keys.map(\.kid) == ["rsa-1", "ec-inline"])
        #expect(config.warnings.contains { $0.description.contains("secrets.keys[1].key: this secret is written in") && $0.description.contains("`key_file`") })
    }
}
