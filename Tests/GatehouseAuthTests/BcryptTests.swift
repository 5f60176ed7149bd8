import Testing

@testable import GatehouseAuth

struct BcryptTests {
    @Test func verifiesSynapseHashes() throws {
        let password = Array(Fixtures.password.utf8)
        #expect(try Bcrypt.verify(password, hash: Fixtures.bcryptSynapse))
        #expect(try !Bcrypt.verify(password + [0x21], hash: Fixtures.bcryptSynapse))
        #expect(try Bcrypt.verify(password + Array(Fixtures.pepper.utf8), hash: Fixtures.bcryptSynapsePeppered), "pepper appended")
        #expect(try !Bcrypt.verify(password, hash: Fixtures.bcryptSynapsePeppered))
        #expect(try Bcrypt.verify(Array("hunter2".utf8), hash: Fixtures.bcrypt2a), "$2a$ accepted")
        #expect(try Bcrypt.verify(Array("financé1".utf8), hash: Fixtures.bcryptSynapseNFKC))
        #expect(try !Bcrypt.verify(Array(Fixtures.nfkcPassword.utf8), hash: Fixtures.bcryptSynapseNFKC), "not normalised here")
    }

    @Test func hashThenVerify() throws {
        let password = Array("s3cret password".utf8)
        let hash = try Bcrypt.hash(password, cost: 4, salt: Array(0..<16))
        #expect(hash.hasPrefix("$2b$04$"))
        #expect(hash.utf8.count == 60)
        #expect(try Bcrypt.verify(password, hash: hash))
        #expect(try !Bcrypt.verify(Array("s3cret passworD".utf8), hash: hash))
        #expect(try Bcrypt.hash(password, cost: 4, salt: Array(0..<16)) == hash, "deterministic for a fixed salt")
        #expect(try Bcrypt.hash(password, cost: 4, salt: Array(1...16)) != hash)
    }

    /// bcrypt reads 72 bytes; the rest (including a pepper appended to a long password) is ignored, as in
    /// Synapse with Python bcrypt < 5.
    @Test func onlyTheFirst72BytesCount() throws {
        let long = [UInt8](repeating: UInt8(ascii: "x"), count: 72)
        let hash = try Bcrypt.hash(long + Array("tail".utf8), cost: 4, salt: Array(0..<16))
        #expect(try Bcrypt.verify(long, hash: hash))
        #expect(try Bcrypt.verify(long + Array("other tail, pepper".utf8), hash: hash))
        #expect(try !Bcrypt.verify(Array(long.dropLast()), hash: hash))
        let huge = [UInt8](repeating: UInt8(ascii: "y"), count: 4096)
        #expect(try Bcrypt.verify(huge, hash: Bcrypt.hash(huge, cost: 4, salt: Array(0..<16))), "beyond libxcrypt's 512-byte limit")
    }

    @Test func nulBytesNeverVerify() throws {
        #expect(throws: PasswordHasherError.invalidPassword("")) { try Bcrypt.hash([0x61, 0, 0x62], cost: 4, salt: Array(0..<16)) }
        let hash = try Bcrypt.hash([0x61], cost: 4, salt: Array(0..<16))
        #expect(try !Bcrypt.verify([0x61, 0], hash: hash))
    }

    @Test(arguments: [
        "",
        "$2x$12$iOkJqMRGD7Q5ew74s9I4au8.SZtdakf.DHIoAT8BTX.66lBsjSwPG",
        "$2b$12$iOkJqMRGD7Q5ew74s9I4au8.SZtdakf.DHIoAT8BTX.66lBsjSwP",
        "$2b$99$iOkJqMRGD7Q5ew74s9I4au8.SZtdakf.DHIoAT8BTX.66lBsjSwPG",
        "$2b$12$iOkJqMRGD7Q5ew74s9I4au8.SZtdakf.DHIoAT8BTX.66lBsjSw+G",
        "$argon2id$v=19$m=19456,t=2,p=1$AAECAwQFBgcICQoLDA0ODw$gYJZtjEAJqjg26xdLmknq8",
    ])
    func malformedHashesAreRejected(hash: String) {
        #expect(throws: PasswordHasherError.malformedHash("")) { try Bcrypt.verify(Array("pw".utf8), hash: hash) }
    }

    @Test func costIsChecked() {
        #expect(throws: PasswordHasherError.invalidConfiguration("")) { try Bcrypt.hash([0x61], cost: 3, salt: Array(0..<16)) }
        #expect(throws: PasswordHasherError.invalidConfiguration("")) { try Bcrypt.hash([0x61], cost: 32, salt: Array(0..<16)) }
    }
}
