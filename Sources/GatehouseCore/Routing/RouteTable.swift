/// A rule with its compiled pattern. A class: requests hold on to their route, and copying a
/// reference is one retain where copying the rule's fields would be many.
public final class CompiledRoute: Sendable {
    public let rule: RouteRule
    public let regex: PCRE2Regex
    /// Position in the table (0-based), which is also its precedence.
    public let index: Int

    init(rule: RouteRule, regex: PCRE2Regex, index: Int) {
        self.rule = rule
        self.regex = regex
        self.index = index
    }
}

/// The immutable, compiled route table used on the hot path.
///
/// Built once when the configuration loads: every pattern is compiled (with JIT) and every upstream and
/// service name checked, so a bad rule stops startup instead of failing a request. Rules whose pattern
/// is a plain literal (`^/health$`) are also entered into a dictionary; for such a path the winning
/// rule of each method class (the first rule, in order, that allows it and whose pattern matches that
/// exact path) is worked out here, so a lookup costs one hash and keeps "first match wins" exactly.
/// Other paths are matched against the rules of the request's ``RouteMethodClass`` with one
/// ``RouteMatchPlan`` per class: runs of rules combined into one PCRE2 pattern, so the cost of a path
/// that falls through many rules hardly grows with their number.
///
/// A pattern whose match ends in an error (a PCRE2 limit, see ``MatchLimits``) decides the request as
/// surely as a match would: ``match(method:path:scratch:)`` reports it, and the request is refused.
/// Taking the error for "no match" would hand the request to a later rule, so a deny rule that
/// backtracks too much on a crafted path would let that path through to the next `proxy`.
///
/// A class: every request reads it, and a reference is one retain where the struct's copy was one
/// per array and dictionary in it.
public final class RouteTable: Sendable {
    public let routes: [CompiledRoute]
    /// The bounds every match of this table runs with.
    public let limits: MatchLimits
    /// For each literal path, the winning rule's index per ``RouteMethodClass`` (-1: none).
    private let exact: [String: [Int]]
    /// Indexed by byte length: whether a path of that length is in ``exact``. A path of another
    /// length skips the hash (most proxied paths have no literal rule of their length).
    private let exactLengths: [Bool]
    /// The plan of each ``RouteMethodClass``, by raw value; classes with the same rules share one.
    let plans: [RouteMatchPlan]

    /// What the table decides for a request.
    public enum Match {
        /// The first rule that applies.
        case matched(CompiledRoute)
        /// No rule applies (404).
        case noMatch
        /// This rule applies to the method, but its pattern could not be evaluated on the path; no later
        /// rule may be tried, and the request is refused (500).
        case failed(CompiledRoute, PCRE2Regex.MatchError)
    }

    /// - Parameters:
    ///   - rules: parsed rules in precedence order.
    ///   - upstreams: the names `proxy` rules may use.
    ///   - limits: the bounds of every match.
    public init(rules: [RouteRule], upstreams: Set<String>, limits: MatchLimits = .default) throws(RouteFileError) {
        var compiled: [CompiledRoute] = []
        for (index, rule) in rules.enumerated() {
            if let unknown = rule.methods?.first(where: { !RouteFileParser.knownMethods.contains($0) }) {
                throw RouteFileError(source: rule.source, message: "unknown method '\(unknown)'")
            }
            if case .proxy(let name) = rule.action, !upstreams.contains(name) {
                let known = upstreams.isEmpty ? "none are configured" : "known: \(upstreams.sorted().joined(separator: ", "))"
                throw RouteFileError(source: rule.source, message: "unknown upstream '\(name)' (\(known)); define it under `upstreams:` in the config")
            }
            do {
                compiled.append(CompiledRoute(rule: rule, regex: try PCRE2Regex(rule.pattern), index: index))
            } catch {
                throw RouteFileError(source: rule.source, message: "bad pattern '\(rule.pattern)': \(error)")
            }
        }
        var exact: [String: [Int]] = [:]
        let scratch = MatchScratch(limits: limits)
        for route in compiled {
            guard let literal = RouteTable.literalPath(of: route.rule.pattern), exact[literal] == nil else { continue }
            let outcomes = compiled.map { $0.regex.match(literal, scratch: scratch) }
            // A pattern that fails on this path must fail each request too: leave the path to the walk.
            guard !outcomes.contains(where: { if case .failed = $0 { true } else { false } }) else { continue }
            exact[literal] = RouteMethodClass.allCases.map { methodClass in
                compiled.firstIndex { outcomes[$0.index].isMatch && methodClass.isAllowed(by: $0.rule) } ?? -1
            }
        }
        var plansByRules: [[Int]: RouteMatchPlan] = [:]
        self.plans = RouteMethodClass.allCases.map { methodClass in
            let applying = compiled.filter { methodClass.isAllowed(by: $0.rule) }
            if let plan = plansByRules[applying.map(\.index)] { return plan }
            let plan = RouteMatchPlan(routes: applying)
            plansByRules[plan.routeIndexes] = plan
            return plan
        }
        self.routes = compiled
        self.limits = limits
        self.exact = exact
        var exactLengths = [Bool](repeating: false, count: (exact.keys.map(\.utf8.count).max() ?? -1) + 1)
        for literal in exact.keys { exactLengths[literal.utf8.count] = true }
        self.exactLengths = exactLengths
    }

