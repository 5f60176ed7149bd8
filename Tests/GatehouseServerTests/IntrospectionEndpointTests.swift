import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseIdentity
import GatehouseStorage
import GatehouseTestSupport
import NIOCore
import NIOHTTP1
import Testing

@testable import GatehouseServer

/// The introspection endpoint on a real store (a fresh SQLite file or PostgreSQL database), with a
/// manual clock.
final class IntrospectionFixture {
    /// The test's database.
    let storage: StoreFixture
    let store: any IdentityStore
    let clock = ManualClock()
    let cache = IntrospectionCache()
    let endpoint: IntrospectionEndpoint
    let secret = "the-shared-secret"
    let user: User

    init(_ backend: StoreBackend) async throws {
        storage = try await StoreFixture.make(backend)
        store = try await storage.open()
        endpoint = IntrospectionEndpoint(sharedSecret: secret, validator: TokenValidator(store: store, cache: cache, clock: clock))
        user = try await store.users.create(User(id: ULID.make(at: clock.now(), random: SystemRandom()), username: "alice", createdAt: clock.now()))
    }

    /// The tests end with the fixture going out of scope (no `close()` to forget): closing the
    /// stores and giving the database back is asynchronous, so it finishes in a task of its own.
    deinit {
        let storage = self.storage
        Task { await storage.close() }
    }

    /// Waits until this instance's revision probe has seen every change committed so far. Another
    /// instance's commit reaches it at once on SQLite (shared memory) and by notification, a round
    /// trip later, on PostgreSQL; the wait is bounded (5 s) and fails the test past that.
    func awaitChangesSeen(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let committed = try await store.changeCounter()
        let probe = try store.makeRevisionProbe()
        let deadline = ContinuousClock.now.advanced(by: .seconds(5))
        while (probe.currentRevision() ?? -1) < committed {
            guard ContinuousClock.now < deadline else {
                Issue.record("revision \(committed) not seen within 5 s", sourceLocation: sourceLocation)
                return
            }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Creates a session with a compat access token (and optionally a refresh token); returns the token texts.
    func issue(device: String = "DEVICEID", admin: Bool = false, expiresIn: TimeInterval? = nil, refresh: Bool = false) async throws -> (access: String, refresh: String?) {
        let now = clock.now()
        let random = SystemRandom()
        let access = TokenFormat.generate(.compatAccessToken, random: random)
        let session = CompatSession(id: ULID.make(at: now, random: random), userId: user.id, deviceId: device, isSynapseAdmin: admin, createdAt: now)
        let accessRow = CompatAccessToken(
            id: ULID.make(at: now, random: random), sessionId: session.id, tokenHash: TokenHasher.sha256Hex(access), createdAt: now,
            expiresAt: expiresIn.map { now.addingTimeInterval($0) })
        var refreshText: String?
        var refreshRow: CompatRefreshToken?
        if refresh {
            let text = TokenFormat.generate(.compatRefreshToken, random: random)
            refreshText = text
            refreshRow = CompatRefreshToken(
                id: ULID.make(at: now, random: random), sessionId: session.id, accessTokenId: accessRow.id,
                tokenHash: TokenHasher.sha256Hex(text), createdAt: now)
        }
        try await store.compatSessions.create(session: session, accessToken: accessRow, refreshToken: refreshRow)
        // The caches drop everything when the revision they see moves: a test that expects an answer
        // to stay cached starts once this instance has seen its own commits (on PostgreSQL, a
        // listener that was still starting sees them by notification, a round trip later).
        try await awaitChangesSeen()
        return (access, refreshText)
    }

    func request(token: String?, hint: String? = "access_token", bearer: String? = nil, deviceHeader: Bool = true) -> LocalRequest {
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Bearer \(bearer ?? secret)")
        if deviceHeader { headers.add(name: "X-MAS-Supports-Device-Id", value: "1") }
        var form: [String] = []
        if let token { form.append("token=\(token)") }
        if let hint { form.append("token_type_hint=\(hint)") }
        return LocalRequest(
            method: .POST, target: try! CanonicalPath.parse("/oauth2/introspect").get(), headers: headers,
            body: ByteBuffer(string: form.joined(separator: "&")), peerAddress: "127.0.0.1", isTLS: false)
    }

    func introspect(_ request: LocalRequest) async throws -> (status: Int, json: [String: Any]) {
        let response = await endpoint.respond(to: request)
        let json = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any] ?? [:]
        return (Int(response.status.code), json)
    }
}

@Suite(.serialized)
struct IntrospectionEndpointTests {
    @Test(arguments: StoreBackend.allCases) func activeCompatTokenHasMASShape(_ backend: StoreBackend) async throws {
        let fixture = try await IntrospectionFixture(backend)
        let (token, _) = try await fixture.issue(device: "ABCDEFGHIJ")
        let (status, json) = try await fixture.introspect(fixture.request(token: token))
        #expect(status == 200)
        #expect(json["active"] as? Bool == true)
        #expect(json["scope"] as? String == "urn:matrix:client:api:* urn:matrix:org.matrix.msc2967.client:api:*")
        #expect(json["client_id"] as? String == "legacy")
        #expect(json["username"] as? String == "alice")
        #expect(json["sub"] as? String == fixture.user.id)
        #expect(json["token_type"] as? String == "access_token")
        #expect(json["device_id"] as? String == "ABCDEFGHIJ")
        #expect(json["iat"] as? Int == Int(fixture.clock.now().timeIntervalSince1970))
        #expect(json["expires_in"] == nil, "compat tokens without refresh never expire")

        let (_, legacy) = try await fixture.introspect(fixture.request(token: token, deviceHeader: false))
        #expect(legacy["scope"] as? String
            == "urn:matrix:client:api:* urn:matrix:client:device:ABCDEFGHIJ urn:matrix:org.matrix.msc2967.client:api:* urn:matrix:org.matrix.msc2967.client:device:ABCDEFGHIJ")
    }

