import CryptoExtras
import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseTestSupport
import GatehouseIdentity
import GatehouseStorage
import GatehouseTesting
import NIOHTTP1
import Testing

@testable import GatehouseServer

/// The account page and its MSC4191 deep links, on the store (SQLite and PostgreSQL) with the scripted Synapse.
@Suite(.serialized)
struct AccountPagesTests {
    static let storeRepositories = PagesFixture.Options(storeRepositories: true)

    /// A compat session with a device in Synapse; returns its session id.
    static func device(_ fixture: PagesFixture, _ username: String, _ deviceId: String) async throws -> String {
        _ = try await fixture.accounts.issueCompatibilityToken(username: username, deviceId: deviceId, synapseAdmin: false)
        let user = try #require(try await fixture.store.users.find(username: username))
        return try #require(try await fixture.store.compatSessions.activeSession(userId: user.id, deviceId: deviceId)).id
    }

    /// Signs in and opens the account page, whose forms carry the new cookie's CSRF token.
    static func signIn(_ fixture: PagesFixture) async throws {
        try await fixture.signIn()
        _ = await fixture.get("/account/")
    }

    /// An OAuth 2.0 session of `user` without a device (as a client with only `openid` has); returns its id.
    static func oauth2Session(_ fixture: PagesFixture, _ user: User, clientId: String) async throws -> String {
        let now = fixture.clock.now()
        let session = OAuth2Session(
            id: ULID.make(at: now, random: SystemRandom()), clientId: clientId, userId: user.id, scope: "openid", deviceId: nil, createdAt: now)
        let token = OAuth2AccessToken(
            id: ULID.make(at: now, random: SystemRandom()), sessionId: session.id,
            tokenHash: TokenHasher.sha256Hex(TokenFormat.generate(.accessToken, random: SystemRandom())), createdAt: now,
            expiresAt: now.addingTimeInterval(300))
        try await fixture.store.oauth2Sessions.create(session: session, accessToken: token, refreshToken: nil, grantId: nil)
        return session.id
    }

    static func devices(_ fixture: PagesFixture, _ username: String) -> Set<String> {
        Set(fixture.synapse.user(username)?.devices.keys.map { $0 } ?? [])
    }

    @Test(arguments: StoreBackend.allCases) func deepLinkWithoutASessionGoesThroughLoginAndEndsTheDevice(_ backend: StoreBackend) async throws {
        try await withPages(backend, Self.storeRepositories) { fixture in
            try await fixture.register("alice")
            let sessionId = try await Self.device(fixture, "alice", "PHONEDEVICE")
            _ = try await Self.device(fixture, "alice", "LAPTOPDEVICE")
            let link = "/account/?action=org.matrix.device_delete&device_id=PHONEDEVICE"
            let toLogin = await fixture.get(link)
            #expect(toLogin.status == 303)
            #expect(toLogin.location == "/login?kind=manage_account&action=org.matrix.device_delete&device_id=PHONEDEVICE")
            let login = try #require(toLogin.location)
            #expect(await fixture.get(login).status == 200)
            let signedIn = await fixture.post(login, [("username", "alice"), ("password", "correct horse")])
            #expect(signedIn.status == 303 && signedIn.location == link, "back to the action after the login")
            let confirm = await fixture.get(link)
            #expect(confirm.status == 303 && confirm.location == "/account/sessions/\(sessionId)/end")
            let page = await fixture.get("/account/sessions/\(sessionId)/end")
            #expect(page.status == 200 && page.text.contains(#"<dd id="device-id">PHONEDEVICE</dd>"#) && page.text.contains(#"id="end-form""#))
            #expect(Self.devices(fixture, "alice") == ["PHONEDEVICE", "LAPTOPDEVICE"], "nothing happens before the confirmation")

            let ended = await fixture.post("/account/sessions/\(sessionId)/end", [])
            #expect(ended.status == 303 && ended.location == "/account/sessions?notice=session-ended")
            #expect(Self.devices(fixture, "alice") == ["LAPTOPDEVICE"], "deleted in Synapse before the page answered")
            #expect(try await fixture.store.compatSessions.find(sessionId: sessionId)?.finishedAt != nil)
            let list = await fixture.get("/account/sessions?notice=session-ended")
            #expect(list.text.contains(#"id="account-notice""#) && list.text.contains("LAPTOPDEVICE") && !list.text.contains("PHONEDEVICE"))
            // The same link again: the device is gone, and the page says so.
            let again = await fixture.get(link)
            #expect(again.status == 404 && again.text.contains("Device not found") && again.text.contains("PHONEDEVICE"))
        }
    }