    /// Loads, parses and compiles route files in order.
    /// - Parameters:
    ///   - files: route file paths.
    ///   - upstreams: the names `proxy` rules may use.
    ///   - limits: the bounds of every match.
    ///   - read: reads a file's text (injected so tests need no files).
    public static func load(
        files: [String], upstreams: Set<String>, limits: MatchLimits = .default, read: (String) -> String?
    ) throws(RouteFileError) -> RouteTable {
        var rules: [RouteRule] = []
        for file in files {
            guard let text = read(file) else {
                throw RouteFileError(source: RuleSource(file: file, line: 0, text: ""), message: "cannot read the route file")
            }
            rules += try RouteFileParser.parse(text, file: file)
        }
        return try RouteTable(rules: rules, upstreams: upstreams, limits: limits)
    }

    /// The first rule that applies to `method` and the canonical `path`, or why there is none.
    /// - Parameters:
    ///   - method: the request method, upper case.
    ///   - path: a canonical path from ``CanonicalPath``.
    ///   - scratch: this thread's match data (set to this table's limits here).
    public func match(method: String, path: String, scratch: MatchScratch) -> Match {
        match(method: method, path: path[...], scratch: scratch)
    }

    /// ``match(method:path:scratch:)`` on a slice (``RequestTarget/canonicalPath``), without copying it.
    public func match(method: String, path: Substring, scratch: MatchScratch) -> Match {
        let methodClass = RouteMethodClass(method: method).rawValue
        let length = path.utf8.count
        if length < exactLengths.count, exactLengths[length], let winners = exact[String(path)] {
            let index = winners[methodClass]
            return index < 0 ? .noMatch : .matched(routes[index])
        }
        scratch.use(limits)
        var subject = path
        return subject.withUTF8 { bytes in
            plans[methodClass].match(UnsafeRawBufferPointer(bytes), routes: routes, scratch: scratch)
        }
    }

    /// The same decision as ``match(method:path:scratch:)``, taken by trying every rule on its own, in
    /// order: what the combined patterns must always agree with (tests compare the two), and what a
    /// combined match that ends in an error falls back to.
    /// - Parameters:
    ///   - method: the request method, upper case.
    ///   - path: a canonical path from ``CanonicalPath``.
    ///   - scratch: this thread's match data (set to this table's limits here).
    public func matchRuleByRule(method: String, path: String, scratch: MatchScratch) -> Match {
        scratch.use(limits)
        var subject = path
        return subject.withUTF8 { bytes in
            let buffer = UnsafeRawBufferPointer(bytes)
            for route in routes where route.rule.allows(method: method) {
                switch route.regex.match(buffer, scratch: scratch) {
                case .matched: return .matched(route)
                case .noMatch: continue
                case .failed(let error): return .failed(route, error)
                }
            }
            return .noMatch
        }
    }

    /// One rule tried by ``explain(method:path:)``.
    public struct Step {
        public var route: CompiledRoute
        /// What the pattern gave on the path.
        public var outcome: PCRE2Regex.MatchOutcome
        public var methodAllowed: Bool
    }

    /// Explains the decision for `gatehouse routes test`: each rule tried, in order, up to the one
    /// that decides (a match, or a pattern error, for a rule whose methods include `method`).
    /// - Parameters:
    ///   - method: the request method.
    ///   - path: a canonical path.
    public func explain(method: String, path: String) -> [Step] {
        let scratch = MatchScratch(limits: limits)
        var trail: [Step] = []
        for route in routes {
            let step = Step(route: route, outcome: route.regex.match(path, scratch: scratch), methodAllowed: route.rule.allows(method: method))
            trail.append(step)
            if case .noMatch = step.outcome { continue }
            if step.methodAllowed { break }
        }
        return trail
    }

    /// The path a pattern matches exactly when it is a plain `^/literal$`, else `nil`.
    static func literalPath(of pattern: String) -> String? {
        guard pattern.hasPrefix("^/"), pattern.hasSuffix("$"), pattern.count >= 3 else { return nil }
        var literal = ""
        var escaped = false
        for character in pattern.dropFirst().dropLast() {
            if escaped {
                guard character == "." || character == "-" || character == "/" else { return nil }
                literal.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character.isASCII && (character.isLetter || character.isNumber || "/_-~".contains(character)) {
                literal.append(character)
            } else {
                return nil
            }
        }
        return escaped ? nil : literal
    }
}