    @Test(arguments: StoreBackend.allCases) func adminAndExpiry(_ backend: StoreBackend) async throws {
        let fixture = try await IntrospectionFixture(backend)
        let (token, refresh) = try await fixture.issue(admin: true, expiresIn: 300, refresh: true)
        let (_, json) = try await fixture.introspect(fixture.request(token: token))
        #expect((json["scope"] as? String)?.split(separator: " ").contains("urn:synapse:admin:*") == true)
        #expect(json["expires_in"] as? Int == 300, "an integer, as Synapse's StrictInt requires")
        #expect(json["exp"] as? Int == Int(fixture.clock.now().timeIntervalSince1970) + 300)

        fixture.clock.advance(by: 120.6)
        let (_, later) = try await fixture.introspect(fixture.request(token: token))
        #expect(later["expires_in"] as? Int == 179, "answered from the cache, with the time left recomputed")
        fixture.clock.advance(by: 200)
        #expect(try await fixture.introspect(fixture.request(token: token)).json["active"] as? Bool == false)

        let (_, refreshJSON) = try await fixture.introspect(fixture.request(token: refresh!, hint: "refresh_token"))
        #expect(refreshJSON["token_type"] as? String == "refresh_token")
        #expect(refreshJSON["expires_in"] == nil)
        #expect(try await fixture.introspect(fixture.request(token: refresh!, hint: "access_token")).json.count == 1, "hint mismatch: inactive")
    }

    @Test(
        arguments: StoreBackend.allCases,
        ["", "nonsense", "mct_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz44", "mct_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz43", "mat_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz43"])
    func badTokensAreJustInactive(_ backend: StoreBackend, token: String) async throws {
        let fixture = try await IntrospectionFixture(backend)
        let (status, json) = try await fixture.introspect(fixture.request(token: token))
        #expect(status == 200)
        #expect(json.count == 1 && json["active"] as? Bool == false)
    }

