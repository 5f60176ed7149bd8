import GatehouseCore
import Testing

@testable import GatehouseAuth

struct Argon2idTests {
    let password = Array(Fixtures.password.utf8)

    @Test func hashThenVerify() throws {
        let hash = try Argon2id.hash(password, salt: SystemRandom().bytes(16), secret: nil)
        #expect(try Argon2id.verify(password, encoded: hash, secret: nil))
        #expect(try !Argon2id.verify(Array("correct horse battery stapler".utf8), encoded: hash, secret: nil))
        #expect(try !Argon2id.verify([], encoded: hash, secret: nil))
    }

    @Test func phcStringHasMASParameters() throws {
        let hash = try Argon2id.hash(password, salt: Array(0..<16), secret: nil)
        #expect(hash == "$argon2id$v=19$m=19456,t=2,p=1$AAECAwQFBgcICQoLDA0ODw$\(Fixtures.argon2FixedSaltOutput)", "same output as argon2-cffi")
        let parsed = try Argon2id.parse(hash)
        #expect(parsed.version == 0x13)
        #expect(parsed.parameters == .mas)
        #expect(parsed.salt == Array(0..<16))
        #expect(parsed.hash.count == 32)
    }

    @Test(arguments: [Fixtures.argon2CffiDefault, Fixtures.argon2CffiMASParameters])
    func verifiesArgon2CffiHashes(hash: String) throws {
        #expect(try Argon2id.verify(password, encoded: hash, secret: nil))
        #expect(try !Argon2id.verify(Array("Correct horse battery staple".utf8), encoded: hash, secret: nil))
    }

    @Test func pepperIsTheArgon2Secret() throws {
        let pepper = Array(Fixtures.pepper.utf8)
        #expect(try Argon2id.verify(password, encoded: Fixtures.argon2Keyed, secret: pepper))
        #expect(try !Argon2id.verify(password, encoded: Fixtures.argon2Keyed, secret: nil))
        #expect(try !Argon2id.verify(password, encoded: Fixtures.argon2Keyed, secret: Array("pepper-secreT".utf8)))
        let salt = [UInt8](repeating: 7, count: 16)
        #expect(try Argon2id.hash(password, salt: salt, secret: pepper) != Argon2id.hash(password, salt: salt, secret: nil))
    }

    @Test(arguments: [
        "",
        "$argon2i$v=19$m=19456,t=2,p=1$AAECAwQFBgcICQoLDA0ODw$gYJZtjEAJqjg26xdLmknq8/bB7MiWPrE9hsYuA+SkIU",
        "$argon2id$v=19$m=19456,t=2$AAECAwQFBgcICQoLDA0ODw$gYJZtjEAJqjg26xdLmknq8/bB7MiWPrE9hsYuA+SkIU",
        "$argon2id$v=19$t=2,m=19456,p=1$AAECAwQFBgcICQoLDA0ODw$gYJZtjEAJqjg26xdLmknq8/bB7MiWPrE9hsYuA+SkIU",
        "$argon2id$v=19$m=19456,t=2,p=1$AAECAwQFBgcICQoLDA0ODw==$gYJZtjEAJqjg26xdLmknq8/bB7MiWPrE9hsYuA+SkIU",
        "$argon2id$v=19$m=19456,t=2,p=1$AAECAwQFBgcICQoLDA0ODw$gYJZtjEAJqjg26xdLmknq8/bB7MiWPrE9hsYuA+SkIU$",
        "$argon2id$v=19$m=-1,t=2,p=1$AAECAwQFBgcICQoLDA0ODw$gYJZtjEAJqjg26xdLmknq8/bB7MiWPrE9hsYuA+SkIU",
        "$argon2id$v=19$m=19456,t=2,p=1$AAEC$gYJZtjEAJqjg26xdLmknq8/bB7MiWPrE9hsYuA+SkIU",
        "$2b$12$iOkJqMRGD7Q5ew74s9I4au8.SZtdakf.DHIoAT8BTX.66lBsjSwPG",
    ])
    func malformedHashesAreRejected(hash: String) {
        #expect(throws: PasswordHasherError.malformedHash("")) { try Argon2id.verify(password, encoded: hash, secret: nil) }
    }

    @Test(arguments: [
        "$argon2id$v=19$m=4194304,t=2,p=1$AAECAwQFBgcICQoLDA0ODw$gYJZtjEAJqjg26xdLmknq8/bB7MiWPrE9hsYuA+SkIU",
        "$argon2id$v=19$m=19456,t=1000,p=1$AAECAwQFBgcICQoLDA0ODw$gYJZtjEAJqjg26xdLmknq8/bB7MiWPrE9hsYuA+SkIU",
        "$argon2id$v=19$m=16,t=2,p=4$AAECAwQFBgcICQoLDA0ODw$gYJZtjEAJqjg26xdLmknq8/bB7MiWPrE9hsYuA+SkIU",
        "$argon2id$v=20$m=19456,t=2,p=1$AAECAwQFBgcICQoLDA0ODw$gYJZtjEAJqjg26xdLmknq8/bB7MiWPrE9hsYuA+SkIU",
    ])
    func excessiveParametersAreRefused(hash: String) {
        #expect(throws: PasswordHasherError.unsupportedParameters("")) { try Argon2id.verify(password, encoded: hash, secret: nil) }
    }

    @Test func phcBase64RoundTrips() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let text = PHCBase64.encode(bytes)
            #expect(!text.contains("="))
            #expect(PHCBase64.decode(Substring(text)) == bytes, "length \(length)")
        }
        #expect(PHCBase64.decode("A") == nil, "4n+1 characters")
        #expect(PHCBase64.decode("AB") == nil, "non-zero trailing bits")
        #expect(PHCBase64.decode("AA") == [0])
        #expect(PHCBase64.decode("AA-_") == nil, "base64url is not PHC base64")
    }
}