    static let deepLinks: [(String, String?, String)] = [
        ("org.matrix.profile", nil, "200"), ("profile", nil, "200"), ("org.matrix.unknown_action", nil, "200"),
        ("org.matrix.devices_list", nil, "/account/sessions"), ("org.matrix.sessions_list", nil, "/account/sessions"),
        ("sessions_list", nil, "/account/sessions"),
        ("org.matrix.device_view", "VIEWDEVICE", "/account/sessions/ID"), ("org.matrix.session_view", "VIEWDEVICE", "/account/sessions/ID"),
        ("session_view", "VIEWDEVICE", "/account/sessions/ID"),
        ("org.matrix.device_delete", "VIEWDEVICE", "/account/sessions/ID/end"), ("org.matrix.session_end", "VIEWDEVICE", "/account/sessions/ID/end"),
        ("session_end", "VIEWDEVICE", "/account/sessions/ID/end"),
        ("org.matrix.cross_signing_reset", nil, "/account/cross-signing-reset"),
        ("org.matrix.device_view", nil, "400"), ("org.matrix.device_delete", "", "400"),
    ]

    @Test(arguments: StoreBackend.allCases) func everyDeepLinkIsAnsweredExactly(_ backend: StoreBackend) async throws {
        try await withPages(backend, Self.storeRepositories) { fixture in
            try await fixture.register("alice")
            let sessionId = try await Self.device(fixture, "alice", "VIEWDEVICE")
            try await Self.signIn(fixture)
            for (action, device, expected) in Self.deepLinks {
                var parameters = [("action", action)]
                if let device { parameters.append(("device_id", device)) }
                let reply = await fixture.get(FormURLEncoded.appendingQuery(to: "/account/", parameters))
                switch expected {
                case "200": #expect(reply.status == 200 && reply.text.contains(#"id="profile-form""#), "\(action)")
                case "400": #expect(reply.status == 400 && reply.text.contains("device_id is missing"), "\(action)")
                default: #expect(reply.status == 303 && reply.location == expected.replacingOccurrences(of: "ID", with: sessionId), "\(action)")
                }
            }
            // `/account` without the slash keeps the link.
            #expect(await fixture.get("/account?action=org.matrix.profile").location == "/account/?action=org.matrix.profile")
        }
    }