    @Test(arguments: StoreBackend.allCases) func callersAreAuthenticated(_ backend: StoreBackend) async throws {
        let fixture = try await IntrospectionFixture(backend)
        let (token, _) = try await fixture.issue()
        let wrong = try await fixture.introspect(fixture.request(token: token, bearer: "not-the-secret"))
        #expect(wrong.status == 401)
        #expect(wrong.json["error"] as? String == "access_denied")
        var noAuth = fixture.request(token: token)
        noAuth.headers.remove(name: "authorization")
        #expect(try await fixture.introspect(noAuth).status == 401)
        #expect(try await fixture.introspect(fixture.request(token: nil)).json["error"] as? String == "invalid_request")
        var get = fixture.request(token: token)
        get.method = .GET
        #expect(try await fixture.introspect(get).status == 405)
    }

    @Test(arguments: StoreBackend.allCases) func revocationsAreSeenAtOnceEvenFromAnotherProcess(_ backend: StoreBackend) async throws {
        let fixture = try await IntrospectionFixture(backend)
        let (token, _) = try await fixture.issue()
        #expect(try await fixture.introspect(fixture.request(token: token)).json["active"] as? Bool == true)
        // Second lookup comes from memory, on the event loop, without the store.
        #expect(fixture.endpoint.immediateResponse(to: fixture.request(token: token)) != nil)
        #expect(fixture.cache.count == 1)

        // Another process (a second store on the same file, like `gatehouse manage`) locks the user.
        let other = try await fixture.storage.open()
        try await other.users.setLocked(userId: fixture.user.id, at: fixture.clock.now())
        try await fixture.awaitChangesSeen()
        #expect(try await fixture.introspect(fixture.request(token: token)).json["active"] as? Bool == false)

        try await fixture.store.users.setLocked(userId: fixture.user.id, at: nil)
        #expect(try await fixture.introspect(fixture.request(token: token)).json["active"] as? Bool == true)
        let session = try #require(try await fixture.store.compatSessions.activeSessions(userId: fixture.user.id).first)
        try await fixture.store.compatSessions.finish(sessionId: session.id, at: fixture.clock.now())
        #expect(try await fixture.introspect(fixture.request(token: token)).json["active"] as? Bool == false)
    }

    @Test(arguments: StoreBackend.allCases) func deactivatedUsersTokensAreInactive(_ backend: StoreBackend) async throws {
        let fixture = try await IntrospectionFixture(backend)
        let (token, _) = try await fixture.issue()
        try await fixture.store.users.setDeactivated(userId: fixture.user.id, at: fixture.clock.now())
        #expect(try await fixture.introspect(fixture.request(token: token)).json["active"] as? Bool == false)
    }

    @Test(arguments: StoreBackend.allCases) func deviceIdsThatAreNotScopeTokensNeedTheHeader(_ backend: StoreBackend) async throws {
        let fixture = try await IntrospectionFixture(backend)
        let (token, _) = try await fixture.issue(device: "has space")
        #expect(try await fixture.introspect(fixture.request(token: token)).json["device_id"] as? String == "has space")
        #expect(try await fixture.introspect(fixture.request(token: token, deviceHeader: false)).json["active"] as? Bool == false)
    }
}

