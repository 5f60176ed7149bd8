import GatehouseCore
import Testing

/// RFC 8628 user codes: generated, shown, and read back however the user typed them.
struct UserCodeTests {
    @Test func generatedCodesUseTheAlphabet() {
        for _ in 0..<50 {
            let code = UserCode.generate(random: SystemRandom())
            #expect(code.count == 8 && code.utf8.allSatisfy(UserCode.alphabet.contains))
            #expect(UserCode.normalized(UserCode.display(code)) == code)
        }
        #expect(UserCode.display("BCDFGHJK") == "BCDF-GHJK")
    }

    @Test func typedCodesAreNormalised() {
        #expect(UserCode.normalized("BCDF-GHJK") == "BCDFGHJK")
        #expect(UserCode.normalized("bcdfghjk") == "BCDFGHJK")
        #expect(UserCode.normalized(" bcdf - ghjk ") == "BCDFGHJK")
        #expect(UserCode.normalized("BCDF-GHJ") == nil)
        #expect(UserCode.normalized("BCDF-GHJKL") == nil)
        #expect(UserCode.normalized("ABCD-EFGH") == nil, "vowels are not in the alphabet")
        #expect(UserCode.normalized("BCDF_GHJK") == nil)
        #expect(UserCode.normalized("") == nil)
    }
}