    @Test(arguments: StoreBackend.allCases) func anotherUsersSessionOrDeviceIsRefusedAndNeverLeaked(_ backend: StoreBackend) async throws {
        try await withPages(backend, Self.storeRepositories) { fixture in
            try await fixture.register("alice")
            try await fixture.register("bob")
            let bobSession = try await Self.device(fixture, "bob", "BOBDEVICE1")
            try await Self.signIn(fixture)
            let foreign = await fixture.get("/account/sessions/\(bobSession)")
            let unknown = await fixture.get("/account/sessions/01JNOSUCHSESSION0000000000")
            #expect(foreign.status == 404 && unknown.status == 404)
            #expect(foreign.text == unknown.text, "another user's session looks exactly like one that does not exist")
            #expect(!foreign.text.contains("BOBDEVICE1") && !foreign.text.contains("bob"))
            #expect(await fixture.get("/account/sessions/\(bobSession)/end").status == 404)
            #expect(await fixture.post("/account/sessions/\(bobSession)/end", []).status == 404)
            #expect(await fixture.post("/account/sessions/\(bobSession)", [("name", "Mine now")]).status == 404)
            let deepLink = await fixture.get("/account/?action=org.matrix.device_delete&device_id=BOBDEVICE1")
            let missing = await fixture.get("/account/?action=org.matrix.device_delete&device_id=NOSUCHDEVICE")
            #expect(deepLink.status == 404 && deepLink.text.contains("Device not found"))
            #expect(deepLink.text == missing.text.replacingOccurrences(of: "NOSUCHDEVICE", with: "BOBDEVICE1"), "no difference to a missing device")
            #expect(!(await fixture.get("/account/sessions")).text.contains("BOBDEVICE1"))
            #expect(Self.devices(fixture, "bob") == ["BOBDEVICE1"])
            #expect(try await fixture.store.compatSessions.find(sessionId: bobSession)?.finishedAt == nil)
            #expect(fixture.synapse.user("bob")?.devices["BOBDEVICE1"]?.displayName == nil)
        }
    }

    /// Signing out a session that already ended (a second click, another tab, an administrator was
    /// faster) answers 400 "already ended" for the user's own session of every kind, the outcome the
    /// admin API answers 400 too; another user's session, ended or not, stays a 404 exactly like an
    /// unknown id.
    @Test(arguments: StoreBackend.allCases) func endingASessionTwiceSaysItAlreadyEndedForEveryKind(_ backend: StoreBackend) async throws {
        try await withPages(backend, Self.storeRepositories) { fixture in
            let alice = try await fixture.register("alice")
            try await fixture.register("bob")
            let compat = try await Self.device(fixture, "alice", "TWICEDEVICE")
            let clientId = try await fixture.addClient(redirectURIs: ["https://app.example.com/callback"])
            let oauth2 = try await Self.oauth2Session(fixture, alice, clientId: clientId)
            let browser = BrowserSession(
                id: "01JBROWSERTWICE00000000000", userId: alice.id, createdAt: fixture.clock.now(), authenticatedAt: fixture.clock.now())
            try await fixture.store.browserSessions.create(browser)
            let bobEnded = try await Self.device(fixture, "bob", "BOBENDED01")
            _ = try await fixture.accounts.endSession(id: bobEnded, requestedBy: .administrator)
            let bobActive = try await Self.device(fixture, "bob", "BOBACTIVE1")
            try await Self.signIn(fixture)
            for id in [compat, oauth2, browser.id] {
                let first = await fixture.post("/account/sessions/\(id)/end", [])
                #expect(first.status == 303 && first.location == "/account/sessions?notice=session-ended", "\(id): \(first.text)")
                let second = await fixture.post("/account/sessions/\(id)/end", [])
                #expect(second.status == 400 && second.text.contains("This session has already ended"), "\(id): \(second.status)")
            }
            #expect(Self.devices(fixture, "alice").isEmpty)
            let adminEnded = try await Self.device(fixture, "alice", "ADMINENDED")
            _ = try await fixture.accounts.endSession(id: adminEnded, requestedBy: .administrator)
            #expect(await fixture.post("/account/sessions/\(adminEnded)/end", []).status == 400, "ended by an administrator: the same answer")

            let unknown = await fixture.post("/account/sessions/01JNOSUCHSESSION0000000000/end", [])
            #expect(unknown.status == 404)
            for id in [bobEnded, bobActive] {
                let foreign = await fixture.post("/account/sessions/\(id)/end", [])
                #expect(foreign.status == 404 && foreign.text == unknown.text, "another user's session leaks nothing")
            }
            #expect(Self.devices(fixture, "bob") == ["BOBACTIVE1"])
            #expect(try await fixture.store.compatSessions.find(sessionId: bobActive)?.finishedAt == nil)
        }
    }

