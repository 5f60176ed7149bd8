import GatehouseCore
import GatehouseIdentity
import Testing

/// The scope an interactive grant records.
struct GrantScopeTests {
    private func resolve(_ scope: String?) throws(OAuth2TokenError) -> String {
        try GrantScope.resolve(scope, random: SystemRandom())
    }

    @Test func aDeviceIsGeneratedInTheSpellingOfTheAPIScope() throws {
        let stable = try resolve("openid urn:matrix:client:api:*").split(separator: " ")
        #expect(stable.count == 3 && stable[2].hasPrefix(MatrixScope.devicePrefix))
        let unstable = try resolve("urn:matrix:org.matrix.msc2967.client:api:*").split(separator: " ")
        #expect(unstable.count == 2 && unstable[1].hasPrefix(MatrixScope.unstableDevicePrefix))
        #expect(try resolve("urn:matrix:client:api:* urn:matrix:client:device:MYDEVICE01 openid openid")
            == "urn:matrix:client:api:* urn:matrix:client:device:MYDEVICE01 openid")
        #expect(try resolve(nil) == "" && resolve("openid") == "openid")
        #expect(try resolve("urn:matrix:client:api:* urn:synapse:admin:* urn:matrix:client:device:D").hasSuffix("device:D"))
    }

    @Test func brokenRulesAreInvalidScope() {
        for scope in [
            "urn:matrix:client:api:* urn:matrix:org.matrix.msc2967.client:device:ABCDEFGHIJ",
            "urn:matrix:client:device:ABCDEFGHIJ",
            "urn:synapse:admin:*",
            "urn:matrix:client:api:* urn:matrix:client:device:ONE urn:matrix:client:device:TWO",
            "openid bad\\token",
        ] {
            #expect(throws: OAuth2TokenError.self, "\(scope)") { try resolve(scope) }
        }
    }
}
