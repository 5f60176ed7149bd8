import Foundation
import Testing

@testable import GatehouseCore

struct RouteTableTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func defaultTable() throws -> RouteTable {
        try RouteTable(rules: RouteFileParser.parse(DefaultRoutes.text, file: "matrix.routes"), upstreams: ["synapse"])
    }

    private func decide(_ table: RouteTable, _ method: String, _ target: String) throws -> RouteAction? {
        let path = try CanonicalPath.parse(target).get().canonicalPath
        return table.match(method: method, path: path, scratch: MatchScratch()).route?.rule.action
    }

    @Test func shippedRouteFileMatchesTheEmbeddedCopy() throws {
        let file = Self.repositoryRoot.appendingPathComponent("routes/matrix.routes")
        let text = try String(contentsOf: file, encoding: .utf8)
        #expect(text == DefaultRoutes.text, "run scripts/update-default-routes.py after editing routes/matrix.routes")
    }

    @Test func everyShippedRouteFileAndExampleCompiles() throws {
        let directories = ["routes", "examples"].map { Self.repositoryRoot.appendingPathComponent($0) }
        var compiled = 0
        for directory in directories {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            for name in names where name.hasSuffix(".routes") {
                let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
                let rules = try RouteFileParser.parse(text, file: name)
                let upstreams = Set(rules.compactMap { rule -> String? in if case .proxy(let name) = rule.action { name } else { nil } })
                _ = try RouteTable(rules: rules, upstreams: upstreams)
                compiled += 1
            }
        }
        #expect(compiled >= 1)
    }

    @Test(arguments: [
        ("GET", "/health", RouteAction.local(.health)),
        ("POST", "/_matrix/client/v3/login", .local(.matrixCompat)),
        ("GET", "/_matrix/client/r0/login", .local(.matrixCompat)),
        ("GET", "/_matrix/client/api/v1/login", .local(.matrixCompat)),
        ("POST", "/_matrix/client/unstable/login/", .local(.matrixCompat)),
        ("GET", "/_matrix/client/v3/login/sso/redirect/oidc-x", .local(.matrixCompat)),
        ("POST", "/_matrix/client/v3/logout", .local(.matrixCompat)),
        ("POST", "/_matrix/client/v3/logout/all", .local(.matrixCompat)),
        ("POST", "/_matrix/client/v3/refresh", .local(.matrixCompat)),
        ("POST", "/_matrix/client/v1/refresh", .local(.matrixCompat)),
        ("GET", "/.well-known/openid-configuration", .local(.oauth2)),
        ("POST", "/oauth2/introspect", .local(.oauth2)),
        ("GET", "/authorize", .local(.pages)),
        ("GET", "/complete-compat-sso/01JSSO", .local(.pages)),
        ("POST", "/consent/01JGRANT", .local(.pages)),
        ("GET", "/account/", .local(.pages)),
        ("GET", "/_synapse/mas/query_user", .deny(404)),
        ("POST", "/_synapse/%6Das/provision_user", .deny(404)),
        ("GET", "/%5Fsynapse/mas", .deny(404)),
        ("GET", "//_synapse/admin/v1/server_version", .deny(404)),
        ("GET", "/_synapse/admin", .deny(404)),
        ("GET", "/_matrix/client/v3/sync", .proxy("synapse")),
        ("GET", "/_matrix/client/versions", .proxy("synapse")),
        ("GET", "/_matrix/key/v2/server", .proxy("synapse")),
        ("PUT", "/_matrix/federation/v1/send/123", .proxy("synapse")),
        ("POST", "/_matrix/client/v3/register", .proxy("synapse")),
        ("GET", "/_synapse/client/pick_idp", .proxy("synapse")),
        ("GET", "/.well-known/matrix/client", .proxy("synapse")),
        // A room state key called "login" is not a login.
        ("PUT", "/_matrix/client/v3/rooms/!r:x/state/m.room.name/login", .proxy("synapse")),
        ("GET", "/_matrix/client/v3/rooms/!r:x/state/login/logout", .proxy("synapse")),
        ("GET", "/_matrix/client/v3/login/get_token", .proxy("synapse")),
    ])
    func defaultTableDecisions(method: String, target: String, expected: RouteAction) throws {
        #expect(try decide(Self.defaultTable(), method, target) == expected)
    }

    @Test func unmatchedPathsAndMethodsHaveNoRule() throws {
        let table = try Self.defaultTable()
        #expect(try decide(table, "GET", "/") == nil)
        #expect(try decide(table, "GET", "/_synapsefoo") == nil)
        #expect(try decide(table, "POST", "/health") == nil)
        #expect(try decide(table, "HEAD", "/health") == .local(.health), "GET rules also cover HEAD")
        #expect(try decide(table, "POST", "/.well-known/matrix/client") == nil)
    }

    @Test func firstMatchWinsAlsoForExactPaths() throws {
        let rules = try RouteFileParser.parse("""
            GET  ^/h.*$      deny 403
            *    ^/health$   local health
            POST ^/health$   deny 405
            """, file: "t")
        let table = try RouteTable(rules: rules, upstreams: [])
        let scratch = MatchScratch()
        #expect(table.match(method: "GET", path: "/health", scratch: scratch).route?.rule.action == .deny(403))
        #expect(table.match(method: "POST", path: "/health", scratch: scratch).route?.rule.action == .local(.health))
        #expect(table.match(method: "GET", path: "/hello", scratch: scratch).route?.rule.action == .deny(403))
    }

    @Test func literalPatternsAreRecognised() {
        #expect(RouteTable.literalPath(of: "^/health$") == "/health")
        #expect(RouteTable.literalPath(of: #"^/\.well-known/openid-configuration$"#) == "/.well-known/openid-configuration")
        #expect(RouteTable.literalPath(of: "^/a.b$") == nil)
        #expect(RouteTable.literalPath(of: "^/a(/|$)") == nil)
        #expect(RouteTable.literalPath(of: "^/a") == nil)
    }

    @Test func parsesOptionsAndActions() throws {
        let rules = try RouteFileParser.parse("""
            # comment line

            GET,POST  ^/a$  proxy up  max_body=1MiB timeout=5m   # trailing comment
            *         ^/b$  redirect 301 https://example.org/b
            """, file: "f.routes")
        #expect(rules.count == 2)
        #expect(rules[0].methods == ["GET", "POST"])
        #expect(rules[0].options == RouteOptions(maxBodyBytes: 1 << 20, upstreamTimeout: .seconds(300)))
        #expect(rules[0].source.line == 3)
        #expect(rules[1].action == .redirect(status: 301, location: "https://example.org/b"))
        #expect(rules[1].methods == nil)
    }

    @Test(arguments: [
        ("GET ^/a$", "f:1: expected `METHODS PATTERN ACTION ...`"),
        ("FETCH ^/a$ deny 404", "unknown method 'FETCH'"),
        ("GET ^/a$ forward up", "unknown action 'forward'"),
        ("GET ^/a$ local nosuch", "unknown local service 'nosuch'"),
        ("GET ^/a$ deny 200", "`deny` status must be between 400 and 599"),
        ("GET ^/a$ redirect 301", "`redirect` needs a location"),
        ("GET ^/a$ proxy", "`proxy` needs an upstream name"),
        ("GET ^/a$ proxy up max_body=lots", "max_body 'lots' is not a size"),
        ("GET ^/a$ proxy up timeout=0s", "timeout '0s' is not a duration"),
        ("GET ^/a$ proxy up speed=9", "unknown option 'speed'"),
        ("GET ^/a$ proxy up stray", "unexpected 'stray'"),
    ])
    func grammarErrorsNameFileAndLine(line: String, message: String) {
        do {
            let rules = try RouteFileParser.parse(line, file: "f")
            _ = try RouteTable(rules: rules, upstreams: ["up"])
            Issue.record("expected an error for \(line)")
        } catch {
            #expect(error.description.hasPrefix("f:1: "))
            #expect(error.description.contains(message), "\(error.description)")
        }
    }

    @Test func compileErrorsNameFileAndLine() throws {
        let rules = try RouteFileParser.parse("\n\nGET ^/a(b$ proxy up\n", file: "bad.routes")
        #expect(throws: RouteFileError.self) { try RouteTable(rules: rules, upstreams: ["up"]) }
        do {
            _ = try RouteTable(rules: rules, upstreams: ["up"])
        } catch {
            #expect(error.description.hasPrefix("bad.routes:3: bad pattern '^/a(b$'"))
            #expect(error.description.contains("missing closing parenthesis"))
        }
        let unknown = try RouteFileParser.parse("* ^/x proxy synapze", file: "u.routes")
        do {
            _ = try RouteTable(rules: unknown, upstreams: ["synapse"])
            Issue.record("unknown upstream accepted")
        } catch {
            #expect(error.description == "u.routes:1: unknown upstream 'synapze' (known: synapse); define it under `upstreams:` in the config")
        }
    }

    @Test func regexIsJITCompiled() throws {
        let regex = try PCRE2Regex("^/_matrix/client/(r0|v3)/sync$")
        #expect(regex.isJITCompiled)
        #expect(regex.match("/_matrix/client/v3/sync", scratch: MatchScratch()) == .matched(0..<23))
        #expect(regex.match("/_matrix/client/v3/sync/x", scratch: MatchScratch()) == .noMatch)
    }

    // MARK: Match errors (issue 7, item 12)

    static let catastrophic = """
        *    ^/x/(a+)+$   deny 403
        GET  ^/y/(b+)+$   deny 403
        *    ^/           proxy up
        """
    static let crafted = "/x/" + String(repeating: "a", count: 40) + "b"

    @Test func patternErrorIsNeitherMatchNorNoMatch() throws {
        let regex = try PCRE2Regex("^/x/(a+)+$")
        guard case .failed(let error) = regex.match(Self.crafted, scratch: MatchScratch()) else {
            Issue.record("nested quantifiers on a crafted path must hit the match limit")
            return
        }
        #expect(error.shortDescription == "match_limit")
        #expect(error.description == "match limit exceeded")
        #expect(regex.match("/x/aaa", scratch: MatchScratch()).isMatch)
        // With PCRE2's default limits the same match also fails (only later): it is never "no match".
        let pcre2Defaults = MatchLimits(matchLimit: 10_000_000, depthLimit: 10_000_000, jitStackBytes: 32 << 10)
        #expect(regex.match(Self.crafted, scratch: MatchScratch(limits: pcre2Defaults)) != .noMatch)
    }

    @Test func patternErrorStopsTheWalkInsteadOfFallingThrough() throws {
        let table = try RouteTable(rules: RouteFileParser.parse(Self.catastrophic, file: "t.routes"), upstreams: ["up"])
        let scratch = MatchScratch()
        guard case .failed(let route, let error) = table.match(method: "GET", path: Self.crafted, scratch: scratch) else {
            Issue.record("the deny rule's error must decide, not the proxy rule after it")
            return
        }
        #expect(route.index == 0 && "\(route.rule.source)" == "t.routes:1")
        #expect(error.shortDescription == "match_limit")
        #expect(table.match(method: "GET", path: "/x/aaa", scratch: scratch).route?.rule.action == .deny(403))
        #expect(table.match(method: "GET", path: "/z", scratch: scratch).route?.rule.action == .proxy("up"))
        // A rule whose methods exclude the request is not evaluated, so its pattern cannot fail it.
        let craftedY = "/y/" + String(repeating: "b", count: 40) + "c"
        #expect(table.match(method: "POST", path: craftedY, scratch: scratch).route?.rule.action == .proxy("up"))
        guard case .failed = table.match(method: "GET", path: craftedY, scratch: scratch) else {
            Issue.record("GET is judged by the rule whose pattern fails")
            return
        }
        // The trail of `gatehouse routes test` ends at the failing rule.
        let trail = table.explain(method: "GET", path: Self.crafted)
        #expect(trail.count == 1)
        #expect(trail.last.map { $0.outcome == .failed(error) && $0.methodAllowed } == true)
    }

    @Test func tableLimitsApplyToEveryMatch() throws {
        let rules = try RouteFileParser.parse("*  ^/(a+)+$  deny 403\n*  ^/  proxy up", file: "t")
        // 2^12 ways to split the a's: within the default limits, beyond a limit of 1,000.
        let path = "/" + String(repeating: "a", count: 12) + "b"
        let generous = try RouteTable(rules: rules, upstreams: ["up"])
        let tight = try RouteTable(rules: rules, upstreams: ["up"], limits: MatchLimits(matchLimit: 1_000, depthLimit: 100, jitStackBytes: 32 << 10))
        // One scratch serves both tables, as an event loop's would.
        let scratch = MatchScratch()
        #expect(generous.match(method: "GET", path: path, scratch: scratch).route?.rule.action == .proxy("up"))
        guard case .failed = tight.match(method: "GET", path: path, scratch: scratch) else {
            Issue.record("tight limits must stop the match")
            return
        }
        #expect(scratch.limits == tight.limits)
        #expect(generous.match(method: "GET", path: path, scratch: scratch).route?.rule.action == .proxy("up"))
        #expect(scratch.limits == .default)
    }

    @Test func exactPathsNeverHideAPatternError() throws {
        // The literal rule's path makes the earlier pattern fail: the dictionary must not skip that.
        let literal = "/" + String(repeating: "h", count: 40) + "-"
        let rules = try RouteFileParser.parse("*  ^/(h+)+$  deny 403\n*  ^\(literal)$  proxy up\n*  ^/ok$  proxy up", file: "t")
        #expect(RouteTable.literalPath(of: "^\(literal)$") == literal)
        let table = try RouteTable(rules: rules, upstreams: ["up"])
        guard case .failed(let route, _) = table.match(method: "GET", path: literal, scratch: MatchScratch()) else {
            Issue.record("the pattern error must be reported for the literal path too")
            return
        }
        #expect(route.index == 0)
        #expect(table.match(method: "GET", path: "/ok", scratch: MatchScratch()).route?.rule.action == .proxy("up"))
    }
}