    /// Opening one of the user's own sessions that ended (an old link, the device list of another
    /// tab) says "already ended" on its view and on its sign-out confirmation, the answer of the
    /// sign-out itself, for every kind; another user's session, ended or not, stays a 404 exactly
    /// like an unknown id on both pages.
    @Test(arguments: StoreBackend.allCases) func openingAnEndedSessionSaysItAlreadyEnded(_ backend: StoreBackend) async throws {
        try await withPages(backend, Self.storeRepositories) { fixture in
            let alice = try await fixture.register("alice")
            try await fixture.register("bob")
            let compat = try await Self.device(fixture, "alice", "ENDEDPHONE")
            let clientId = try await fixture.addClient(redirectURIs: ["https://app.example.com/callback"])
            let oauth2 = try await Self.oauth2Session(fixture, alice, clientId: clientId)
            let browser = BrowserSession(
                id: "01JBROWSERENDED00000000000", userId: alice.id, createdAt: fixture.clock.now(), authenticatedAt: fixture.clock.now())
            try await fixture.store.browserSessions.create(browser)
            let bobEnded = try await Self.device(fixture, "bob", "BOBENDED02")
            _ = try await fixture.accounts.endSession(id: bobEnded, requestedBy: .administrator)
            let bobActive = try await Self.device(fixture, "bob", "BOBACTIVE2")
            try await Self.signIn(fixture)
            let running = await fixture.get("/account/sessions/\(oauth2)")
            #expect(running.status == 200 && running.text.contains("Example App"), "an OAuth 2.0 session shows its client's name")
            for id in [compat, oauth2, browser.id] {
                #expect(await fixture.get("/account/sessions/\(id)").status == 200, "\(id) is viewable while it runs")
                _ = try await fixture.accounts.endSession(id: id, requestedBy: .administrator)
                let signOut = await fixture.post("/account/sessions/\(id)/end", [])
                for page in ["/account/sessions/\(id)", "/account/sessions/\(id)/end"] {
                    let reply = await fixture.get(page)
                    #expect(reply.status == 400 && reply.text.contains("This session has already ended"), "\(page): \(reply.status)")
                    #expect(reply.text == signOut.text, "\(page) answers as the sign-out does")
                    #expect(!reply.text.contains("ENDEDPHONE") && !reply.text.contains(#"id="end-form""#))
                }
            }
            let renamed = await fixture.post("/account/sessions/\(compat)", [("name", "Old phone")])
            #expect(renamed.status == 400 && renamed.text.contains("This session has already ended"), "a rename from a stale page")
            #expect(try await fixture.store.compatSessions.find(sessionId: compat)?.displayName == nil)

            for page in ["/account/sessions/01JNOSUCHSESSION0000000000", "/account/sessions/01JNOSUCHSESSION0000000000/end"] {
                let unknown = await fixture.get(page)
                #expect(unknown.status == 404 && unknown.text.contains("Session not found"))
                for id in [bobEnded, bobActive] {
                    let foreign = await fixture.get(page.replacingOccurrences(of: "01JNOSUCHSESSION0000000000", with: id))
                    #expect(foreign.status == 404 && foreign.text == unknown.text, "another user's session leaks nothing: \(page)")
                }
            }
        }
    }

