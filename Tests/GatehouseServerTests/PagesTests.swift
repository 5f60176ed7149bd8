import CryptoExtras
import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseTestSupport
import GatehouseHomeserver
import GatehouseIdentity
import GatehouseStorage
import NIOHTTP1
import Testing

@testable import GatehouseServer

/// The HTML pages and `GET /authorize`, driven like a browser (a cookie jar, the forms' CSRF
/// fields): every page's success and error paths, with the manual clock and seeded randomness.
@Suite struct PagesTests {
    static let alice = [("username", "alice"), ("password", "correct horse")]

    // MARK: Headers, cookie, CSRF

    @Test(arguments: StoreBackend.allCases) func everyPageCarriesTheSecurityHeadersAndTheCookie(_ backend: StoreBackend) async throws {
        try await withPages(backend) { fixture in
            let reply = await fixture.get("/login")
            #expect(reply.status == 200)
            let csp = try #require(reply.headers.first(name: "Content-Security-Policy"))
            #expect(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'") && csp.contains("form-action 'self'"))
            #expect(csp.contains("base-uri 'none'") && csp.contains("style-src 'self'") && !csp.contains("script-src"))
            #expect(reply.headers.first(name: "Referrer-Policy") == "no-referrer")
            #expect(reply.headers.first(name: "X-Frame-Options") == "DENY")
            #expect(reply.headers.first(name: "Cache-Control") == "no-store")
            #expect(reply.headers.first(name: "Content-Type") == "text/html; charset=utf-8")
            let cookie = try #require(reply.headers.first(name: "Set-Cookie"))
            #expect(cookie.hasPrefix("__Host-gatehouse-session="))
            #expect(cookie.hasSuffix("; Path=/; Secure; HttpOnly; SameSite=Lax"))
            for fragment in [
                #"<form id="login-form" method="post""#, #"<label for="username">"#, #"id="username" name="username""#,
                #"id="password" name="password" type="password""#, #"<button id="submit" type="submit">"#, "<h1>Sign in</h1>",
                "Example Chat", #"href="/assets/gatehouse.css""#,
            ] {
                #expect(reply.text.contains(fragment), "missing \(fragment)")
            }
            #expect(reply.text.components(separatedBy: "<h1").count == 2, "one h1")
            #expect(!reply.text.contains("style=") && !reply.text.contains("<script"), "nothing inline")
            // Errors are pages with the same headers.
            let missing = await fixture.get("/nowhere")
            #expect(missing.status == 404 && missing.text.contains(#"<h1 id="error-title">"#))
            #expect(missing.headers.first(name: "X-Frame-Options") == "DENY")
        }
    }

    @Test(arguments: StoreBackend.allCases) func assetsAreServed(_ backend: StoreBackend) async throws {
        try await withPages(backend) { fixture in
            let css = await fixture.get("/assets/gatehouse.css")
            #expect(css.status == 200 && css.headers.first(name: "Content-Type") == "text/css; charset=utf-8" && css.text.contains(":focus-visible"))
            #expect(await fixture.get("/assets/form-post.js").text.contains("form-post"))
            #expect(await fixture.get("/assets/nothing.css").status == 404)
        }
    }