extension RouteTable.Match {
    /// The matched route, or `nil` for no match and for an error (tests only).
    var route: CompiledRoute? {
        if case .matched(let route) = self { return route }
        return nil
    }
}

struct OAuth2WireTests {
    @Test func formBodiesDecode() throws {
        let pairs = try #require(FormURLEncoded.parse(Array("token=mct_a%2Bb+c&token_type_hint=access_token&empty=&flag".utf8)))
        #expect(pairs.map(\.name) == ["token", "token_type_hint", "empty", "flag"])
        #expect(pairs[0].value == "mct_a+b c")
        #expect(FormURLEncoded.single("token", in: pairs) == .value("mct_a+b c"))
        #expect(FormURLEncoded.single("missing", in: pairs) == .absent)
        let twice = try #require(FormURLEncoded.parse(Array("token=a&token=b".utf8)))
        #expect(FormURLEncoded.single("token", in: twice) == .duplicate)
        #expect(FormURLEncoded.parse(Array("token=%zz".utf8)) == nil)
        #expect(FormURLEncoded.parse(Array("token=%FF".utf8)) == nil, "invalid UTF-8")
        // A NUL, escaped or raw, in a name or a value: SQLite would compare bound text only up to it.
        #expect(FormURLEncoded.parse(Array("id=01ABC%00x".utf8)) == nil)
        #expect(FormURLEncoded.parse(Array("id%00=01ABC".utf8)) == nil)
        #expect(FormURLEncoded.parse([UInt8]("id=01ABC".utf8) + [0] + [UInt8]("x".utf8)) == nil)
        #expect(FormURLEncoded.parse([UInt8]("id=01+ABC".utf8) + [0]) == nil)
        #expect(FormURLEncoded.decodeComponent("a%00") == nil)
        // Introspection reads a token holding a NUL (and finds it inactive).
        #expect(FormURLEncoded.parse(Array("token=mct_a%00b".utf8), allowingNUL: true)?.first?.value == "mct_a\u{0}b")
    }