    /// Every account page works without JavaScript: none is sent or allowed (no `<script>`, no
    /// `script-src` in the CSP), and every form posts with the CSRF token of this browser's cookie.
    @Test(arguments: StoreBackend.allCases) func everyAccountPageNeedsNoJavaScriptAndIsAccessible(_ backend: StoreBackend) async throws {
        try await withPages(backend, Self.storeRepositories) { fixture in
            try await fixture.register("alice")
            let sessionId = try await Self.device(fixture, "alice", "NOSCRIPTDEV")
            try await Self.signIn(fixture)
            let pages = [
                "/account/", "/account/sessions", "/account/sessions/\(sessionId)", "/account/sessions/\(sessionId)/end", "/account/password",
                "/account/cross-signing-reset",
            ]
            for page in pages {
                let reply = await fixture.get(page)
                #expect(reply.status == 200, "\(page)")
                let csp = try #require(reply.headers.first(name: "Content-Security-Policy"), "\(page)")
                #expect(!csp.contains("script-src") && csp.contains("default-src 'none'"), "\(page): \(csp)")
                #expect(!reply.text.contains("<script") && !reply.text.contains("onclick="), "\(page)")
                let forms = reply.text.components(separatedBy: "<form").count - 1
                #expect(forms > 0 && reply.text.components(separatedBy: #"name="csrf""#).count - 1 == forms, "\(page): every form has the token")
                Self.expectAccessibleAndBranded(reply.text, page: page)
            }
        }
    }

