import Foundation
import Testing

@testable import GatehouseCore

/// The combined route patterns (issue 9) must give exactly the answer of trying each rule in order.
struct CombinedRouteMatchingTests {
    static let methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "PROPFIND", "get"]

    // MARK: Differential: combined against rule by rule

    @Test(arguments: CorpusTable.allCases)
    func combinedMatchingAgreesWithRuleByRule(table kind: CorpusTable) throws {
        let table = try kind.build()
        #expect(table.plans.contains { $0.combinedRuleCount > 0 }, "the table must actually use combined patterns")
        var random = SeededRandom(seed: 0x9A7E_0009 &+ UInt64(kind.rawValue.utf8.count))
        let corpus = PathCorpus.make(for: table.routes.map(\.rule.pattern), random: &random)
        #expect(corpus.count > 600)
        let scratch = MatchScratch()
        var mismatches: [String] = []
        var winners = Set<Int>()
        var outcomes = (matched: 0, noMatch: 0, failed: 0)
        for path in corpus {
            for method in Self.methods {
                let combined = table.match(method: method, path: path, scratch: scratch)
                let reference = table.matchRuleByRule(method: method, path: path, scratch: scratch)
                if Self.describe(combined) != Self.describe(reference), mismatches.count < 10 {
                    mismatches.append("\(method) \(path.prefix(200)): combined \(Self.describe(combined)), rule by rule \(Self.describe(reference))")
                }
                switch reference {
                case .matched(let route): winners.insert(route.index); outcomes.matched += 1
                case .noMatch: outcomes.noMatch += 1
                case .failed: outcomes.failed += 1
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
        // The corpus reaches most rules' matches, not only fall-through paths.
        #expect(outcomes.matched > 0 && outcomes.noMatch > 0)
        #expect(winners.count >= kind.minimumDistinctWinners, "only \(winners.count) rules ever won")
    }

    static func describe(_ match: RouteTable.Match) -> String {
        switch match {
        case .matched(let route): "rule \(route.index)"
        case .noMatch: "no match"
        case .failed(let route, let error): "rule \(route.index) failed (\(error.shortDescription))"
        }
    }

    // MARK: What may be combined

    @Test(arguments: [
        "^/_matrix/client/(r0|v3)/sync$", "^/_synapse/admin/v1/room/.*/media.*$", "/_matrix/media/", "^/a|/b$", "(?i)^/case$",
        "(?<=/v3)/sync", "(?<!x)/y", "^/(?:a|b)(?=/)", "(?|(a)|(b))", "^/x\\.y\\(z\\)$", "^/[^/]+$", "(?-i)^/a", "\\d+\\w*",
    ])
    func combinablePatterns(pattern: String) {
        #expect(CombinedRoutePattern.canCombine(pattern))
    }

    @Test(arguments: [
        "^/(a)/\\1$", "^/(?<name>a)$", "^/(?P<name>a)$", "^/(?'name'a)$", "^/(a)\\g1$", "^/(?<n>a)\\k<n>$", "^/(?1)(a)$", "^/(?R)?$",
        "^/(?-1)$", "^/(?+1)(a)$", "^/(a)(?(1)b|c)$", "^/a(*ACCEPT)b$", "^/a(*SKIP)(*FAIL)|b", "(*UTF)^/a$", "(*MARK:x)^/a$",
        "\\G/a", "^/\\Qa.b", "^/\\Qa\\E$", "(?x)^/a#comment", "^/a(?C1)b$", "^/[#]$",
    ])
    func patternsKeptRuleByRule(pattern: String) {
        #expect(!CombinedRoutePattern.canCombine(pattern))
    }

    @Test func uncombinableRulesSplitTheRunsAndKeepTheirPlace() throws {
        let rules = try RouteFileParser.parse("""
            *    ^/a$          proxy up
            *    ^/b$          proxy up
            *    ^/(c)/\\1$    proxy up
            GET  ^/d$          proxy up
            *    ^/e$          proxy up
            *    ^/f$          proxy up
            """, file: "t")
        let table = try RouteTable(rules: rules, upstreams: ["up"])
        let get = table.plans[RouteMethodClass.get.rawValue]
        #expect(get.steps.map(Self.shape) == ["combined 0,1", "single 2", "combined 3,4,5"])
        // POST does not see the GET rule at all, so its last run is 4,5.
        let post = table.plans[RouteMethodClass.post.rawValue]
        #expect(post.steps.map(Self.shape) == ["combined 0,1", "single 2", "combined 4,5"])
        #expect(table.plans[RouteMethodClass.put.rawValue] === post, "classes with the same rules share a plan")
        let scratch = MatchScratch()
        #expect(table.match(method: "GET", path: "/c/c", scratch: scratch).route?.index == 2)
        #expect(table.match(method: "POST", path: "/d", scratch: scratch).route == nil)
        #expect(table.match(method: "HEAD", path: "/d", scratch: scratch).route?.index == 3)
    }

    static func shape(_ step: RouteMatchPlan.Step) -> String {
        switch step {
        case .single(let index): "single \(index)"
        case .combined(let pattern): "combined \(pattern.routeIndexes.map(String.init).joined(separator: ","))"
        }
    }

    /// Tried alone at every start position, an unanchored rule matches "/ab" at "b": it wins over the
    /// later anchored rule, although a plain alternation tried position by position would have taken
    /// the anchored one at position 0.
    @Test func anUnanchoredRuleIsSearchedBeforeTheNextRuleIsTried() throws {
        let rules = try RouteFileParser.parse("*  b  proxy first\n*  ^/a  proxy second\n*  (?<=a)b$  proxy third", file: "t")
        let table = try RouteTable(rules: rules, upstreams: ["first", "second", "third"])
        #expect(table.plans[0].combinedRuleCount == 3)
        let scratch = MatchScratch()
        #expect(table.match(method: "GET", path: "/ab", scratch: scratch).route?.index == 0)
        #expect(table.match(method: "GET", path: "/ac", scratch: scratch).route?.index == 1)
        #expect(table.match(method: "GET", path: "/cab", scratch: scratch).route?.index == 0)
    }

    @Test func combinedPatternsAreJITCompiledAndReportTheirRule() throws {
        let table = try RouteTableTests.defaultTable()
        for plan in table.plans {
            for case .combined(let pattern) in plan.steps {
                #expect(pattern.regex.isJITCompiled)
            }
        }
        // Every rule of the default table can be combined: one pattern per class.
        #expect(table.plans[RouteMethodClass.get.rawValue].steps.count == 1)
        #expect(table.plans[RouteMethodClass.get.rawValue].combinedRuleCount == table.routes.count)
    }

    /// PCRE2 counts a combined match's backtracking over all its alternatives, so it can hit the match
    /// limit where no single rule does: the request is then decided rule by rule, which finds the
    /// proxy rule, exactly as matching each rule alone would.
    @Test func aCombinedMatchThatHitsALimitFallsBackToRuleByRule() throws {
        let rules = try RouteFileParser.parse("""
            *  ^/(a+)+$   deny 403
            *  ^/(a+)+$   deny 404
            *  ^/         proxy up
            """, file: "t")
        let table = try RouteTable(rules: rules, upstreams: ["up"])
        guard case .combined(let combined) = table.plans[0].steps.first else {
            Issue.record("the three rules should be one combined pattern")
            return
        }
        let scratch = MatchScratch()
        // Find a path on which each rule alone stays within the limit but the two together do not.
        var found: String?
        for count in 4...30 {
            let path = "/" + String(repeating: "a", count: count) + "b"
            let alone = table.routes[0].regex.match(path, scratch: scratch)
            var copy = path
            let together = copy.withUTF8 { combined.match(UnsafeRawBufferPointer($0), scratch: scratch) }
            if alone == .noMatch, case .failed = together {
                found = path
                break
            }
        }
        let path = try #require(found, "no length makes only the combined match fail")
        #expect(table.match(method: "GET", path: path, scratch: scratch).route?.rule.action == .proxy("up"))
        #expect(Self.describe(table.match(method: "GET", path: path, scratch: scratch))
            == Self.describe(table.matchRuleByRule(method: "GET", path: path, scratch: scratch)))
    }

    @Test func everyMethodClassSeesExactlyItsRules() throws {
        let rules = try RouteFileParser.parse("""
            GET          ^/x$   proxy get
            POST,PATCH   ^/x$   proxy write
            *            ^/x$   proxy any
            """, file: "t")
        let table = try RouteTable(rules: rules, upstreams: ["get", "write", "any"])
        let expected: [String: String] = [
            "GET": "get", "HEAD": "get", "POST": "write", "PATCH": "write", "PUT": "any", "DELETE": "any", "OPTIONS": "any",
            "PROPFIND": "any", "get": "any",
        ]
        let scratch = MatchScratch()
        for (method, upstream) in expected {
            // `/x` is a literal (dictionary) path, `/x/` is not: both ways must agree.
            #expect(table.match(method: method, path: "/x", scratch: scratch).route?.rule.action == .proxy(upstream), "\(method)")
            #expect(table.match(method: method, path: "/x/", scratch: scratch).route == nil)
        }
        #expect(RouteMethodClass(method: "PROPFIND") == .other)
    }
}

/// The tables of the differential test.
enum CorpusTable: String, CaseIterable, CustomTestStringConvertible {
    case defaultRoutes
    case workersExampleBeforeDefault
    case synapseWorkers
    case synapseWorkersBeforeDefault
    case benchRoutes
    case mixed

    var testDescription: String { rawValue }

    var minimumDistinctWinners: Int {
        switch self {
        case .defaultRoutes: 15
        case .workersExampleBeforeDefault: 18
        case .synapseWorkers, .synapseWorkersBeforeDefault: 60
        case .benchRoutes: 60
        case .mixed: 12
        }
    }

    static let root = RouteTableTests.repositoryRoot

    func build() throws -> RouteTable {
        let text: String
        switch self {
        case .defaultRoutes:
            text = DefaultRoutes.text
        case .workersExampleBeforeDefault:
            text = try String(contentsOf: Self.root.appendingPathComponent("examples/workers.routes"), encoding: .utf8) + "\n" + DefaultRoutes.text
        case .synapseWorkers:
            text = SynapseWorkerRoutesFixture.text
        case .synapseWorkersBeforeDefault:
            text = SynapseWorkerRoutesFixture.text + "\n" + DefaultRoutes.text
        case .benchRoutes:
            // bench/synapse-routes.txt is `group<TAB>pattern`; the harness makes each a `*` rule.
            let lines = try String(contentsOf: Self.root.appendingPathComponent("bench/synapse-routes.txt"), encoding: .utf8)
                .split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }
            text = lines.map { line in
                let fields = line.split(separator: "\t")
                return "*  \(fields[1])  proxy \(fields[0])"
            }.joined(separator: "\n") + "\n*  ^(/_matrix|/_synapse/client)  proxy main\n"
        case .mixed:
            text = Self.mixedRules
        }
        let rules = try RouteFileParser.parse(text, file: rawValue)
        let upstreams = Set(rules.compactMap { rule -> String? in if case .proxy(let name) = rule.action { name } else { nil } })
        return try RouteTable(rules: rules, upstreams: upstreams)
    }

    /// Rules that cannot be combined between ones that can, unanchored and option-setting patterns,
    /// and patterns that backtrack catastrophically on some paths (so errors are compared too).
    static let mixedRules = #"""
        GET      ^/health$                           local health
        *        ^/_synapse/mas(/|$)                 deny 404
        *        ^/x/(a+)+$                          deny 403
        GET      ^/y/(b+)+$                          deny 403
        *        /_matrix/media/                     proxy media
        *        ^/_matrix/client/(r0|v3)/(\w+)/\2$  proxy echo
        POST     ^/(?<kind>login|logout)/?$          local matrix-compat
        *        (?i)^/CaSe/                         proxy folded
        *        (?<=/v3)/sync$                      proxy sync
        *        ^/a|/b$                             proxy alternation
        *        ^/\Qlit.eral\E$                     proxy quoted
        PUT      ^/_matrix/client/v3/rooms/[^/]+/send/                 proxy send
        *        ^/_matrix/client/.*/(?:tags|account_data)             proxy accountdata
        GET      (?s).*/tail$                        proxy tail
        *        ^/_matrix/(?:federation|key)/       proxy federation
        GET      ^/z/(c|cc)+$                        deny 403
        *        ^/_matrix(/|$)                      proxy synapse
        *        ^/_synapse/client(/|$)              proxy synapse
        *        \.json$                             proxy json
        """#
}

/// A deterministic source of pseudo-random numbers (SeededRandom), so the corpus is the same on every run.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}

/// Paths for the differential test: for every pattern, paths it matches (sampled from it), its literal
/// prefix and every shorter segment boundary of it, variations (extra segments, trailing slashes, one
/// character less); then random Matrix-like paths, percent-encoded and Unicode targets (canonicalised
/// as requests are, and also raw), and very long paths.
enum PathCorpus {
    static let words = [
        "_matrix", "_synapse", "client", "federation", "media", "key", "v1", "v2", "v3", "r0", "api", "unstable", "rooms", "sync",
        "send", "state", "login", "logout", "refresh", "admin", "mas", "keys", "query", "upload", "tags", "account_data", "user",
        "!room:example.org", "@alice:example.org", "$event", "m.room.message", "typing", "receipt", "messages", "devices",
        "health", "oauth2", "assets", "a", "aaaa", "b", "tail", "x", "y", "z", "CaSe", "case", "lit.eral", "download", "thumbnail",
        "org.matrix.simplified_msc3575", "initialSync", "events", "presence", "pushrules", "sendToDevice", "read_markers", "x.json",
    ]
    static let segmentCharacters = Array("abcdefghijklmnopqrstuvwxyzABCXYZ0123456789_-.!:@$=+~")

    static func make(for patterns: [String], random: inout SeededRandom) -> [String] {
        var paths = Set<String>()
        func add(_ path: String) { if !path.isEmpty { paths.insert(path) } }
        // Fewer samples per pattern for large tables keep the test about as fast for every table.
        let samples = min(6, max(2, 600 / max(1, patterns.count)))
        for pattern in patterns {
            let prefix = literalPrefix(of: pattern)
            add(prefix)
            var boundary = prefix.startIndex
            while let slash = prefix[boundary...].dropFirst().firstIndex(of: "/") {
                add(String(prefix[..<slash]))
                boundary = slash
            }
            for _ in 0..<samples {
                guard let sample = PatternSampler.sample(pattern, random: &random) else { continue }
                add(sample)
                add(sample + "/")
                add(sample + "/" + segment(&random))
                add(String(sample.dropLast()))
                add(sample + "x")
                add("/" + segment(&random) + sample)
            }
        }
        for _ in 0..<400 {
            let count = Int.random(in: 1...7, using: &random)
            add("/" + (0..<count).map { _ in Bool.random(using: &random) ? words.randomElement(using: &random)! : segment(&random) }
                .joined(separator: "/"))
        }
        // Targets as clients send them, canonicalised as a request's are: escapes, doubled slashes, Unicode.
        let targets = [
            "/_synapse/%6Das/query_user", "/%5Fmatrix/client/v3/sync", "//_matrix//client/v3/sync", "/_matrix/client/v3/rooms/%21r%3Ax/send/m.room.message/1",
            "/_matrix/media/v3/download/example.org/%2Fetc", "/_matrix/client/v3/profile/%40al%C3%AFce%3Aexample.org", "/caf%C3%A9/tail",
            "/_matrix/client/v3/rooms/!r:x/state/m.room.name/login", "/_matrix/client/v3/user/@bob:x/account_data/m.direct",
            "/_matrix/client/v3/rooms/%E2%9C%93/typing/@a:x", "/x/aaaa%61", "/_matrix/client/v3/rooms/%F0%9F%98%80/messages",
        ]
        for target in targets {
            if case .success(let parsed) = CanonicalPath.parse(target) { add(String(parsed.canonicalPath)) }
        }
        // Raw Unicode reaches the matcher only in tests, but the table must not care.
        for raw in ["/_matrix/client/v3/rooms/✓/typing/@a:x", "/café/tail", "/_matrix/😀", "/ä/b", "/x/ååå", "/日本/x.json"] { add(raw) }
        // Long paths (limits, backtracking over many characters) and crafted ones for the nested quantifiers.
        for count in [1_000, 8_000] {
            add("/_matrix/client/v3/rooms/" + String(repeating: "a/", count: count / 2) + "typing")
            add("/_matrix/media/" + String((0..<count).map { _ in segmentCharacters.randomElement(using: &random)! }))
            add("/" + String(repeating: "a", count: count))
            add("/_synapse/admin/v1/room/" + String(repeating: "x/", count: count / 2) + "media")
        }
        for count in [8, 12, 16, 20, 24, 30, 40] {
            add("/x/" + String(repeating: "a", count: count) + "b")
            add("/y/" + String(repeating: "b", count: count) + "c")
            add("/z/" + String(repeating: "c", count: count) + "d")
            add("/x/" + String(repeating: "a", count: count))
        }
        return paths.sorted()
    }

    static func segment(_ random: inout SeededRandom) -> String {
        String((0..<Int.random(in: 1...12, using: &random)).map { _ in segmentCharacters.randomElement(using: &random)! })
    }

    /// The characters a pattern starts with before its first special character (`^` dropped).
    static func literalPrefix(of pattern: String) -> String {
        var result = ""
        var characters = pattern.drop { $0 == "^" }.makeIterator()
        while let character = characters.next() {
            if character == "\\" {
                guard let escaped = characters.next(), !escaped.isLetter, !escaped.isNumber else { break }
                result.append(escaped)
            } else if "()[]{}|.*+?$^".contains(character) {
                break
            } else {
                result.append(character)
            }
        }
        return result
    }
}

/// Makes strings that a pattern matches, for the subset of PCRE2 that route patterns use: literals,
/// escaped punctuation, groups with alternatives, `[^/]` and simple classes, `.`, `\w`/`\d`, the
/// quantifiers `?`, `*`, `+`, and the anchors. Anything else gives `nil`.
enum PatternSampler {
    static func sample(_ pattern: String, random: inout SeededRandom) -> String? {
        var parser = Parser(characters: Array(pattern), random: random)
        defer { random = parser.random }
        guard let result = parser.alternation(), parser.position == parser.characters.count else { return nil }
        return result.hasPrefix("/") ? result : "/" + result
    }

    private struct Parser {
        let characters: [Character]
        var random: SeededRandom
        var position = 0

        mutating func alternation() -> String? {
            var branches: [String] = []
            guard let first = sequence() else { return nil }
            branches.append(first)
            while position < characters.count, characters[position] == "|" {
                position += 1
                guard let next = sequence() else { return nil }
                branches.append(next)
            }
            return branches.randomElement(using: &random)
        }

        mutating func sequence() -> String? {
            var result = ""
            while position < characters.count, characters[position] != "|", characters[position] != ")" {
                guard let atom = parseAtom() else { return nil }
                var repeats = 1
                if position < characters.count {
                    switch characters[position] {
                    case "?": repeats = Int.random(in: 0...1, using: &random); position += 1
                    case "*": repeats = Int.random(in: 0...3, using: &random); position += 1
                    case "+": repeats = Int.random(in: 1...3, using: &random); position += 1
                    case "{": return nil
                    default: break
                    }
                }
                for _ in 0..<repeats { result += atom() }
            }
            return result
        }

        /// Parses one atom and returns a generator for it (each call may give a different string).
        mutating func parseAtom() -> (() -> String)? {
            let character = characters[position]
            position += 1
            switch character {
            case "^", "$":
                return { "" }
            case "(":
                if position < characters.count, characters[position] == "?" {
                    guard position + 1 < characters.count, characters[position + 1] == ":" else { return nil }
                    position += 2
                }
                let start = position
                var probe = self
                guard probe.alternation() != nil, probe.position < characters.count, probe.characters[probe.position] == ")" else { return nil }
                let end = probe.position
                position = end + 1
                let inner = Array(characters[start..<end])
                var seed = random.next()
                return {
                    seed &+= 1
                    var parser = Parser(characters: inner, random: SeededRandom(seed: seed))
                    return parser.alternation() ?? ""
                }
            case "[":
                var members: [Character] = []
                var negated = false
                if position < characters.count, characters[position] == "^" { negated = true; position += 1 }
                while position < characters.count, characters[position] != "]" {
                    if characters[position] == "\\" { position += 1 }
                    guard position < characters.count else { return nil }
                    members.append(characters[position])
                    position += 1
                }
                guard position < characters.count else { return nil }
                position += 1
                let pool = negated ? PathCorpus.segmentCharacters.filter { !members.contains($0) } : members
                guard !pool.isEmpty, !members.contains("-") || negated else { return nil }
                var seed = random.next()
                return {
                    seed &+= 1
                    var generator = SeededRandom(seed: seed)
                    return String(pool.randomElement(using: &generator)!)
                }
            case ".":
                var seed = random.next()
                return {
                    seed &+= 1
                    var generator = SeededRandom(seed: seed)
                    return String(PathCorpus.segmentCharacters.randomElement(using: &generator)!)
                }
            case "\\":
                guard position < characters.count else { return nil }
                let escaped = characters[position]
                position += 1
                switch escaped {
                case "w": return { "w" }
                case "d": return { "7" }
                case "s", "b", "B", "A", "z", "Z", "G", "Q", "E", "K": return nil
                default:
                    guard !escaped.isLetter, !escaped.isNumber else { return nil }
                    return { String(escaped) }
                }
            case ")", "|", "*", "+", "?", "{":
                return nil
            default:
                return { String(character) }
            }
        }
    }
}