@Suite(.serialized)
struct EdgeTokenCheckTests {
    @Test(arguments: StoreBackend.allCases) func deadGatehouseTokensAreRefusedOthersForwarded(_ backend: StoreBackend) async throws {
        let fixture = try await IntrospectionFixture(backend)
        let check = EdgeTokenCheck(validator: fixture.endpoint.validator, serverName: "example.org")
        let alice = EdgeTokenCheck.Decision.forward(user: "alice")
        #expect(check.stickyKey(localpart: "alice") == StickyKey("@alice:example.org"), "the key is the Matrix user ID")
        let (token, _) = try await fixture.issue()
        let bearer: HTTPHeaders = ["Authorization": "Bearer \(token)"]
        guard case .lookup(let hash, _, _) = check.decide(method: .GET, headers: bearer, query: nil) else {
            Issue.record("an unknown token must be looked up")
            return
        }
        #expect(await check.resolve(hash: hash, kind: .compatAccessToken, address: nil) == alice, "forwarded, as alice's")
        #expect(check.decide(method: .GET, headers: bearer, query: nil) == alice, "now cached")
        #expect(check.decide(method: .GET, headers: [:], query: "access_token=\(token)&x=1") == alice)

        let session = try #require(try await fixture.store.compatSessions.activeSessions(userId: fixture.user.id).first)
        try await fixture.store.compatSessions.finish(sessionId: session.id, at: fixture.clock.now())
        // The revocation moved the store's counter, so memory is dropped and the store says no.
        #expect(check.decide(method: .GET, headers: bearer, query: nil) == .lookup(hash: hash, kind: .compatAccessToken, address: nil))
        #expect(await check.resolve(hash: hash, kind: .compatAccessToken, address: nil) == .refuse)
        #expect(check.decide(method: .GET, headers: bearer, query: nil) == .refuse, "and from then on memory refuses it")

        // Not Gatehouse's to judge: appservice tokens, other formats, no token, federation signatures.
        #expect(check.decide(method: .GET, headers: ["Authorization": "Bearer as_token_of_a_bridge"], query: nil) == .forward(user: nil))
        #expect(check.decide(method: .GET, headers: [:], query: nil) == .forward(user: nil))
        #expect(check.decide(method: .PUT, headers: ["Authorization": "X-Matrix origin=a,key=\"k\",sig=\"s\""], query: nil) == .forward(user: nil))
        // Synapse's own token format is judged here since imports carry such tokens over: one the
        // store does not hold is dead once Synapse delegates, so it is refused like any other.
        let syt: HTTPHeaders = ["Authorization": "Bearer syt_YWxpY2U_TGhbGTLXNnRmOYvkjodM_1mCNv7"]
        guard case .lookup(let sytHash, .compatAccessToken, _) = check.decide(method: .GET, headers: syt, query: nil) else {
            Issue.record("a syt_ token is looked up")
            return
        }
        #expect(await check.resolve(hash: sytHash, kind: .compatAccessToken, address: nil) == .refuse)
        #expect(MatrixError.inactiveToken.json == #"{"errcode":"M_UNKNOWN_TOKEN","error":"Token is not active","soft_logout":false}"#)
    }

    /// The decision on the proxy path: a GET head with `target` and the header `lines` (each ending in
    /// CRLF), parsed from bytes as a client sent it; `nil` when the parser refuses the head.
    static func decideOnBytes(_ check: EdgeTokenCheck, _ lines: String, target: String) -> EdgeTokenCheck.Decision? {
        let bytes = ByteBuffer(string: "GET \(target) HTTP/1.1\r\nHost: example.org\r\n\(lines)\r\n")
        var head = HTTP1RequestHead()
        var parser = HTTP1RequestHeadParser(limits: HTTP1RequestHeadParser.Limits(maxHeadBytes: 4096, maxTargetBytes: 1024))
        guard case .complete = parser.parse(bytes, into: &head) else { return nil }
        var digests = TokenDigestMemo()
        return check.decide(head, in: bytes, clientAddress: "192.0.2.1", digests: &digests)
    }