    @Test func scopesNormaliseLikeMAS() {
        #expect(MatrixScope.normalized([MatrixScope.clientAPI, "urn:matrix:client:device:ABCDEFGHIJ"])
            == "urn:matrix:client:api:* urn:matrix:client:device:ABCDEFGHIJ urn:matrix:org.matrix.msc2967.client:api:* urn:matrix:org.matrix.msc2967.client:device:ABCDEFGHIJ")
        #expect(MatrixScope.normalized([MatrixScope.unstableClientAPI, "openid"])
            == "openid urn:matrix:client:api:* urn:matrix:org.matrix.msc2967.client:api:*")
        #expect(MatrixScope.normalized([String]()) == "")
        #expect(MatrixScope.isValidToken("urn:matrix:client:device:AB_CD"))
        #expect(!MatrixScope.isValidToken("has space"))
        #expect(!MatrixScope.isValidToken("quote\""))
        #expect(!MatrixScope.isValidToken("back\\slash"))
    }
}

struct LocalpartTests {
    @Test func synapseRules() {
        #expect(Localpart.validate("alice", serverName: "example.org") == nil)
        #expect(Localpart.validate("a.b_c=d-e/f+g", serverName: "example.org") == nil)
        #expect(Localpart.validate("", serverName: "x") == .empty)
        #expect(Localpart.validate("Alice", serverName: "x") == .invalidCharacters)
        #expect(Localpart.validate("bad name", serverName: "x") == .invalidCharacters)
        #expect(Localpart.validate("_bridge", serverName: "x") == .reservedUnderscore)
        #expect(Localpart.validate("12345", serverName: "x") == .numeric)
        #expect(Localpart.validate(String(repeating: "a", count: 250), serverName: "example.org") == .tooLong(242))
    }

    @Test func userIdsOfThisServerOnly() {
        #expect(Localpart.from("alice", serverName: "example.org") == "alice")
        #expect(Localpart.from("@alice:example.org", serverName: "example.org") == "alice")
        #expect(Localpart.from("@alice:other.org", serverName: "example.org") == nil)
        #expect(Localpart.from("@:example.org", serverName: "example.org") == nil)
        #expect(Localpart.userId("alice", serverName: "example.org") == "@alice:example.org")
    }
}