    /// The page's language is declared, it has one `h1`, its title carries the service's name, and
    /// every visible form field has a `<label for=…>` naming it (screen readers read fields by label).
    static func expectAccessibleAndBranded(_ html: String, page: String) {
        #expect(html.contains(#"<html lang=""#), "\(page): language declared")
        #expect(html.components(separatedBy: "<h1").count == 2, "\(page): one h1")
        #expect(html.contains(" – Example Chat</title>"), "\(page): the service's name in the title")
        for input in html.components(separatedBy: "<input").dropFirst() {
            let tag = input.prefix { $0 != ">" }
            guard !tag.contains(#"type="hidden""#) else { continue }
            guard let idStart = tag.range(of: #"id=""#) else {
                Issue.record("\(page): a visible field without an id: <input\(tag)>")
                continue
            }
            let id = tag[idStart.upperBound...].prefix { $0 != "\"" }
            #expect(html.contains(#"<label for="\#(id)""#), "\(page): field \(id) has a label")
        }
    }

    /// Changing the password without "sign out everywhere else" keeps the other sessions and devices.
    @Test(arguments: StoreBackend.allCases) func changingThePasswordAloneKeepsTheOtherSessions(_ backend: StoreBackend) async throws {
        try await withPages(backend, Self.storeRepositories) { fixture in
            try await fixture.register("alice")
            let other = try await Self.device(fixture, "alice", "KEPTDEVICE")
            try await Self.signIn(fixture)
            let changed = await fixture.post("/account/password", [
                ("current_password", "correct horse"), ("new_password", "battery staple"), ("new_password_confirm", "battery staple"),
            ])
            #expect(changed.status == 303 && changed.location == "/account/?notice=password-changed")
            #expect(Self.devices(fixture, "alice") == ["KEPTDEVICE"])
            #expect(try await fixture.store.compatSessions.find(sessionId: other)?.finishedAt == nil)
            _ = try await fixture.passwords.authenticate(name: "alice", password: "battery staple", clientAddress: nil)
        }
    }

    @Test(arguments: StoreBackend.allCases) func everyAccountFormNeedsTheCSRFToken(_ backend: StoreBackend) async throws {
        try await withPages(backend, Self.storeRepositories) { fixture in
            try await fixture.register("alice")
            let sessionId = try await Self.device(fixture, "alice", "CSRFDEVICE")
            try await Self.signIn(fixture)
            let forms: [(String, [(String, String)])] = [
                ("/account/profile", [("displayname", "Mallory")]),
                ("/account/sessions/\(sessionId)", [("name", "Mallory's")]),
                ("/account/sessions/\(sessionId)/end", []),
                ("/account/sessions/end-others", []),
                ("/account/password", [("current_password", "correct horse"), ("new_password", "mallory123"), ("new_password_confirm", "mallory123")]),
                ("/account/cross-signing-reset", []),
            ]
            for (target, fields) in forms {
                for csrf in ["", "forged-token"] {
                    let reply = await fixture.send(.POST, target, form: [("csrf", csrf)] + fields)
                    #expect(reply.status == 403 && reply.text.contains("This form has expired"), "\(target)")
                }
            }
            let user = try #require(fixture.synapse.user("alice"))
            #expect(user.displayName == nil && !user.crossSigningResetAllowed && user.devices["CSRFDEVICE"]?.displayName == nil)
            #expect(Self.devices(fixture, "alice") == ["CSRFDEVICE"])
            #expect(try await fixture.store.compatSessions.find(sessionId: sessionId)?.finishedAt == nil)
            _ = try await fixture.passwords.authenticate(name: "alice", password: "correct horse", clientAddress: nil)
        }
    }

    @Test(arguments: StoreBackend.allCases) func profileRenameAndTheSessionsList(_ backend: StoreBackend) async throws {
        try await withPages(backend, Self.storeRepositories) { fixture in
            try await fixture.register("alice")
            let sessionId = try await Self.device(fixture, "alice", "RENAMEDEVICE")
            try await Self.signIn(fixture)
            let saved = await fixture.post("/account/profile", [("displayname", "  Alice A.  ")])
            #expect(saved.status == 303 && saved.location == "/account/?notice=profile-saved")
            #expect(fixture.synapse.user("alice")?.displayName == "Alice A.")
            let overview = await fixture.get("/account/?notice=profile-saved")
            #expect(overview.text.contains(#"value="Alice A.""#) && overview.text.contains("Your display name was saved."))
            #expect(await fixture.post("/account/profile", [("displayname", "")]).status == 303)
            #expect(fixture.synapse.user("alice")?.displayName == nil, "an empty name removes it (unset_displayname)")
            let tooLong = await fixture.post("/account/profile", [("displayname", String(repeating: "x", count: 300))])
            #expect(tooLong.status == 400 && tooLong.text.contains("longer than 256"))

            let renamed = await fixture.post("/account/sessions/\(sessionId)", [("name", "Work phone")])
            #expect(renamed.status == 303 && renamed.location == "/account/sessions/\(sessionId)?notice=renamed")
            #expect(fixture.synapse.user("alice")?.devices["RENAMEDEVICE"]?.displayName == "Work phone")
            #expect(try await fixture.store.compatSessions.find(sessionId: sessionId)?.displayName == "Work phone")
            let view = await fixture.get("/account/sessions/\(sessionId)")
            #expect(view.text.contains(#"<h1 id="session-name">Work phone</h1>"#) && view.text.contains("RENAMEDEVICE"))
            let empty = await fixture.post("/account/sessions/\(sessionId)", [("name", "   ")])
            #expect(empty.status == 400 && empty.text.contains("it is empty"))

            // Synapse refuses, or fails: nothing changes locally, and the page says so.
            fixture.synapse.failNext(400, errcode: "M_INVALID_PARAM")
            let refused = await fixture.post("/account/sessions/\(sessionId)", [("name", "Other name")])
            #expect(refused.status == 502 && refused.text.contains("The homeserver refused the change"))
            fixture.synapse.failNext(500)
            let failed = await fixture.post("/account/sessions/\(sessionId)", [("name", "Other name")])
            #expect(failed.status == 503 && failed.text.contains("The homeserver cannot be reached"))
            #expect(try await fixture.store.compatSessions.find(sessionId: sessionId)?.displayName == "Work phone")

            // The list: the device session and this browser, with its last use recorded at this request.
            let list = await fixture.get("/account/sessions")
            #expect(list.text.contains("RENAMEDEVICE") && list.text.contains("This browser") && list.text.contains(#"id="end-others""#))
        }
    }

    @Test(arguments: StoreBackend.allCases) func endingFailsClosedWhenSynapseRefuses(_ backend: StoreBackend) async throws {
        try await withPages(backend, Self.storeRepositories) { fixture in
            try await fixture.register("alice")
            let sessionId = try await Self.device(fixture, "alice", "STUBBORNDEV")
            try await Self.signIn(fixture)
            fixture.synapse.failNext(500, times: 5)
            let reply = await fixture.post("/account/sessions/\(sessionId)/end", [])
            #expect(reply.status == 502 && reply.text.contains("Signed out, but the device is not removed yet"))
            #expect(try await fixture.store.compatSessions.find(sessionId: sessionId)?.finishedAt != nil, "its token is dead anyway")
            #expect(try await fixture.store.jobs.pending().count == 1, "the device deletion stays queued")
        }
    }

    @Test(arguments: StoreBackend.allCases) func signOutEverywhereElseAndChangePassword(_ backend: StoreBackend) async throws {
        try await withPages(backend, Self.storeRepositories) { fixture in
            try await fixture.register("alice")
            _ = try await Self.device(fixture, "alice", "OTHERDEV01")
            let other = try await Self.device(fixture, "alice", "OTHERDEV02")
            let alice = try #require(try await fixture.store.users.find(username: "alice"))
            let elsewhere = BrowserSession(id: "01JBROWSERELSEWHERE0000000", userId: alice.id, createdAt: fixture.clock.now(), authenticatedAt: fixture.clock.now())
            try await fixture.store.browserSessions.create(elsewhere)
            try await Self.signIn(fixture)
            #expect(await fixture.post("/account/sessions/end-others", []).location == "/account/sessions?notice=others-ended")
            #expect(Self.devices(fixture, "alice").isEmpty)
            #expect(try await fixture.store.compatSessions.find(sessionId: other)?.finishedAt != nil)
            #expect(try await fixture.store.browserSessions.find(id: elsewhere.id)?.0.finishedAt != nil, "the other browser is signed out")
            #expect(await fixture.get("/account/").status == 200, "this browser stays signed in")

            _ = try await Self.device(fixture, "alice", "OTHERDEV03")
            let wrong = await fixture.post("/account/password", [
                ("current_password", "wrong"), ("new_password", "battery staple"), ("new_password_confirm", "battery staple"),
            ])
            #expect(wrong.status == 401 && wrong.text.contains("The current password is wrong."))
            let mismatch = await fixture.post("/account/password", [
                ("current_password", "correct horse"), ("new_password", "battery staple"), ("new_password_confirm", "battery stapler"),
            ])
            #expect(mismatch.status == 400 && mismatch.text.contains("do not match"))
            let short = await fixture.post("/account/password", [("current_password", "correct horse"), ("new_password", "short"), ("new_password_confirm", "short")])
            #expect(short.status == 400 && short.text.contains("at least 8"))
            let changed = await fixture.post("/account/password", [
                ("current_password", "correct horse"), ("new_password", "battery staple"), ("new_password_confirm", "battery staple"),
                ("end_others", "on"),
            ])
            #expect(changed.status == 303 && changed.location == "/account/?notice=password-changed-others-ended")
            #expect(Self.devices(fixture, "alice").isEmpty, "other sessions ended with the change")
            #expect(await fixture.get("/account/").status == 200, "this browser stays signed in")
            _ = try await fixture.passwords.authenticate(name: "alice", password: "battery staple", clientAddress: nil)
        }
    }

    @Test(arguments: StoreBackend.allCases) func crossSigningResetNeedsTheConfirmation(_ backend: StoreBackend) async throws {
        try await withPages(backend, Self.storeRepositories) { fixture in
            try await fixture.register("alice")
            try await Self.signIn(fixture)
            let page = await fixture.get("/account/cross-signing-reset")
            #expect(page.status == 200 && page.text.contains(#"id="confirm-reset""#))
            #expect(fixture.synapse.user("alice")?.crossSigningResetAllowed == false, "looking is not confirming")
            let done = await fixture.post("/account/cross-signing-reset", [])
            #expect(done.status == 200 && done.text.contains("Identity reset allowed"))
            #expect(fixture.synapse.user("alice")?.crossSigningResetAllowed == true)
        }
    }

    @Test(arguments: StoreBackend.allCases) func browserPageViewsAreRecordedAsActivity(_ backend: StoreBackend) async throws {
        let activity = SessionActivityRecorder()
        var options = Self.storeRepositories
        options.activity = activity
        try await withPages(backend, options) { fixture in
            try await fixture.register("alice")
            try await Self.signIn(fixture)
            _ = await fixture.get("/account/")
            let alice = try #require(try await fixture.store.users.find(username: "alice"))
            let browser = try #require(try await fixture.accounts.activeSessions(userId: alice.id).browserSessions.first)
            let pending = try #require(activity.pending(sessionId: browser.id))
            #expect(pending.kind == .browser && pending.address == "192.0.2.10")
            let list = await fixture.get("/account/sessions")
            #expect(list.text.contains("from 192.0.2.10"), "the page shows activity not flushed yet")
            await SessionActivityFlusher(recorder: activity, repository: fixture.store.sessionActivity).flush()
            let stored = try #require(try await fixture.store.browserSessions.find(id: browser.id)?.0)
            #expect(stored.lastActiveAddress == "192.0.2.10" && stored.lastActiveAt != nil)
        }
    }

    /// Every address a built-in page links to or posts to (`href="/…"`, `action="/…"`, with `{{id}}`
    /// filled in) is answered by the pages through the default route table: none is proxied to
    /// Synapse or refused as unknown.
    @Test func everyLinkOfThePagesIsRoutedToThePages() throws {
        let table = try RouteTable(rules: RouteFileParser.parse(DefaultRoutes.text, file: "matrix.routes"), upstreams: ["synapse"])
        let pattern = try Regex(#"(?:href|action)="(/[^"]*)""#)
        var checked = Set<String>()
        for (name, template) in BuiltinTemplates.all {
            for match in template.matches(of: pattern) {
                guard let captured = match.output[1].substring else { continue }
                let target = String(captured).replacingOccurrences(of: "{{id}}", with: "01J9ZQ3B7N6Y2W8K4R5T0V1XZZ")
                #expect(!target.contains("{{"), "\(name): \(target) has a placeholder this test does not fill")
                let path = try CanonicalPath.parse(target).get().canonicalPath
                for method in ["GET", "POST"] {
                    var action: RouteAction?
                    if case .matched(let route) = table.match(method: method, path: path, scratch: MatchScratch()) { action = route.rule.action }
                    #expect(action == .local(.pages), "\(name): \(method) \(target) is routed to \(String(describing: action))")
                }
                checked.insert(target)
            }
        }
        #expect(checked.isSuperset(of: [
            "/account/", "/account/sessions", "/account/password", "/account/profile", "/account/cross-signing-reset", "/logout",
            "/account/sessions/end-others", "/account/sessions/01J9ZQ3B7N6Y2W8K4R5T0V1XZZ/end", "/assets/gatehouse.css",
        ]))
    }

    /// `/.well-known/change-password` (W3C "A Well-Known URL for Changing Passwords"): password
    /// managers are sent to the account page's password form, which the pages answer (through the
    /// login when there is no browser session).
    @Test(arguments: StoreBackend.allCases) func theChangePasswordURLLeadsToThePasswordForm(_ backend: StoreBackend) async throws {
        try await withDefaultRoutesGateway(backend) { port, store in
            for method in ["GET", "HEAD"] {
                let change = try await request(port: port, "\(method) /.well-known/change-password HTTP/1.1\r\nHost: localhost\r\n\r\n")
                #expect(change.status == 302 && change.header("Location") == "/account/password", "\(method)")
            }
            let form = try await request(port: port, "GET /account/password HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(form.status == 303 && form.header("Location") == "/login", "the pages answer it: \(form.status) \(form.body)")
        }
    }
}