    /// The proxy path decides on the head's bytes: a token that cannot be Gatehouse's is forwarded
    /// without being looked at further, Gatehouse's own is looked up and then known, as on headers.
    @Test(arguments: StoreBackend.allCases) func theByteLevelPathDecidesAsTheHeadersPath(_ backend: StoreBackend) async throws {
        let fixture = try await IntrospectionFixture(backend)
        let check = EdgeTokenCheck(validator: fixture.endpoint.validator, serverName: "example.org")
        let (token, _) = try await fixture.issue()
        func decide(_ lines: String, target: String = "/_matrix/client/v3/sync") -> EdgeTokenCheck.Decision? {
            Self.decideOnBytes(check, lines, target: target)
        }
        for foreign in ["Bearer as_token_of_a_bridge", "Bearer syr_YWxpY2U_pQkQUbJxWqbGydNhCBsf_2Lq0Tm", "Bearer mct_",
                        "Bearer mct_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz44"] {  // the last: a checksum that does not match
            #expect(decide("Authorization: \(foreign)\r\n") == .forward(user: nil), "\(foreign)")
        }
        #expect(decide("", target: "/_matrix/client/v3/sync?access_token=as_token_of_a_bridge") == .forward(user: nil))
        #expect(decide("Authorization: Bearer as_token\r\n", target: "/x?access_token=as_token") == .ambiguous(
            MatrixError(status: 401, code: .missingToken, message: AccessToken.Message.mixing)), "a foreign token still counts as a token")
        guard case .lookup(let hash, .compatAccessToken, "192.0.2.1") = decide("Authorization: Bearer \(token)\r\n") else {
            Issue.record("Gatehouse's token is looked up")
            return
        }
        #expect(await check.resolve(hash: hash, kind: .compatAccessToken, address: nil) == .forward(user: "alice"))
        #expect(decide("Authorization: Bearer \(token)\r\n") == .forward(user: "alice"))
        #expect(decide("", target: "/x?access_token=\(token)") == .forward(user: "alice"))
    }

    /// Every spelling of a dead token that Synapse would read is refused: as the token (dead), or as
    /// ambiguous; none is forwarded or looked up as something else.
    @Test(arguments: StoreBackend.allCases) func deadTokenIsRefusedInEverySpellingSynapseReads(_ backend: StoreBackend) async throws {
        let fixture = try await IntrospectionFixture(backend)
        let check = EdgeTokenCheck(validator: fixture.endpoint.validator, serverName: "example.org")
        let alice = EdgeTokenCheck.Decision.forward(user: "alice")
        let (dead, _) = try await fixture.issue(device: "DEAD")
        let (live, _) = try await fixture.issue(device: "LIVE")
        let sessions = try await fixture.store.compatSessions.activeSessions(userId: fixture.user.id)
        let session = try #require(sessions.first(where: { $0.deviceId == "DEAD" }))
        try await fixture.store.compatSessions.finish(sessionId: session.id, at: fixture.clock.now())
        for token in [dead, live] {
            guard case .lookup(let hash, _, _) = check.decide(method: .GET, headers: ["Authorization": "Bearer \(token)"], query: nil) else {
                Issue.record("first sight of a token is a lookup")
                return
            }
            #expect(await check.resolve(hash: hash, kind: .compatAccessToken, address: nil) == (token == live ? alice : .refuse))
        }
        let missing = { (message: String) in EdgeTokenCheck.Decision.ambiguous(MatrixError(status: 401, code: .missingToken, message: message)) }

        let refusedAsDead = [
            "access_token=\(dead)", "access%5Ftoken=\(dead)", "access%5ftoken=\(dead)", "%61ccess_token=\(dead)",
            "%61%63%63%65%73%73%5F%74%6F%6B%65%6E=\(dead)", "access_token=\(dead)&x=%zz", "access_token=\(dead)&x=%ff",
            "x=%zz&access_token=\(dead)", "x=1;access_token=\(dead)", "access_token=\(dead);x=1", "x=1;access%5Ftoken=\(dead)",
            "x=1&access_token=\(dead)&y=2", "access_token=%6D%63%74%5F\(dead.dropFirst(4))",
        ]
        for query in refusedAsDead {
            #expect(check.decide(method: .GET, headers: [:], query: Substring(query)) == .refuse, "\(query)")
            // The proxy path reads the same bytes as a client sent them: no spelling passes as another's
            // token (a percent-encoded `mct_` is Gatehouse's once decoded, as Synapse decodes it).
            #expect(Self.decideOnBytes(check, "", target: "/_matrix/client/v3/sync?\(query)") == .refuse, "bytes: \(query)")
        }
        let ambiguousQueries = [
            "access_token=\(dead)&access_token=\(dead)", "access_token=\(dead)&access_token=\(live)", "access_token=\(live)&access_token=\(dead)",
            "access_token=\(live);access%5Ftoken=\(dead)", "access_token=&access_token=\(dead)", "access_token=\(dead)+",
            "access_token=\(dead)%zz", "access_token=\(dead)%C3%A9",
        ]
        for query in ambiguousQueries {
            guard case .ambiguous(let error) = check.decide(method: .GET, headers: [:], query: Substring(query)),
                case .ambiguous(let onBytes)? = Self.decideOnBytes(check, "", target: "/_matrix/client/v3/sync?\(query)")
            else {
                Issue.record("\(query) must be refused as ambiguous, on headers and on bytes")
                continue
            }
            #expect(error.status == 401 && error.code == .missingToken && onBytes == error, "\(query)")
        }
        // Headers: exact `Bearer` spelling only, one header, never with a query token.
        #expect(check.decide(method: .GET, headers: ["Authorization": "Bearer \(dead)"], query: "since=1") == .refuse)
        #expect(check.decide(method: .GET, headers: ["Authorization": "\tBearer \(dead) "], query: nil) == .refuse)
        #expect(check.decide(method: .GET, headers: ["Authorization": "bearer \(dead)"], query: nil) == missing(AccessToken.Message.invalidHeader))
        #expect(check.decide(method: .GET, headers: ["Authorization": "Bearer  \(dead)"], query: nil) == missing(AccessToken.Message.invalidHeader))
        var two = HTTPHeaders()
        two.add(name: "Authorization", value: "Bearer \(live)")
        two.add(name: "Authorization", value: "Bearer \(dead)")
        #expect(check.decide(method: .GET, headers: two, query: nil) == missing(AccessToken.Message.tooManyHeaders))
        let liveHeader: HTTPHeaders = ["Authorization": "Bearer \(live)"]
        for query in ["access_token=\(dead)", "access%5Ftoken=\(dead)", "x=1;access_token=\(dead)", "access_token="] {
            #expect(check.decide(method: .GET, headers: liveHeader, query: Substring(query)) == missing(AccessToken.Message.mixing), "\(query)")
            #expect(
                Self.decideOnBytes(check, "Authorization: Bearer \(live)\r\n", target: "/x?\(query)") == missing(AccessToken.Message.mixing),
                "bytes: \(query)")
        }
        // The same header spellings on the proxy path.
        let onBytes = { (lines: String) in Self.decideOnBytes(check, lines, target: "/x?since=1") }
        #expect(onBytes("Authorization: Bearer \(dead)\r\n") == .refuse)
        #expect(onBytes("Authorization: \tBearer \(dead) \r\n") == .refuse)
        #expect(onBytes("Authorization: bearer \(dead)\r\n") == missing(AccessToken.Message.invalidHeader))
        #expect(onBytes("Authorization: Bearer  \(dead)\r\n") == missing(AccessToken.Message.invalidHeader))
        #expect(onBytes("Authorization: Bearer \(live)\r\nAuthorization: Bearer \(dead)\r\n") == missing(AccessToken.Message.tooManyHeaders))
        #expect(onBytes("Authorization: Bearer \(live)\r\n") == alice)
        // A form-encoded POST body, which Twisted merges into the query arguments, is read whole first.
        let form: HTTPHeaders = ["Content-Type": "application/x-www-form-urlencoded", "Content-Length": "40"]
        #expect(check.decide(method: .POST, headers: form, query: nil) == .awaitFormBody(headReading: .none))
        #expect(
            check.decide(method: .POST, headers: form, query: Substring("access_token=\(live)"))
                == .awaitFormBody(headReading: .token(live)))
        #expect(check.decide(method: .POST, headers: form, query: "access_token=a&access_token=b") == missing(AccessToken.Message.repeatedQuery))
        let multipart: HTTPHeaders = ["Content-Type": "multipart/form-data; boundary=x", "Content-Length": "40"]
        #expect(check.decide(method: .POST, headers: multipart, query: nil) == missing(AccessToken.Message.formBody))
        func body(_ text: String, head: AccessToken.Reading = .none) -> EdgeTokenCheck.Decision {
            check.decide(formBody: ByteBuffer(string: text), headReading: head, clientAddress: "192.0.2.1")
        }
        #expect(body("access_token=\(dead)") == .refuse)
        #expect(body("x=1&access_token=\(live)") == alice)
        #expect(body("List-Unsubscribe=One-Click") == .forward(user: nil))
        #expect(body("List-Unsubscribe=One-Click", head: .token(live)) == alice)
        #expect(body("access_token=\(live)", head: .token(live)) == missing(AccessToken.Message.queryAndBody))
        var formWithHeader = form
        formWithHeader.add(name: "Authorization", value: "Bearer \(live)")
        #expect(check.decide(method: .POST, headers: formWithHeader, query: nil) == alice, "with a header a body token only makes Synapse refuse")

        // The live token goes through in the spellings clients use.
        #expect(check.decide(method: .GET, headers: liveHeader, query: "since=1") == alice)
        #expect(check.decide(method: .GET, headers: [:], query: Substring("access_token=\(live)")) == alice)
        #expect(check.decide(method: .GET, headers: [:], query: Substring("access%5Ftoken=\(live)")) == alice)
        #expect(check.decide(method: .POST, headers: ["Authorization": "Bearer \(live)", "Content-Type": "application/json"], query: nil) == alice)
    }
}