    /// The anonymous login page is answered on the event loop (no task hop), with a fresh cookie whose
    /// CSRF token is in the form; a signed-in visitor or a continuation takes the asynchronous path.
    @Test(arguments: StoreBackend.allCases) func anonymousLoginPageIsServedOnTheEventLoop(_ backend: StoreBackend) async throws {
        try await withPages(backend) { fixture in
            func request(_ target: String, cookie: String?) -> LocalRequest {
                var headers = HTTPHeaders()
                if let cookie { headers.add(name: "Cookie", value: "\(SessionCookie.name)=\(cookie)") }
                return LocalRequest(
                    method: .GET, target: try! CanonicalPath.parse(target).get(), headers: headers, body: .init(), peerAddress: nil, isTLS: true)
            }
            let responder = fixture.service.responder
            let first = try #require(responder.immediateResponse(to: request("/login", cookie: nil)))
            let reply = Reply(first)
            let set = try #require(reply.headers.first(name: "Set-Cookie"))
            let value = String(set.dropFirst(SessionCookie.name.count + 1).prefix { $0 != ";" })
            let contents = try #require(fixture.service.cookieForTests.open(value, now: fixture.clock.now()))
            #expect(reply.status == 200 && reply.csrfField == SessionCookie.csrfToken(for: contents))
            #expect(reply.headers.first(name: "Content-Security-Policy") != nil)
            // The same cookie again: the same token, no new cookie.
            let again = Reply(try #require(responder.immediateResponse(to: request("/login", cookie: value))))
            #expect(again.csrfField == reply.csrfField && again.headers.first(name: "Set-Cookie") == nil)
            #expect(again.text == (await responder.respond(to: request("/login", cookie: value))).body.getString(at: 0, length: again.text.utf8.count))

            try await fixture.register("alice")
            try await fixture.signIn()
            #expect(responder.immediateResponse(to: request("/login", cookie: fixture.cookie)) == nil)
            #expect(responder.immediateResponse(to: request("/login?kind=continue_device_grant&id=X", cookie: nil)) == nil)
            #expect(responder.immediateResponse(to: request("/account/", cookie: nil)) == nil)
        }
    }

    @Test(arguments: StoreBackend.allCases) func loginAndLogout(_ backend: StoreBackend) async throws {
        try await withPages(backend) { fixture in
            let alice = try await fixture.register("alice")
            let empty = await fixture.get("/login")
            // The focus starts where typing starts: the username, or the password once a name is filled in.
            #expect(Self.autofocused(empty.text) == "username")
            let anonymousCookie = fixture.cookie
            let wrong = await fixture.post("/login", [("username", "alice"), ("password", "nope")])
            #expect(wrong.status == 401 && wrong.text.contains(#"class="error""#) && wrong.text.contains("Invalid username or password."))
            #expect(wrong.text.contains(#"value="alice""#), "the username is kept")
            #expect(Self.autofocused(wrong.text) == "password")
            let ok = await fixture.post("/login", [("username", "Alice"), ("password", "correct horse")])
            #expect(ok.status == 303 && ok.location == "/account/")
            #expect(fixture.cookie != anonymousCookie, "a new cookie (and CSRF secret) at sign-in")
            let account = await fixture.get("/account/")
            #expect(account.status == 200 && account.text.contains("@alice:example.test") && account.text.contains(#"id="logout-form""#))
            let sessions = fixture.browserSessions.sessions.withLock { Array($0.values) }
            #expect(sessions.count == 1 && sessions[0].userId == alice.id && sessions[0].userAgent == "PagesTests")
            // Signed in: the login page goes straight on.
            #expect(await fixture.get("/login").location == "/account/")

            let out = await fixture.post("/logout", [])
            #expect(out.status == 303 && out.location == "/login")
            #expect(fixture.browserSessions.sessions.withLock { $0.values.allSatisfy { $0.finishedAt != nil } })
            #expect(await fixture.get("/account/").location == "/login")
        }
    }

    /// The id of the one input that carries `autofocus`, if exactly one does.
    static func autofocused(_ html: String) -> String? {
        let inputs = html.components(separatedBy: "<input").dropFirst().map { $0.prefix { $0 != ">" } }
        let focused = inputs.filter { $0.contains("autofocus") }
        guard focused.count == 1, let id = focused[0].components(separatedBy: #"id=""#).dropFirst().first else { return nil }
        return String(id.prefix { $0 != "\"" })
    }

    @Test(arguments: StoreBackend.allCases) func formsWithoutTheRightCSRFTokenAre403(_ backend: StoreBackend) async throws {
        try await withPages(backend) { fixture in
            try await fixture.register("alice")
            _ = await fixture.get("/login")
            let fields = [("username", "alice"), ("password", "correct horse")]
            let missing = await fixture.send(.POST, "/login", form: fields)
            #expect(missing.status == 403 && missing.text.contains(#"<h1 id="error-title">This form has expired</h1>"#))
            let wrong = await fixture.send(.POST, "/login", form: [("csrf", "AAAA" + (fixture.csrf ?? "").dropFirst(4))] + fields)
            #expect(wrong.status == 403)
            let noCookie = await fixture.send(.POST, "/login", form: [("csrf", fixture.csrf ?? "")] + fields, withCookie: false)
            #expect(noCookie.status == 403, "a token without its cookie is worthless")
            #expect(fixture.browserSessions.sessions.withLock { $0.isEmpty })
            _ = await fixture.get("/login")
            #expect(await fixture.post("/login", fields).status == 303, "the right token works")
        }
    }

    @Test(arguments: StoreBackend.allCases) func tamperedForeignAndExpiredCookiesCountAsSignedOut(_ backend: StoreBackend) async throws {
        try await withPages(backend) { fixture in
            try await fixture.register("alice")
            try await fixture.signIn()
            let good = try #require(fixture.cookie)
            #expect(await fixture.get("/account/").status == 200)

            var bytes = Array(good.utf8)
            bytes[20] = bytes[20] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            fixture.cookie = String(decoding: bytes, as: UTF8.self)
            let tampered = await fixture.get("/account/")
            #expect(tampered.location == "/login" && tampered.headers.first(name: "Set-Cookie") != nil)

            let foreign = SessionCookie(encryptionKey: Array(repeating: 9, count: 32), random: SeededRandom(seed: 1))
            var contents = try #require(fixture.service.cookieForTests.open(good, now: fixture.clock.now()))
            fixture.cookie = foreign.seal(contents)
            #expect(await fixture.get("/account/").location == "/login", "sealed under another key")

            fixture.cookie = "not-base64!"
            #expect(await fixture.get("/account/").location == "/login")

            contents.issuedAt = fixture.clock.now()
            fixture.cookie = good
            fixture.clock.advance(by: SessionCookie.maximumAge + 1)
            #expect(await fixture.get("/account/").location == "/login", "too old")
        }
    }

    @Test func cookieRoundTripAndCSRF() throws {
        let sealer = SessionCookie(encryptionKey: Array(repeating: 1, count: 32), random: SeededRandom())
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        var contents = sealer.fresh(at: now, sessionId: "01JSESSION")
        contents.freshLoginGrantId = "01JGRANT"
        let sealed = sealer.seal(contents)
        #expect(sealer.open(sealed, now: now) == contents)
        #expect(sealer.open(sealed, now: now.addingTimeInterval(SessionCookie.maximumAge + 1)) == nil)
        #expect(sealer.open(String(sealed.dropLast(2)), now: now) == nil)
        #expect(SessionCookie.csrfMatches(SessionCookie.csrfToken(for: contents), contents))
        #expect(!SessionCookie.csrfMatches(SessionCookie.csrfToken(for: sealer.fresh(at: now)), contents))
        #expect(!SessionCookie.csrfMatches(nil, contents))
        #expect(SessionCookie.value(in: ["a=b; __Host-gatehouse-session=xyz; c=d"]) == "xyz")
    }

    // MARK: /authorize: what is never redirected

    static let badRedirects = [
        "https://evil.example.net/callback", "https://app.example.com/callback/", "https://app.example.com/callback?x=1",
        "https://app.example.com/callback/extra", "https://user@app.example.com/callback", "https://app.example.com@evil.example.net/callback",
        "http://app.example.com/callback", "com.example.app:/callback", "https://app.example.com/callback#frag",
        "https://APP.example.com/callback", "https://app.example.com:443/callback", "https://app.example.com/Callback",
    ]

    @Test(arguments: StoreBackend.allCases, badRedirects)
    func unregisteredRedirectURIsGetAnErrorPage(_ backend: StoreBackend, redirect: String) async throws {
        try await withPages(backend) { fixture in
            try await fixture.addClient(redirectURIs: ["https://app.example.com/callback"])
            let reply = await fixture.get(PagesFixture.authorize(redirect: redirect))
            #expect(reply.status == 400 && reply.location == nil)
            #expect(reply.text.contains(#"<h1 id="error-title">"#) && reply.text.contains("not registered"))
            #expect(fixture.grants.grants.withLock { $0.isEmpty })
        }
    }

    @Test(arguments: StoreBackend.allCases) func unknownOrMissingClientGetsAnErrorPage(_ backend: StoreBackend) async throws {
        try await withPages(backend) { fixture in
            try await fixture.addClient(redirectURIs: ["https://app.example.com/callback", "https://app.example.com/other"])
            for target in [
                PagesFixture.authorize(client: "01JNOSUCHCLIENT00000000000"), "/authorize?response_type=code",
                PagesFixture.authorize(redirect: nil),  // two registered: which one is ambiguous
                PagesFixture.authorize() + "&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback",  // repeated
                "/authorize?client_id=%ZZ",
            ] {
                let reply = await fixture.get(target)
                #expect(reply.status == 400 && reply.location == nil, "\(target)")
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func loopbackRedirectsOfNativeClientsMatchOnAnyPort(_ backend: StoreBackend) async throws {
        try await withPages(backend) { fixture in
            try await fixture.addClient(redirectURIs: ["http://127.0.0.1/callback", "http://[::1]:8080/cb"], native: true)
            try await fixture.addClient(id: "01JWEBCLIENT00000000000000", redirectURIs: ["http://127.0.0.1:1234/cb"], origin: .config)
            for redirect in ["http://127.0.0.1:54321/callback", "http://127.0.0.1/callback", "http://[::1]:9/cb"] {
                let reply = await fixture.get(PagesFixture.authorize(redirect: redirect))
                #expect(reply.status == 303 && reply.location?.hasPrefix("/login?kind=continue_authorization_grant") == true, "\(redirect)")
            }
            for redirect in [
                "http://127.0.0.1:5/callback/", "http://localhost:5/callback", "http://127.0.0.2:5/callback", "https://127.0.0.1:5/callback",
            ] {
                #expect(await fixture.get(PagesFixture.authorize(redirect: redirect)).status == 400, "\(redirect)")
            }
            // Only native clients get the port exception.
            #expect(await fixture.get(PagesFixture.authorize(client: "01JWEBCLIENT00000000000000", redirect: "http://127.0.0.1:1235/cb")).status == 400)
            #expect(await fixture.get(PagesFixture.authorize(client: "01JWEBCLIENT00000000000000", redirect: "http://127.0.0.1:1234/cb")).status == 303)
        }
    }

    // MARK: /authorize: errors sent back to the client

    static let clientErrors: [(String, [(String, String)], String)] = [
        ("missing challenge", [], "invalid_request"),
        ("plain", [("code_challenge", PagesFixture.challenge), ("code_challenge_method", "plain")], "invalid_request"),
        ("no method", [("code_challenge", PagesFixture.challenge)], "invalid_request"),
        ("short challenge", [("code_challenge", "abc"), ("code_challenge_method", "S256")], "invalid_request"),
        ("token", [("response_type", "token")], "unsupported_response_type"),
        ("mixed", [("scope", "urn:matrix:client:api:* urn:matrix:org.matrix.msc2967.client:device:ABCDEFGHIJ")], "invalid_scope"),
        ("two devices", [("scope", "urn:matrix:client:api:* urn:matrix:client:device:ABCDEFGHIJ urn:matrix:client:device:KLMNOPQRST")], "invalid_scope"),
        ("short device", [("scope", "urn:matrix:client:api:* urn:matrix:client:device:SHORT")], "invalid_scope"),
        ("bad device", [("scope", "urn:matrix:client:api:* urn:matrix:client:device:ABCDEFGHIJ<")], "invalid_scope"),
        ("unknown scope", [("scope", "openid profile")], "invalid_scope"),
        ("device alone", [("scope", "urn:matrix:client:device:ABCDEFGHIJ")], "invalid_scope"),
        ("mode", [("response_mode", "web_message")], "invalid_request"),
        ("request", [("request", "eyJ")], "request_not_supported"),
        ("prompt", [("prompt", "bogus")], "invalid_request"),
        ("create off", [("prompt", "create")], "invalid_request"),
        ("none+login", [("prompt", "none login")], "invalid_request"),
        ("none", [("prompt", "none")], "login_required"),
    ]

    @Test(arguments: StoreBackend.allCases, clientErrors)
    func errorsGoBackToTheClientWithStateAndIss(_ backend: StoreBackend, _ error: (name: String, override: [(String, String)], code: String))
        async throws
    {
        let (name, override, code) = error
        try await withPages(backend) { fixture in
            try await fixture.addClient(redirectURIs: ["https://app.example.com/callback"])
            var parameters: [(String, String)] = [
                ("response_type", "code"), ("client_id", "01JCLIENT0000000000000000A"), ("redirect_uri", "https://app.example.com/callback"),
                ("scope", "urn:matrix:client:api:*"), ("state", "s t&a=t%e/é"),
            ]
            let pkce = [("code_challenge", PagesFixture.challenge), ("code_challenge_method", "S256")]
            if name != "missing challenge" && !override.contains(where: { $0.0.hasPrefix("code_challenge") }) { parameters += pkce }
            for (key, value) in override {
                parameters.removeAll { $0.0 == key }
                parameters.append((key, value))
            }
            let reply = await fixture.get("/authorize?" + FormURLEncoded.encode(parameters))
            #expect(reply.status == 303, "\(name): \(reply.text)")
            #expect(reply.location?.hasPrefix("https://app.example.com/callback?") == true)
            let answer = reply.locationParameters()
            #expect(answer["error"] == code, "\(name)")
            #expect(answer["state"] == "s t&a=t%e/é", "state echoed byte for byte")
            #expect(answer["iss"] == PagesFixture.issuer)
            #expect(fixture.grants.grants.withLock { $0.isEmpty })
        }
    }

    @Test(arguments: StoreBackend.allCases) func errorsUseTheRequestedResponseMode(_ backend: StoreBackend) async throws {
        try await withPages(backend) { fixture in
            try await fixture.addClient(redirectURIs: ["https://app.example.com/callback"])
            let fragment = await fixture.get(PagesFixture.authorize(extra: [("response_mode", "fragment")], challenge: nil))
            #expect(fragment.location?.hasPrefix("https://app.example.com/callback#error=invalid_request") == true)
            let posted = await fixture.get(PagesFixture.authorize(extra: [("response_mode", "form_post")], challenge: nil))
            #expect(posted.status == 200 && posted.text.contains(#"name="error" value="invalid_request""#))
        }
    }

    // MARK: The whole flow

    @Test(arguments: StoreBackend.allCases) func authorizeLoginConsentCode(_ backend: StoreBackend) async throws {
        try await withPages(backend) { fixture in
            let alice = try await fixture.register("alice")
            try await fixture.addClient(redirectURIs: ["https://app.example.com/callback"])
            let start = await fixture.get(PagesFixture.authorize(
                scope: "openid urn:matrix:client:api:*", state: "opaque+state", extra: [("nonce", "n-1"), ("login_hint", "mxid:@alice:example.test")]))
            #expect(start.status == 303)
            let grant = try #require(fixture.grants.grants.withLock { Array($0.values) }.first)
            #expect(start.location == "/login?kind=continue_authorization_grant&id=\(grant.id)&login_hint=mxid%3A%40alice%3Aexample.test")
            // A device scope with a generated id (10 upper-case letters and digits) is stored.
            let device = try #require(grant.scope.split(separator: " ").first { $0.hasPrefix(MatrixScope.devicePrefix) })
            let deviceId = device.dropFirst(MatrixScope.devicePrefix.count)
            #expect(deviceId.count == 10 && deviceId.utf8.allSatisfy { Alphabet.base62.contains($0) })
            #expect(grant.state == "opaque+state" && grant.nonce == "n-1")
            #expect(grant.codeChallenge == PagesFixture.challenge && grant.responseMode == .query)

            let login = await fixture.get(try #require(start.location))
            #expect(login.text.contains(#"value="alice""#), "login_hint prefills the username")
            #expect(login.text.contains("Example App"))
            let signedIn = await fixture.post("/login?kind=continue_authorization_grant&id=\(grant.id)", PagesTests.alice)
            #expect(signedIn.location == "/consent/\(grant.id)")

            let consent = await fixture.get("/consent/\(grant.id)")
            #expect(consent.status == 200)
            for fragment in [
                #"<form id="consent-form""#, #"id="consent" type="submit" name="action" value="consent""#,
                #"id="reject" type="submit" name="action" value="reject""#,
                "Example App", "https://app.example.com/", #"id="unverified-warning""#, String(deviceId), "Read and send messages",
            ] {
                #expect(consent.text.contains(fragment), "missing \(fragment)")
            }
            #expect(consent.headers.first(name: "Content-Security-Policy")?.contains("form-action 'self' https://app.example.com") == true)

            let answer = await fixture.post("/consent/\(grant.id)", [("action", "consent")])
            #expect(answer.status == 303)
            let parameters = answer.locationParameters()
            let code = try #require(parameters["code"])
            #expect(code.count == 32 && code.allSatisfy { $0.isLetter || $0.isNumber })
            #expect(parameters["state"] == "opaque+state" && parameters["iss"] == PagesFixture.issuer)
            let fulfilled = try #require(fixture.grants.grants.withLock { $0[grant.id] })
            #expect(fulfilled.codeHash == TokenHasher.sha256Hex(code) && fulfilled.userId == alice.id && fulfilled.fulfilledAt != nil)
            // Answered once only.
            #expect(await fixture.get("/consent/\(grant.id)").status == 400)
        }
    }

    @Test(arguments: StoreBackend.allCases) func signedInUsersGoStraightToConsentAndMayDecline(_ backend: StoreBackend) async throws {
        try await withPages(backend) { fixture in
            try await fixture.register("alice")
            try await fixture.addClient(redirectURIs: ["com.example.app:/cb"], native: true, origin: .config)
            try await fixture.signIn()
            let start = await fixture.get(PagesFixture.authorize(
                redirect: "com.example.app:/cb",
                scope: "urn:matrix:org.matrix.msc2967.client:api:* urn:matrix:org.matrix.msc2967.client:device:MYDEVICE01"))
            let grant = try #require(fixture.grants.grants.withLock { Array($0.values) }.first)
            #expect(start.location == "/consent/\(grant.id)")
            #expect(grant.scope == "urn:matrix:org.matrix.msc2967.client:api:* urn:matrix:org.matrix.msc2967.client:device:MYDEVICE01")
            let consent = await fixture.get("/consent/\(grant.id)")
            #expect(!consent.text.contains("unverified-warning"), "configured clients are trusted")
            #expect(consent.text.contains("MYDEVICE01"))
            #expect(consent.headers.first(name: "Content-Security-Policy")?.contains("form-action 'self' com.example.app:") == true)
            let declined = await fixture.post("/consent/\(grant.id)", [("action", "reject")])
            #expect(declined.location == "com.example.app:/cb?error=access_denied&error_description=The%20user%20declined&state=xyz"
                + "&iss=https%3A%2F%2Fauth.example.test%2F")
            #expect(fixture.grants.grants.withLock { $0[grant.id]?.cancelledAt } != nil)
            #expect(await fixture.post("/consent/\(grant.id)", [("action", "consent")]).status == 400)
        }
    }

    @Test(arguments: StoreBackend.allCases) func fragmentAndFormPostResponses(_ backend: StoreBackend) async throws {
        try await withPages(backend) { fixture in
            try await fixture.register("alice")
            try await fixture.addClient(redirectURIs: ["https://app.example.com/callback"])
            try await fixture.signIn()
            _ = await fixture.get(PagesFixture.authorize(extra: [("response_mode", "fragment")]))
            let first = try #require(fixture.grants.grants.withLock { Array($0.values) }.first)
            _ = await fixture.get("/consent/\(first.id)")
            let fragment = await fixture.post("/consent/\(first.id)", [("action", "consent")])
            #expect(fragment.location?.hasPrefix("https://app.example.com/callback#code=") == true)
            #expect(fragment.locationParameters(after: "#")["iss"] == PagesFixture.issuer)

            _ = await fixture.get(PagesFixture.authorize(extra: [("response_mode", "form_post")]))
            let second = try #require(fixture.grants.grants.withLock { $0.values.first { $0.id != first.id } })
            _ = await fixture.get("/consent/\(second.id)")
            let posted = await fixture.post("/consent/\(second.id)", [("action", "consent")])
            #expect(posted.status == 200 && posted.location == nil)
            #expect(posted.text.contains(#"<form id="form-post" method="post" action="https://app.example.com/callback">"#))
            #expect(posted.text.contains(#"name="state" value="xyz""#) && posted.text.contains(#"name="iss" value="https://auth.example.test/""#))
            #expect(posted.text.contains(#"<button id="form-post-continue" type="submit">"#), "works without JavaScript")
            let csp = try #require(posted.headers.first(name: "Content-Security-Policy"))
            #expect(csp.contains("script-src 'self'") && csp.contains("form-action 'self' https://app.example.com"))
        }
    }

    @Test(arguments: StoreBackend.allCases) func promptLoginAsksForThePasswordAgain(_ backend: StoreBackend) async throws {
        try await withPages(backend) { fixture in
            try await fixture.register("alice")
            try await fixture.addClient(redirectURIs: ["https://app.example.com/callback"])
            try await fixture.signIn()
            fixture.clock.advance(by: 60)
            let start = await fixture.get(PagesFixture.authorize(extra: [("prompt", "login")]))
            let grant = try #require(fixture.grants.grants.withLock { Array($0.values) }.first)
            #expect(start.location == "/login?kind=continue_authorization_grant&id=\(grant.id)")
            let login = await fixture.get(try #require(start.location))
            #expect(login.status == 200 && login.text.contains("enter your password again"))
            #expect(await fixture.get("/consent/\(grant.id)").location == "/login?kind=continue_authorization_grant&id=\(grant.id)", "no skipping")
            fixture.clock.advance(by: 5)
            let again = await fixture.post("/login?kind=continue_authorization_grant&id=\(grant.id)", PagesTests.alice)
            #expect(again.location == "/consent/\(grant.id)")
            #expect(await fixture.get("/consent/\(grant.id)").status == 200)
            #expect(fixture.browserSessions.sessions.withLock { $0.count } == 1, "the same session, re-authenticated")
        }
    }

    @Test(arguments: StoreBackend.allCases) func promptNoneWithASessionNeedsConsent(_ backend: StoreBackend) async throws {
        try await withPages(backend) { fixture in
            try await fixture.register("alice")
            try await fixture.addClient(redirectURIs: ["https://app.example.com/callback"])
            try await fixture.signIn()
            let reply = await fixture.get(PagesFixture.authorize(extra: [("prompt", "none")]))
            #expect(reply.locationParameters()["error"] == "consent_required")
        }
    }

    @Test(arguments: StoreBackend.allCases) func adminScopeOnlyForAdmins(_ backend: StoreBackend) async throws {
        try await withPages(backend) { fixture in
            try await fixture.register("alice")
            try await fixture.register("root", admin: true)
            try await fixture.addClient(redirectURIs: ["https://app.example.com/callback"])
            let scope = "urn:matrix:client:api:* urn:synapse:admin:*"
            try await fixture.signIn()
            _ = await fixture.get(PagesFixture.authorize(scope: scope))
            let grant = try #require(fixture.grants.grants.withLock { Array($0.values) }.first)
            let refused = await fixture.get("/consent/\(grant.id)")
            #expect(refused.status == 403 && refused.text.contains("Administrator access refused"))
            #expect(await fixture.post("/consent/\(grant.id)", [("action", "consent")]).status == 403)
            _ = await fixture.get("/account/")
            #expect(await fixture.post("/logout", []).status == 303)
            try await fixture.signIn("root")
            let allowed = await fixture.get("/consent/\(grant.id)")
            #expect(allowed.status == 200 && allowed.text.contains("Administer the server"))
        }
    }

    // MARK: Registration

    @Test(arguments: StoreBackend.allCases) func registrationIsOffOrValidated(_ backend: StoreBackend) async throws {
        try await withPages(backend) { fixture in
            #expect(await fixture.get("/register").status == 404)
            try await fixture.addClient(redirectURIs: ["https://app.example.com/callback"])
            #expect(await fixture.get(PagesFixture.authorize(extra: [("prompt", "create")])).locationParameters()["error"] == "invalid_request")
        }
        var options = PagesFixture.Options()
        options.registration = true
        options.tosURI = "https://example.test/terms"
        try await withPages(backend, options) { fixture in
            try await fixture.addClient(redirectURIs: ["https://app.example.com/callback"])
            try await fixture.register("taken")
            let start = await fixture.get(PagesFixture.authorize(extra: [("prompt", "create")]))
            let grant = try #require(fixture.grants.grants.withLock { Array($0.values) }.first)
            #expect(start.location == "/register?kind=continue_authorization_grant&id=\(grant.id)")
            let form = await fixture.get(try #require(start.location))
            for fragment in [
                #"<form id="register-form""#, #"id="password_confirm""#, #"id="accept_terms" name="accept_terms" type="checkbox""#,
                "https://example.test/terms",
            ] {
                #expect(form.text.contains(fragment), "missing \(fragment)")
            }
            let action = try #require(start.location)
            let good = [("password", "long enough"), ("password_confirm", "long enough"), ("accept_terms", "on")]
            for (fields, message) in [
                ([("username", "Bad Name")] + good, "cannot be used"),
                ([("username", "taken")] + good, "taken"),
                ([("username", "newbie"), ("password", "short"), ("password_confirm", "short"), ("accept_terms", "on")], "at least 8"),
                ([("username", "newbie"), ("password", "long enough"), ("password_confirm", "different!"), ("accept_terms", "on")], "differ"),
                ([("username", "newbie"), ("password", "long enough"), ("password_confirm", "long enough")], "terms"),
            ] {
                let reply = await fixture.post(action, fields)
                #expect(reply.status == 400 && reply.text.contains(#"class="error""#) && reply.text.contains(message), "\(fields)")
            }
            let created = await fixture.post(action, [("username", "newbie")] + good)
            #expect(created.status == 303 && created.location == "/consent/\(grant.id)")
            let user = try #require(try await fixture.store.users.find(username: "newbie"))
            #expect(fixture.synapse.user("newbie") != nil, "provisioned in Synapse")
            #expect(fixture.browserSessions.sessions.withLock { $0.values.first?.userId } == user.id)
        }
    }

    @Test(arguments: StoreBackend.allCases) func registrationsPerAddressFollowTheConfiguredLimit(_ backend: StoreBackend) async throws {
        var options = PagesFixture.Options()
        options.registration = true
        options.rateLimitingYAML = "{registration: {burst: 1, per_second: 0.001}}"
        try await withPages(backend, options) { fixture async throws in
            _ = await fixture.get("/register")
            let fields = [("password", "long enough"), ("password_confirm", "long enough")]
            let first = await fixture.post("/register", [("username", "first")] + fields)
            #expect(first.status == 303)
            _ = await fixture.post("/logout", [])
            _ = await fixture.get("/register")
            let limited = await fixture.post("/register", [("username", "second")] + fields)
            #expect(limited.status == 429 && limited.text.contains(#"class="error""#))
            #expect(limited.headers.first(name: "Retry-After") == "1000")
            let refused = try await fixture.store.users.find(username: "second")
            #expect(refused == nil, "a limited attempt creates no account")
            fixture.clock.advance(by: 1000)
            _ = await fixture.get("/register")
            #expect(await fixture.post("/register", [("username", "second")] + fields).status == 303)
        }
    }

    // MARK: Device grant

    @Test(arguments: StoreBackend.allCases) func linkAndDeviceConsent(_ backend: StoreBackend) async throws {
        try await withPages(backend) { fixture in
            try await fixture.register("alice")
            try await fixture.addClient(redirectURIs: ["https://app.example.com/callback"])
            let now = fixture.clock.now()
            let grant = DeviceCodeGrant(
                id: "01JDEVICEGRANT000000000000", clientId: "01JCLIENT0000000000000000A",
                scope: "urn:matrix:client:api:* urn:matrix:client:device:TVDEVICE01",
                deviceCodeHash: "hash", userCode: "BCDFGHJK", createdAt: now, expiresAt: now.addingTimeInterval(600))
            try await fixture.deviceGrants.create(grant)

            let prefilled = await fixture.get("/link?code=bcdf-ghjk")
            #expect(prefilled.text.contains(#"<form id="link-form""#) && prefilled.text.contains(#"value="bcdf-ghjk""#))
            let unknown = await fixture.post("/link", [("code", "ZZZZ-ZZZZ")])
            #expect(unknown.status == 400 && unknown.text.contains(#"class="error""#))
            let found = await fixture.post("/link", [("code", " bcdf-ghjk ")])
            #expect(found.status == 303 && found.location == "/device/\(grant.id)")
            #expect(await fixture.get("/device/\(grant.id)").location == "/login?kind=continue_device_grant&id=\(grant.id)")
            let signedIn = await fixture.post("/login?kind=continue_device_grant&id=\(grant.id)", PagesTests.alice)
            #expect(signedIn.location == "/device/\(grant.id)")
            let consent = await fixture.get("/device/\(grant.id)")
            #expect(consent.text.contains(#"<form id="device-consent-form""#) && consent.text.contains("TVDEVICE01") && consent.text.contains("BCDFGHJK"))
            let decided = await fixture.post("/device/\(grant.id)", [("action", "consent")])
            #expect(decided.status == 303 && decided.location == "/device/\(grant.id)")
            #expect(fixture.deviceGrants.grants.withLock { $0[grant.id]?.status } == .approved)
            let done = await fixture.get("/device/\(grant.id)")
            #expect(done.status == 200 && done.text.contains("continue on your device"))
            #expect(await fixture.post("/link", [("code", "BCDFGHJK")]).status == 400, "single use")
        }
    }

    @Test(arguments: StoreBackend.allCases) func expiredDeviceCodesAndRejection(_ backend: StoreBackend) async throws {
        try await withPages(backend) { fixture in
            try await fixture.register("alice")
            try await fixture.addClient(redirectURIs: ["https://app.example.com/callback"])
            let now = fixture.clock.now()
            for (id, code) in [("01JDEVICEGRANT00000000000A", "CCCCCCCC"), ("01JDEVICEGRANT00000000000B", "DDDDDDDD")] {
                try await fixture.deviceGrants.create(DeviceCodeGrant(
                    id: id, clientId: "01JCLIENT0000000000000000A", scope: "openid", deviceCodeHash: id, userCode: code, createdAt: now,
                    expiresAt: now.addingTimeInterval(600)))
            }
            try await fixture.signIn()
            _ = await fixture.get("/device/01JDEVICEGRANT00000000000B")
            #expect(await fixture.post("/device/01JDEVICEGRANT00000000000B", [("action", "reject")]).status == 303)
            #expect(fixture.deviceGrants.grants.withLock { $0["01JDEVICEGRANT00000000000B"]?.status } == .rejected)
            #expect(await fixture.get("/device/01JDEVICEGRANT00000000000B").text.contains("Access denied"))
            fixture.clock.advance(by: 601)
            #expect(await fixture.post("/link", [("code", "CCCCCCCC")]).status == 400)
            #expect(await fixture.get("/device/01JDEVICEGRANT00000000000A").status == 400)
        }
    }

    // MARK: Legacy SSO

    @Test(arguments: StoreBackend.allCases) func legacySSOFromRedirectToLoginToken(_ backend: StoreBackend) async throws {
        try await withPages(backend) { fixture in
            let alice = try await fixture.register("alice")
            let sso = try #require(fixture.service.ssoRedirect)
            let responder = CompatSSOResponderForTests(endpoint: sso)
            for bad in ["", "?redirectUrl=", "?redirectUrl=not%20a%20url", "?redirectUrl=https%3A%2F%2Fu%3Ap%40client.example%2F",
                "?redirectUrl=https%3A%2F%2F%2Fpath", "?redirectUrl=https%3A%2F%2Fclient.example%2F%23frag"]
            {
                let reply = await fixture.send(.GET, "/_matrix/client/v3/login/sso/redirect" + bad, responder: responder)
                #expect(reply.status == 400 && reply.location == nil && reply.text.contains(#"<h1 id="error-title">"#), "\(bad)")
            }
            let start = await fixture.send(
                .GET, "/_matrix/client/v3/login/sso/redirect/oidc-x?redirectUrl=https%3A%2F%2Fclient.example%2Fdone%3Fa%3Db", responder: responder)
            let login = try #require(fixture.ssoLogins.logins.withLock { Array($0.values) }.first)
            #expect(start.status == 303 && start.location == PagesFixture.issuer + "complete-compat-sso/\(login.id)")
            #expect(login.redirectURL == "https://client.example/done?a=b")

            let toLogin = await fixture.get("/complete-compat-sso/\(login.id)")
            #expect(toLogin.location == "/login?kind=continue_compat_sso_login&id=\(login.id)")
            _ = await fixture.get(try #require(toLogin.location))
            let signedIn = await fixture.post("/login?kind=continue_compat_sso_login&id=\(login.id)", PagesTests.alice)
            #expect(signedIn.location == "/complete-compat-sso/\(login.id)")
            let page = await fixture.get("/complete-compat-sso/\(login.id)")
            #expect(page.text.contains(#"<form id="sso-consent-form""#) && page.text.contains(#"<strong id="redirect-host">client.example</strong>"#))
            #expect(page.headers.first(name: "Content-Security-Policy")?.contains("form-action 'self' https://client.example") == true)
            fixture.clock.advance(by: 10)
            let done = await fixture.post("/complete-compat-sso/\(login.id)", [("action", "consent")])
            #expect(done.status == 303 && done.location?.hasPrefix("https://client.example/done?a=b&loginToken=") == true)
            let token = try #require(done.locationParameters()["loginToken"])
            let stored = try #require(fixture.ssoLogins.tokens.withLock { $0.first })
            #expect(stored.tokenHash == TokenHasher.sha256Hex(token) && stored.userId == alice.id)
            #expect(stored.expiresAt.timeIntervalSince(stored.createdAt) == 30)
            #expect(await fixture.get("/complete-compat-sso/\(login.id)").status == 400, "used once")
        }
    }

    /// MSC3824: a client that asks for registration gets the registration page first (when offered).
    @Test(arguments: StoreBackend.allCases) func legacySSOWithActionRegister(_ backend: StoreBackend) async throws {
        var options = PagesFixture.Options()
        options.registration = true
        try await withPages(backend, options) { fixture in
            let responder = CompatSSOResponderForTests(endpoint: try #require(fixture.service.ssoRedirect))
            let start = await fixture.send(
                .GET, "/_matrix/client/v3/login/sso/redirect?redirectUrl=https%3A%2F%2Fclient.example%2F&org.matrix.msc3824.action=register",
                responder: responder)
            let login = try #require(fixture.ssoLogins.logins.withLock { Array($0.values) }.first)
            let location = try #require(start.location)
            #expect(location == PagesFixture.issuer + "complete-compat-sso/\(login.id)?org.matrix.msc3824.action=register")
            let path = String(location.dropFirst(PagesFixture.issuer.count - 1))
            #expect(await fixture.get(path).location == "/register?kind=continue_compat_sso_login&id=\(login.id)")
            #expect(await fixture.get("/complete-compat-sso/\(login.id)").location == "/login?kind=continue_compat_sso_login&id=\(login.id)")
        }
    }

    @Test(arguments: StoreBackend.allCases) func legacySSOLoginsExpireAfter30Minutes(_ backend: StoreBackend) async throws {
        try await withPages(backend) { fixture in
            try await fixture.register("alice")
            try await fixture.signIn()
            let responder = CompatSSOResponderForTests(endpoint: try #require(fixture.service.ssoRedirect))
            _ = await fixture.send(.GET, "/_matrix/client/v3/login/sso/redirect?redirectUrl=https%3A%2F%2Fclient.example%2F", responder: responder)
            let login = try #require(fixture.ssoLogins.logins.withLock { Array($0.values) }.first)
            fixture.clock.advance(by: 29 * 60)
            #expect(await fixture.get("/complete-compat-sso/\(login.id)").status == 200)
            fixture.clock.advance(by: 61)
            let expired = await fixture.get("/complete-compat-sso/\(login.id)")
            #expect(expired.status == 400 && expired.text.contains("This login session expired."))
            #expect(await fixture.post("/complete-compat-sso/\(login.id)", [("action", "consent")]).status == 400)
            #expect(fixture.ssoLogins.tokens.withLock { $0.isEmpty })
        }
    }

    /// Through the store's repositories: the token the SSO page issues logs in with `m.login.token` once,
    /// within 30 s; the whole flow as a classic client sees it.
    @Test(arguments: StoreBackend.allCases) func legacySSOTokenLogsInThroughTheCompatLayer(_ backend: StoreBackend) async throws {
        var options = PagesFixture.Options()
        options.storeRepositories = true
        try await withPages(backend, options) { fixture in
            try await fixture.register("alice")
            let compat = CompatLoginService(
                store: fixture.store, synapse: fixture.client, queue: JobQueue(repository: fixture.store.jobs), hasher: fixture.hasher,
                serverName: PagesFixture.serverName, perIP: RateLimiter(burst: 100, perSecond: 100, clock: fixture.clock),
                perAccount: RateLimiter(burst: 100, perSecond: 100, clock: fixture.clock), clock: fixture.clock)
            let matrix = MatrixCompatResponder(service: compat, trustedProxies: [], ssoRedirect: fixture.service.ssoRedirect)
            let flows = await fixture.send(.GET, "/_matrix/client/v3/login", responder: matrix)
            #expect(flows.text == #"{"flows":[{"type":"m.login.password"},{"oauth_aware_preferred":true,"#
                + #""org.matrix.msc3824.delegated_oidc_compatibility":true,"type":"m.login.sso"},{"type":"m.login.token"}]}"#)
            let start = await fixture.send(.GET, "/_matrix/client/r0/login/sso/redirect?redirectUrl=http%3A%2F%2F127.0.0.1%3A8765%2F", responder: matrix)
            let id = try #require(start.location?.split(separator: "/").last.map(String.init))
            let toLogin = await fixture.get("/complete-compat-sso/\(id)")
            _ = await fixture.get(try #require(toLogin.location))
            #expect(await fixture.post(try #require(toLogin.location), PagesTests.alice).status == 303)
            _ = await fixture.get("/complete-compat-sso/\(id)")
            let done = await fixture.post("/complete-compat-sso/\(id)", [("action", "consent")])
            let token = try #require(done.locationParameters()["loginToken"])
            #expect(done.location == "http://127.0.0.1:8765/?loginToken=\(token)")
            #expect(try await fixture.store.compatSSOLogins.find(id: id)?.fulfilledAt != nil)
            fixture.clock.advance(by: 29)
            let request = CompatLoginService.LoginRequest(
                credentials: .loginToken(token), deviceId: nil, initialDeviceDisplayName: nil, wantsRefreshToken: false, clientAddress: "192.0.2.1")
            let login = try await compat.login(request)
            #expect(login.userId == "@alice:example.test")
            await #expect(throws: CompatError.invalidLoginToken) { _ = try await compat.login(request) }
        }
    }

    /// A user locked or deactivated while signed in is signed out on the next page, and cannot sign in again.
    @Test(arguments: StoreBackend.allCases) func lockedAndDeactivatedUsersAreSignedOut(_ backend: StoreBackend) async throws {
        try await withPages(backend) { fixture in
            let alice = try await fixture.register("alice")
            let bob = try await fixture.register("bob")
            try await fixture.signIn()
            try await fixture.store.users.setLocked(userId: alice.id, at: fixture.clock.now())
            #expect(await fixture.get("/account/").location == "/login")
            _ = await fixture.get("/login")
            let locked = await fixture.post("/login", PagesTests.alice)
            #expect(locked.status == 401 && locked.text.contains("This account is locked."))
            try await fixture.signIn("bob")
            try await fixture.store.users.setDeactivated(userId: bob.id, at: fixture.clock.now())
            #expect(await fixture.get("/account/").location == "/login")
            _ = await fixture.get("/login")
            let deactivated = await fixture.post("/login", [("username", "bob"), ("password", "correct horse")])
            #expect(deactivated.status == 401 && deactivated.text.contains("Invalid username or password."), "as a wrong password")
        }
    }

    /// Through the default route table and a running server: the pages answer with their headers,
    /// and a form without the cookie's CSRF token is refused.
    @Test(arguments: StoreBackend.allCases) func pagesThroughTheDefaultRoutes(_ backend: StoreBackend) async throws {
        try await withDefaultRoutesGateway(backend) { port, store in
            let login = try await request(port: port, "GET /login HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(login.status == 200 && login.body.contains(#"<form id="login-form""#))
            let headers = Dictionary(login.headers.map { ($0.0.lowercased(), $0.1) }, uniquingKeysWith: { first, _ in first })
            #expect(headers["content-security-policy"]?.contains("frame-ancestors 'none'") == true)
            #expect(headers["referrer-policy"] == "no-referrer" && headers["x-frame-options"] == "DENY" && headers["cache-control"] == "no-store")
            #expect(headers["set-cookie"]?.hasPrefix("__Host-gatehouse-session=") == true)
            let forged = try await request(port: port, """
                POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n\
                Content-Length: 28\r\n\r\nusername=alice&password=pass
                """)
            #expect(forged.status == 403 && forged.body.contains(#"id="error-title""#))
            let css = try await request(port: port, "GET /assets/gatehouse.css HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(css.status == 200)
            let sso = try await request(port: port, "GET /complete-compat-sso/01JNOSUCHLOGIN HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(sso.status == 404 && sso.body.contains(#"id="error-title""#))
        }
    }

    /// The authorization code and device flows on the store's repositories, SQLite and PostgreSQL
    /// (foreign keys, states and transactions as in production; the name is from when SQLite was the
    /// only store).
    @Test(arguments: StoreBackend.allCases) func flowsOnTheSQLiteStore(_ backend: StoreBackend) async throws {
        var options = PagesFixture.Options()
        options.storeRepositories = true
        try await withPages(backend, options) { fixture in
            let alice = try await fixture.register("alice")
            let clientId = try await fixture.addClient(redirectURIs: ["https://app.example.com/callback"])
            let start = await fixture.get(PagesFixture.authorize())
            let login = try #require(start.location)
            let grantId = try #require(login.split(separator: "=").last.map(String.init))
            _ = await fixture.get(login)
            #expect(await fixture.post(login, PagesTests.alice).location == "/consent/\(grantId)")
            _ = await fixture.get("/consent/\(grantId)")
            let answer = await fixture.post("/consent/\(grantId)", [("action", "consent")])
            let code = try #require(answer.locationParameters()["code"])
            let stored = try #require(try await fixture.store.authorizationGrants.find(id: grantId))
            #expect(stored.codeHash == TokenHasher.sha256Hex(code) && stored.userId == alice.id && stored.browserSessionId != nil)
            let browserSessionId = try #require(stored.browserSessionId)
            let browser = try #require(try await fixture.store.browserSessions.find(id: browserSessionId))
            #expect(browser.1.id == alice.id && browser.0.finishedAt == nil)

            let now = fixture.clock.now()
            try await fixture.store.deviceGrants.create(DeviceCodeGrant(
                id: "01JDEVICEGRANTSQLITE000000", clientId: clientId, scope: "urn:matrix:client:api:* urn:matrix:client:device:TVDEVICE02",
                deviceCodeHash: TokenHasher.sha256Hex("device-code"), userCode: "BCDFGHJK", createdAt: now, expiresAt: now.addingTimeInterval(600)))
            _ = await fixture.get("/link")
            #expect(await fixture.post("/link", [("code", "bcdf-ghjk")]).location == "/device/01JDEVICEGRANTSQLITE000000")
            _ = await fixture.get("/device/01JDEVICEGRANTSQLITE000000")
            #expect(await fixture.post("/device/01JDEVICEGRANTSQLITE000000", [("action", "consent")]).status == 303)
            let device = try #require(try await fixture.store.deviceGrants.find(id: "01JDEVICEGRANTSQLITE000000"))
            #expect(device.status == .approved && device.userId == alice.id)

            _ = await fixture.get("/account/")
            #expect(await fixture.post("/logout", []).location == "/login")
            #expect(try await fixture.store.browserSessions.find(id: browser.0.id)?.0.finishedAt != nil)
        }
    }

    // MARK: Configuration

    @Test(arguments: StoreBackend.allCases) func templatesCanBeOverriddenFromADirectory(_ backend: StoreBackend) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-templates-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "{{<layout}}{{$title}}Custom{{/title}}{{$content}}<h1>Hello from {{branding.service_name}}</h1>{{/content}}{{/layout}}"
            .write(toFile: "\(directory)/login.html", atomically: true, encoding: .utf8)
        var options = PagesFixture.Options()
        options.templatesPath = directory
        try await withPages(backend, options) { fixture in
            let reply = await fixture.get("/login")
            #expect(reply.text.contains("<h1>Hello from Example Chat</h1>") && reply.text.contains("<title>Custom – Example Chat</title>"))
        }
        try "{{#unclosed}}".write(toFile: "\(directory)/error.html", atomically: true, encoding: .utf8)
        #expect(throws: PageTemplates.LoadError.self) { _ = try PageTemplates(overridesFrom: directory) }
    }

    @Test(arguments: StoreBackend.allCases) func withoutTheEncryptionKeyThePagesSayWhy(_ backend: StoreBackend) async throws {
        var options = PagesFixture.Options()
        options.encryption = false
        try await withPages(backend, options) { fixture in
            let reply = await fixture.get("/login")
            #expect(reply.status == 503 && reply.text.contains("secrets.encryption") && reply.headers.first(name: "Set-Cookie") == nil)
            #expect(fixture.service.ssoRedirect == nil)
            #expect(PagesService.unavailableReason(fixture.configuration) != nil)
        }
    }
}

/// Routes SSO requests to the endpoint as the `matrix-compat` service does.
struct CompatSSOResponderForTests: LocalResponder {
    let endpoint: CompatSSORedirectEndpoint
    func respond(to request: LocalRequest) async -> LocalResponse { await endpoint.respond(to: request) }
}

extension PagesService {
    /// The cookie sealer of the running pages (tests open and re-seal cookies with it).
    var cookieForTests: SessionCookie { (responder as! PagesResponder).context.cookie }
}
