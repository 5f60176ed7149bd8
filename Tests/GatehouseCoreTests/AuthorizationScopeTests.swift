import Testing

@testable import GatehouseCore

/// Bytes 0, 1, 2, …: generated device ids are the first characters of the alphabet.
private struct CountingBytes: RandomSource {
    func bytes(_ count: Int) -> [UInt8] { (0..<count).map { UInt8($0 % 62) } }
}

/// The scope policy shared by `/authorize`, the device authorization endpoint, `client_credentials`
/// and the token endpoint (MAS's `authorization_grant` policy).
struct AuthorizationScopeTests {
    private let random = CountingBytes()

    private func resolve(_ scope: String?, for grant: AuthorizationScope.Grant = .interactive) throws -> AuthorizationScope {
        try AuthorizationScope.resolve(scope, for: grant, random: random).get()
    }

    @Test func aDeviceIsGeneratedInTheSpellingOfTheAPIScope() throws {
        let generated = try resolve("openid urn:matrix:client:api:*")
        #expect(generated.deviceGenerated && generated.deviceId == "0123456789")
        #expect(generated.text == "openid urn:matrix:client:api:* urn:matrix:client:device:0123456789")
        let unstable = try resolve("urn:matrix:org.matrix.msc2967.client:api:*")
        #expect(unstable.text == "urn:matrix:org.matrix.msc2967.client:api:* urn:matrix:org.matrix.msc2967.client:device:0123456789")
        #expect(try resolve("urn:matrix:client:api:* urn:matrix:client:device:MYDEVICE01 openid openid").text
            == "urn:matrix:client:api:* urn:matrix:client:device:MYDEVICE01 openid")
        let chosen = try resolve("urn:matrix:client:api:* urn:matrix:client:device:my.device~1 urn:synapse:admin:*")
        #expect(chosen.deviceId == "my.device~1" && !chosen.deviceGenerated && chosen.requestsAdmin && chosen.text.hasSuffix("urn:synapse:admin:*"))
        #expect(try resolve("openid").deviceId == nil && resolve("openid").text == "openid")
        #expect(try resolve(nil).tokens.isEmpty && resolve("").text == "")
        let punctuated = "Az09._~!$&'()*+,;=:@/-"
        #expect(try resolve("urn:matrix:client:api:* urn:matrix:client:device:\(punctuated)").deviceId == punctuated)
        #expect(try resolve("urn:matrix:client:api:* urn:matrix:client:device:" + String(repeating: "A", count: 255)).deviceId?.count == 255)
    }

    @Test func generatedDeviceIdsAreTenAlphanumericsForEveryKindOfLogin() throws {
        for _ in 0..<50 {
            let device = DeviceId.generate(random: SystemRandom())
            #expect(device.count == 10 && device.utf8.allSatisfy { Alphabet.base62.contains($0) }, "\(device)")
            let scope = try AuthorizationScope.resolve(MatrixScope.clientAPI, random: SystemRandom()).get()
            let id = try #require(scope.deviceId)
            #expect(id.count == 10 && id.utf8.allSatisfy { Alphabet.base62.contains($0) }, "\(id)")
        }
    }

    @Test func everyScopeMASAllowsIsAccepted() throws {
        #expect(try resolve("openid email urn:mas:graphql:*").text == "openid email urn:mas:graphql:*")
        #expect(try resolve("email").requestsEmail)
        #expect(try resolve("openid email urn:mas:graphql:*", for: .clientCredentials).text == "openid email urn:mas:graphql:*")
        #expect(try resolve("urn:mas:graphql:* urn:mas:graphql:*", for: .clientCredentials).text == "urn:mas:graphql:*")
    }

    @Test func brokenRulesAreRefused() {
        for refused in [
            // stable and unstable never mixed
            "urn:matrix:client:api:* urn:matrix:org.matrix.msc2967.client:api:*",
            "urn:matrix:org.matrix.msc2967.client:api:* urn:matrix:client:device:ABCDEFGHIJ",
            "urn:matrix:client:api:* urn:matrix:org.matrix.msc2967.client:device:ABCDEFGHIJ",
            // exactly one device
            "urn:matrix:client:api:* urn:matrix:client:device:ABCDEFGHIJ urn:matrix:client:device:ABCDEFGHIK",
            "urn:matrix:client:api:* urn:matrix:client:device:DEVICE0ONE urn:matrix:client:device:DEVICE0TWO",
            // MAS's device id pattern, at most 255 bytes
            "urn:matrix:client:api:* urn:matrix:client:device:ABCDEFGHI", "urn:matrix:client:api:* urn:matrix:client:device:ABCDEFGHI\"J",
            "urn:matrix:client:api:* urn:matrix:client:device:ABCDEFGHI#J", "urn:matrix:client:api:* urn:matrix:client:device:",
            "urn:matrix:client:api:* urn:matrix:client:device:" + String(repeating: "A", count: 256),
            // devices and admin only with the API scope
            "urn:matrix:client:device:ABCDEFGHIJ", "urn:synapse:admin:*",
            // unknown or unsupported tokens, invalid token characters
            "openid profile", "urn:matrix:client:api:guest", "openid bad\\token",
        ] {
            #expect(throws: AuthorizationScope.Problem.self, "\(refused)") { try resolve(refused) }
        }
    }

    @Test func aClientActingForItselfGetsNoMatrixScope() {
        for refused in [
            "urn:matrix:client:api:*", "urn:matrix:org.matrix.msc2967.client:api:*", "urn:matrix:client:device:ABCDEFGHIJ",
            "urn:matrix:client:api:* urn:matrix:client:device:ABCDEFGHIJ", "urn:synapse:admin:*", "openid profile",
        ] {
            #expect(throws: AuthorizationScope.Problem.self, "\(refused)") { try resolve(refused, for: .clientCredentials) }
        }
    }

    @Test func checkingAStoredScopeAddsNothing() throws {
        let checked = try AuthorizationScope.check("openid urn:matrix:client:api:*").get()
        #expect(checked.deviceId == nil && checked.text == "openid urn:matrix:client:api:*")
        let withDevice = try AuthorizationScope.check("urn:matrix:client:api:* urn:matrix:client:device:TVDEVICE01 urn:synapse:admin:*").get()
        #expect(withDevice.deviceId == "TVDEVICE01" && !withDevice.deviceGenerated)
        #expect(throws: AuthorizationScope.Problem.self) { try AuthorizationScope.check("urn:matrix:client:api:* urn:matrix:client:device:D").get() }
    }

    @Test func theAdminAPIScopeIsKnownAndForAdministratorsOnly() throws {
        let interactive = try resolve("openid urn:mas:admin")
        #expect(interactive.requestsAdminAPI && interactive.deviceId == nil)
        #expect(interactive.allows(administrator: true) && !interactive.allows(administrator: false))
        // Which client may hold it through client_credentials is the token service's decision.
        #expect(try resolve("urn:mas:admin", for: .clientCredentials).text == "urn:mas:admin")
        #expect(AuthorizationScope.stored("urn:mas:admin openid").requestsAdminAPI)
    }

    @Test func theAdminScopeIsForAdministratorsOnly() throws {
        let admin = try resolve("urn:matrix:client:api:* urn:synapse:admin:*")
        #expect(admin.allows(administrator: true) && !admin.allows(administrator: false))
        let plain = try resolve("openid urn:matrix:client:api:*")
        #expect(plain.allows(administrator: false) && plain.allows(administrator: true))
    }

    @Test func aStoredScopeReadsBack() throws {
        let chosen = try resolve("openid email urn:matrix:client:api:* urn:matrix:client:device:my.device~1 urn:synapse:admin:*")
        let stored = AuthorizationScope.stored(chosen.text)
        #expect(stored.deviceId == "my.device~1" && stored.requestsAdmin && stored.requestsClientAPI && stored.requestsOpenID && stored.requestsEmail)
        #expect(!AuthorizationScope.stored("").requestsClientAPI && AuthorizationScope.stored("").deviceId == nil)
    }
}