struct BearerSchemeTests {
    @Test func schemeIsCaseInsensitiveAndNeedsAToken() {
        #expect(BearerScheme.hasPrefix("Bearer abc"))
        #expect(BearerScheme.hasPrefix("bearer abc"))
        #expect(BearerScheme.hasPrefix("BEARER abc"))
        #expect(!BearerScheme.hasPrefix("Bearer "))
        #expect(!BearerScheme.hasPrefix("Basic abc"))
        #expect(!BearerScheme.hasPrefix("Bearerabc"))
        #expect(!BearerScheme.hasPrefix(""))
    }
}

/// Tokens `gatehouse import-synapse` carried over from Synapse: `syt_`/`syr_` stored as hashes.
@Suite(.serialized)
struct ImportedSynapseTokenTests {
    static let access = "syt_YWxpY2U_TGhbGTLXNnRmOYvkjodM_1mCNv7"
    static let refresh = "syr_YWxpY2U_pQkQUbJxWqbGydNhCBsf_2Lq0Tm"

    /// Stores a session for device `OLDPHONE` with the two Synapse tokens, as an import does.
    func importTokens(_ fixture: IntrospectionFixture, expiresIn: TimeInterval? = nil) async throws {
        let now = fixture.clock.now()
        var batch = AccountImportBatch()
        let session = CompatSession(id: ULID.make(at: now, random: SystemRandom()), userId: fixture.user.id, deviceId: "OLDPHONE", createdAt: now)
        let access = CompatAccessToken(
            id: ULID.make(at: now, random: SystemRandom()), sessionId: session.id, tokenHash: TokenHasher.sha256Hex(Self.access),
            createdAt: now, expiresAt: expiresIn.map { now.addingTimeInterval($0) })
        batch.sessions = [session]
        batch.accessTokens = [access]
        batch.refreshTokens = [CompatRefreshToken(
            id: ULID.make(at: now, random: SystemRandom()), sessionId: session.id, accessTokenId: access.id,
            tokenHash: TokenHasher.sha256Hex(Self.refresh), createdAt: now)]
        try await fixture.storage.accountImport(fixture.store).write(batch) { _ in }
    }

