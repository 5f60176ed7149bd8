import Foundation
import GatehouseTesting
import NIOPosix
import Testing

@testable import GatehouseHomeserver

/// Every `/_synapse/mas/*` call against the in-process fake Synapse: what is sent, and how answers map.
struct SynapseClientTests {
    // MARK: Users

    @Test func queryUserSendsTheSecretAndDecodesTheUser() async throws {
        try await withSynapse { fake, client async throws in
            fake.addUser(.init(localpart: "alice", displayName: "Alice", avatarURL: "mxc://example.test/a"))
            let user = try await client.queryUser(localpart: "alice")
            #expect(
                user == SynapseUser(userId: "@alice:example.test", displayName: "Alice", avatarURL: "mxc://example.test/a", isSuspended: false,
                    isDeactivated: false))
            let request = try #require(fake.requests.last)
            #expect(request.method == "GET")
            #expect(request.path == "/_synapse/mas/query_user")
            #expect(request.query == ["localpart": "alice"])
            #expect(request.header("authorization") == ["Bearer \(sharedSecret)"])
        }
    }

    @Test func queryUserReturnsNilForAnUnknownUser() async throws {
        try await withSynapse { _, client async throws in
            #expect(try await client.queryUser(localpart: "nobody") == nil)
        }
    }

    @Test func localpartsArePercentEncodedInTheQuery() async throws {
        try await withSynapse { fake, client async throws in
            // `+` would arrive as a space if sent as is; `/` and `=` are valid in localparts.
            fake.addUser(.init(localpart: "a+b/c=d"))
            let user = try await client.queryUser(localpart: "a+b/c=d")
            #expect(user?.userId == "@a+b/c=d:example.test")
            #expect(fake.requests.last?.query["localpart"] == "a+b/c=d")
        }
        #expect(SynapseClient.percentEncoded("a+b/c d&é") == "a%2Bb%2Fc%20d%26%C3%A9")
    }

    @Test func provisionUserCreatesThenUpdates() async throws {
        try await withSynapse { fake, client async throws in
            let created = try await client.provisionUser(
                .init(localpart: "alice", setDisplayname: "Alice", setEmails: ["alice@example.test"], locked: false))
            #expect(created == .created)
            let sent = #"{"localpart":"alice","locked":false,"set_displayname":"Alice","set_emails":["alice@example.test"]}"#
            #expect(fake.requests.last?.body == sent)
            #expect(fake.requests.last?.header("content-type") == ["application/json"])

            let updated = try await client.provisionUser(.init(localpart: "alice", unsetDisplayname: true, unsetEmails: true, locked: true))
            #expect(updated == .updated)
            #expect(fake.requests.last?.body == #"{"localpart":"alice","locked":true,"unset_displayname":true,"unset_emails":true}"#)
            let stored = try #require(fake.user("alice"))
            #expect(stored.displayName == nil && stored.emails.isEmpty && stored.locked)

            // Only the localpart: nothing else changes.
            #expect(try await client.provisionUser(.init(localpart: "alice")) == .updated)
            #expect(fake.requests.last?.body == #"{"localpart":"alice"}"#)
            #expect(fake.user("alice")?.locked == true)

            try await client.provisionUser(.init(localpart: "alice", setAvatarURL: "mxc://example.test/x"))
            #expect(fake.user("alice")?.avatarURL == "mxc://example.test/x")
            try await client.provisionUser(.init(localpart: "alice", unsetAvatarURL: true))
            #expect(fake.requests.last?.body == #"{"localpart":"alice","unset_avatar_url":true}"#)
            #expect(fake.user("alice")?.avatarURL == nil)
        }
    }

    @Test func provisionUserRefusesAnInvalidLocalpart() async throws {
        try await withSynapse { _, client async throws in
            let error = await #expect(throws: SynapseError.self) {
                try await client.provisionUser(.init(localpart: "Erin"))
            }
            #expect(error == .matrix(status: 400, errcode: "M_INVALID_USERNAME"))
            #expect(error?.isRetryable == false)
            #expect(error?.path == "_synapse/mas/provision_user")
        }
    }

    @Test func provisionRequestKeepsSetAndUnsetExclusive() {
        var request = ProvisionUserRequest(localpart: "alice", setDisplayname: "Alice", setEmails: ["a@example.test"])
        request.unsetDisplayname = true
        #expect(request.setDisplayname == nil && request.unsetDisplayname)
        request.setDisplayname = "Again"
        #expect(request.setDisplayname == "Again" && !request.unsetDisplayname)
        request.setDisplayname = nil
        #expect(request.setDisplayname == nil && !request.unsetDisplayname)
        request.unsetEmails = true
        #expect(request.setEmails == nil)
        request.unsetEmails = false
        #expect(request.setEmails == nil && !request.unsetEmails)
    }

    @Test func localpartAvailability() async throws {
        try await withSynapse { fake, client async throws in
            fake.addUser(.init(localpart: "taken"))
            fake.exclusivePrefixes = ["irc_"]
            #expect(try await client.isLocalpartAvailable("newbie"))
            #expect(fake.requests.last?.path == "/_synapse/mas/is_localpart_available")
            #expect(try await client.isLocalpartAvailable("taken") == false)  // M_USER_IN_USE
            #expect(try await client.isLocalpartAvailable("Erin") == false)  // M_INVALID_USERNAME
            #expect(try await client.isLocalpartAvailable("irc_bob") == false)  // M_EXCLUSIVE

            let before = fake.requests.count
            #expect(try await client.isLocalpartAvailable("zoë") == false)
            #expect(fake.requests.count == before, "non-ASCII localparts are refused without asking")

            fake.failNext(500)
            let error = await #expect(throws: SynapseError.self) { try await client.isLocalpartAvailable("newbie") }
            #expect(error?.isRetryable == true)
            fake.failNext(400, errcode: "M_UNKNOWN", error: "Missing localpart")
            await #expect(throws: SynapseError.matrix(status: 400, errcode: "M_UNKNOWN")) { try await client.isLocalpartAvailable("newbie") }
        }
    }

    @Test func deleteAndReactivateUser() async throws {
        try await withSynapse { fake, client async throws in
            fake.addUser(.init(localpart: "alice", devices: ["DEV1": .init()]))
            try await client.deleteUser(localpart: "alice", erase: true)
            #expect(fake.requests.last?.path == "/_synapse/mas/delete_user")
            #expect(fake.requests.last?.body == #"{"erase":true,"localpart":"alice"}"#)
            let deleted = try #require(fake.user("alice"))
            #expect(deleted.deactivated && deleted.erased && deleted.devices.isEmpty)
            #expect(try await client.queryUser(localpart: "alice")?.isDeactivated == true)

            try await client.reactivateUser(localpart: "alice")
            #expect(fake.requests.last?.body == #"{"localpart":"alice"}"#)
            #expect(fake.user("alice")?.deactivated == false)

            try await client.deleteUser(localpart: "alice", erase: false)
            #expect(fake.requests.last?.body == #"{"erase":false,"localpart":"alice"}"#)

            await #expect(throws: SynapseError.notFound()) { try await client.deleteUser(localpart: "ghost", erase: false) }
            await #expect(throws: SynapseError.notFound()) { try await client.reactivateUser(localpart: "ghost") }
        }
    }

    @Test func displaynameAndCrossSigning() async throws {
        try await withSynapse { fake, client async throws in
            fake.addUser(.init(localpart: "alice"))
            try await client.setDisplayname(localpart: "alice", displayname: "Alice A.")
            #expect(fake.requests.last?.path == "/_synapse/mas/set_displayname")
            #expect(fake.requests.last?.body == #"{"displayname":"Alice A.","localpart":"alice"}"#)
            #expect(fake.user("alice")?.displayName == "Alice A.")

            try await client.unsetDisplayname(localpart: "alice")
            #expect(fake.requests.last?.path == "/_synapse/mas/unset_displayname")
            #expect(fake.user("alice")?.displayName == nil)

            try await client.allowCrossSigningReset(localpart: "alice")
            #expect(fake.requests.last?.path == "/_synapse/mas/allow_cross_signing_reset")
            #expect(fake.requests.last?.body == #"{"localpart":"alice"}"#)
            #expect(fake.user("alice")?.crossSigningResetAllowed == true)

            await #expect(throws: SynapseError.notFound()) { try await client.setDisplayname(localpart: "ghost", displayname: "x") }
            await #expect(throws: SynapseError.notFound()) { try await client.unsetDisplayname(localpart: "ghost") }
            await #expect(throws: SynapseError.notFound()) { try await client.allowCrossSigningReset(localpart: "ghost") }
        }
    }

    // MARK: Devices

    @Test func upsertRenameAndDeleteDevices() async throws {
        try await withSynapse { fake, client async throws in
            fake.addUser(.init(localpart: "alice"))
            #expect(try await client.upsertDevice(localpart: "alice", deviceId: "DEV1", displayName: "Phone") == .created)
            #expect(fake.requests.last?.body == #"{"device_id":"DEV1","display_name":"Phone","localpart":"alice"}"#)
            #expect(try await client.upsertDevice(localpart: "alice", deviceId: "DEV1") == .updated)
            #expect(fake.requests.last?.body == #"{"device_id":"DEV1","localpart":"alice"}"#)
            #expect(fake.user("alice")?.devices["DEV1"]?.displayName == "Phone")

            try await client.updateDeviceDisplayName(localpart: "alice", deviceId: "DEV1", displayName: "Tablet")
            #expect(fake.requests.last?.path == "/_synapse/mas/update_device_display_name")
            #expect(fake.user("alice")?.devices["DEV1"]?.displayName == "Tablet")
            await #expect(throws: SynapseError.notFound()) {
                try await client.updateDeviceDisplayName(localpart: "alice", deviceId: "NOPE", displayName: "x")
            }

            try await client.deleteDevice(localpart: "alice", deviceId: "DEV1")  // 204, no body
            #expect(fake.requests.last?.body == #"{"device_id":"DEV1","localpart":"alice"}"#)
            #expect(fake.user("alice")?.devices.isEmpty == true)
            try await client.deleteDevice(localpart: "alice", deviceId: "DEV1")  // unknown device: still 204

            await #expect(throws: SynapseError.notFound()) { try await client.upsertDevice(localpart: "ghost", deviceId: "D") }
            await #expect(throws: SynapseError.notFound()) { try await client.deleteDevice(localpart: "ghost", deviceId: "D") }
        }
    }

    @Test func syncDevicesSendsASortedSetAndReplacesTheList() async throws {
        try await withSynapse { fake, client async throws in
            fake.addUser(.init(localpart: "alice", devices: ["DEV1": .init(), "DEV2": .init(displayName: "Kept"), "DEHY": .init(dehydrated: true)]))
            try await client.syncDevices(localpart: "alice", devices: ["DEV3", "DEV2", "DEV3"])
            #expect(fake.requests.last?.path == "/_synapse/mas/sync_devices")
            #expect(fake.requests.last?.body == #"{"devices":["DEV2","DEV3"],"localpart":"alice"}"#)
            let devices = try #require(fake.user("alice")?.devices)
            #expect(Set(devices.keys) == ["DEV2", "DEV3", "DEHY"])
            #expect(devices["DEV2"]?.displayName == "Kept")

            try await client.syncDevices(localpart: "alice", devices: [String]())
            #expect(fake.requests.last?.body == #"{"devices":[],"localpart":"alice"}"#)
            await #expect(throws: SynapseError.notFound()) { try await client.syncDevices(localpart: "ghost", devices: ["A"]) }
        }
    }

    // MARK: Failures

    @Test func aWrongSecretIsUnauthorizedAndSaysWhatToCheck() async throws {
        let wrong = "not-the-right-secret-9000"
        try await withSynapse(secret: wrong) { fake, client async throws in
            let error = await #expect(throws: SynapseError.self) { try await client.queryUser(localpart: "alice") }
            #expect(error == .unauthorized(status: 403))
            #expect(error?.isUnauthorized == true && error?.isRetryable == false)
            let text = error?.description ?? ""
            #expect(text.contains("matrix.secret") && text.contains("matrix_authentication_service.secret"))
            #expect(text.contains("This endpoint must only be called by MAS"))
            #expect(!text.contains(wrong) && !text.contains(sharedSecret))
            #expect(fake.requests.last?.header("authorization") == ["Bearer \(wrong)"])
        }
        try await withSynapse(secret: "") { _, client async throws in
            await #expect(throws: SynapseError.unauthorized(status: 401)) { try await client.provisionUser(.init(localpart: "alice")) }
        }
    }

    @Test func aClosedPortIsUnreachableAndRetryable() async throws {
        // A port bound but not listening refuses connections, and no other process can take it while
        // the socket is held (a stopped server's port can be reused by a parallel test meanwhile).
        let closed = try ClosedPort()
        defer { closed.release() }
        let endpoint = "http://127.0.0.1:\(closed.port)/"
        // A client retrying refused connections would fail only at its deadline (120 s); the 60 s bound
        // is far from both that and a slow machine's instant.
        let client = SynapseClient(configuration: .init(endpoint: endpoint, secret: sharedSecret, requestTimeout: .seconds(120)))
        let started = ContinuousClock.now
        let error = await #expect(throws: SynapseError.self) { try await client.provisionUser(.init(localpart: "alice")) }
        #expect(ContinuousClock.now - started < .seconds(60), "a refused connection fails without retrying until the deadline")
        #expect(error == .unreachable())
        #expect(error?.isRetryable == true && error?.status == nil)
        #expect(error?.description.contains("matrix.endpoint") == true)
        try await client.shutdown()
    }

    @Test func aSynapseThatDropsConnectionsIsUnreachable() async throws {
        try await withSynapse { fake, client async throws in
            fake.down = true
            let error = await #expect(throws: SynapseError.self) { try await client.provisionUser(.init(localpart: "alice")) }
            #expect(error?.isUnreachable == true && error?.isRetryable == true)
            fake.down = false
            #expect(try await client.provisionUser(.init(localpart: "alice")) == .created)
        }
    }

    /// Synapse holds every answer back for 30 s, far beyond the deadline under test: the call can only
    /// fail with the deadline's error if the deadline cut it (without it the answer would arrive, and
    /// the call succeed). No wall-clock assertion: 30 s only bounds how long a failing test hangs.
    @Test func theDeadlineCapsEveryCall() async throws {
        try await withSynapse(requestTimeout: .milliseconds(300)) { fake, client async throws in
            fake.addUser(.init(localpart: "alice"))
            fake.responseDelay = .seconds(30)
            await #expect(throws: SynapseError.unreachable()) { try await client.queryUser(localpart: "alice") }
            // The request reached Synapse: the error is the deadline, not a refused connection.
            #expect(fake.requests.count == 1)
        }
    }

    @Test func aShorterPerCallDeadlineWinsOverTheClients() async throws {
        // The client's own deadline (60 s) is longer than Synapse's delay (30 s): only the per-call
        // deadline can make this call fail.
        try await withSynapse(requestTimeout: .seconds(60)) { fake, client async throws in
            fake.addUser(.init(localpart: "alice"))
            fake.responseDelay = .seconds(30)
            await #expect(throws: SynapseError.unreachable()) { try await client.queryUser(localpart: "alice", timeout: .milliseconds(300)) }
            #expect(fake.requests.count == 1)
        }
    }

    @Test func serverErrorsAndProxyPagesAreRetryable() async throws {
        try await withSynapse { fake, client async throws in
            fake.failNext(503)
            let matrix = await #expect(throws: SynapseError.self) { try await client.provisionUser(.init(localpart: "alice")) }
            #expect(matrix == .matrix(status: 503, errcode: "M_UNKNOWN") && matrix?.isRetryable == true)

            fake.failNext(502, rawBody: "<html><body>Bad Gateway</body></html>")
            let proxy = await #expect(throws: SynapseError.self) { try await client.provisionUser(.init(localpart: "alice")) }
            #expect(proxy == .unexpected(status: 502) && proxy?.isRetryable == true)
            #expect(proxy?.message.contains("Bad Gateway") == true)

            fake.failNext(429, errcode: "M_LIMIT_EXCEEDED", error: "Too Many Requests")
            let limited = await #expect(throws: SynapseError.self) { try await client.provisionUser(.init(localpart: "alice")) }
            #expect(limited?.isRetryable == true && limited?.errcode == "M_LIMIT_EXCEEDED")

            // A Synapse without MAS mode answers an HTML 404: not "user not found".
            fake.failNext(404, rawBody: "<html><title>404 - No Such Resource</title></html>")
            await #expect(throws: SynapseError.unexpected(status: 404)) { try await client.queryUser(localpart: "alice") }

            #expect(try await client.provisionUser(.init(localpart: "alice")) == .created)
        }
    }

    @Test func theSecretIsNeverLoggedOrPrinted() async throws {
        let capture = LogCapture()
        try await withSynapse(logger: capture.logger()) { fake, client async throws in
            fake.addUser(.init(localpart: "alice"))
            _ = try await client.queryUser(localpart: "alice")
            try await client.provisionUser(.init(localpart: "bob"))
            fake.failNext(500)
            _ = try? await client.provisionUser(.init(localpart: "bob"))
            fake.down = true
            _ = try? await client.queryUser(localpart: "alice")
        }
        #expect(capture.all.contains { $0.contains("_synapse/mas/provision_user") }, "calls are logged at debug")
        #expect(!capture.all.contains { $0.contains(sharedSecret) })

        let configuration = SynapseClient.Configuration(endpoint: "http://synapse:8008", secret: sharedSecret)
        #expect(configuration.endpoint == "http://synapse:8008/")
        var dumped = ""
        dump(configuration, to: &dumped)
        for text in ["\(configuration)", String(reflecting: configuration), dumped] {
            #expect(!text.contains(sharedSecret))
            #expect(text.contains("<redacted>"))
        }
    }
}

/// A loopback TCP port held by a socket that is bound but never listens: connecting to it is refused.
private struct ClosedPort {
    let descriptor: Int32
    let port: Int

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard descriptor >= 0, bound else { throw POSIXError(.EADDRNOTAVAIL) }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func release() {
        close(descriptor)
    }
}