    @Test(arguments: StoreBackend.allCases) func importedTokensIntrospectActiveForTheirUserAndDevice(_ backend: StoreBackend) async throws {
        let fixture = try await IntrospectionFixture(backend)
        try await importTokens(fixture, expiresIn: 300)
        let (status, json) = try await fixture.introspect(fixture.request(token: Self.access))
        #expect(status == 200)
        #expect(json["active"] as? Bool == true)
        #expect(json["username"] as? String == "alice")
        #expect(json["device_id"] as? String == "OLDPHONE")
        #expect(json["expires_in"] as? Int == 300, "valid_until_ms carried over")
        let (_, refresh) = try await fixture.introspect(fixture.request(token: Self.refresh, hint: "refresh_token"))
        #expect(refresh["active"] as? Bool == true)
        #expect(refresh["token_type"] as? String == "refresh_token")
        let (_, mismatched) = try await fixture.introspect(fixture.request(token: Self.refresh, hint: "access_token"))
        #expect(mismatched["active"] as? Bool == false, "a syr_ token is not an access token")

        let check = EdgeTokenCheck(validator: fixture.endpoint.validator, serverName: "example.org")
        #expect(
            check.decide(method: .GET, headers: ["Authorization": "Bearer \(Self.access)"], query: nil) == .forward(user: "alice"),
            "forwarded as alice's (known from the introspection above)")

        fixture.clock.advance(by: 301)
        let (_, expired) = try await fixture.introspect(fixture.request(token: Self.access))
        #expect(expired["active"] as? Bool == false, "and it expires when Synapse said it would")
    }

    @Test(arguments: StoreBackend.allCases) func aSynapseTokenTheStoreDoesNotHoldIsInactive(_ backend: StoreBackend) async throws {
        let fixture = try await IntrospectionFixture(backend)
        try await importTokens(fixture)
        let (_, json) = try await fixture.introspect(fixture.request(token: "syt_YWxpY2U_someOtherRandomPart_0abcde"))
        #expect(json["active"] as? Bool == false)
    }
}

@Suite(.serialized)
struct EdgeActivityTests {
    /// Every forwarded use of an active token is recorded in memory with the address Gatehouse
    /// forwards; nothing reaches the store until the flusher writes.
    @Test(arguments: StoreBackend.allCases) func theEdgeCheckRecordsLastUseAndAddressInMemory(_ backend: StoreBackend) async throws {
        let fixture = try await IntrospectionFixture(backend)
        let activity = SessionActivityRecorder()
        let check = EdgeTokenCheck(
            validator: TokenValidator(store: fixture.store, cache: IntrospectionCache(), clock: fixture.clock, activity: activity),
            serverName: "example.org")
        let (token, _) = try await fixture.issue(device: "EDGEDEVICE")
        let session = try #require(try await fixture.store.compatSessions.activeSessions(userId: fixture.user.id).first)
        var headers: HTTPHeaders = ["Authorization": "Bearer \(token)", "X-Forwarded-For": "192.0.2.44"]
        guard case .lookup(let hash, let kind, let address) = check.decide(method: .GET, headers: headers, query: nil) else {
            Issue.record("an unknown token must be looked up")
            return
        }
        #expect(address == "192.0.2.44", "the lookup carries the address it will record")
        _ = await check.resolve(hash: hash, kind: kind, address: address)
        #expect(activity.pending(sessionId: session.id) == SessionActivity(
            kind: .compat, sessionId: session.id, lastActiveAt: fixture.clock.now(), address: "192.0.2.44"),
            "the first use, read from the store, records the time and the address")
        fixture.clock.advance(by: 30)
        #expect(check.decide(method: .GET, headers: headers, query: nil) == .forward(user: "alice"))
        #expect(activity.pending(sessionId: session.id) == SessionActivity(
            kind: .compat, sessionId: session.id, lastActiveAt: fixture.clock.now(), address: "192.0.2.44"))
        headers.replaceOrAdd(name: "X-Forwarded-For", value: "192.0.2.45")
        fixture.clock.advance(by: 30)
        _ = check.decide(method: .GET, headers: headers, query: nil)
        #expect(activity.drain() == [SessionActivity(kind: .compat, sessionId: session.id, lastActiveAt: fixture.clock.now(), address: "192.0.2.45")])
    }
}
