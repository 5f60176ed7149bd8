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
/// is a plain literal (`^/health$`) are also entered into a dictionary; for such a path the candidate
/// rules (every rule, in order, whose pattern matches that exact path) are worked out here, so a lookup
/// costs one hash and keeps "first match wins" exactly.
public struct RouteTable: Sendable {
    public let routes: [CompiledRoute]
    private let exact: [String: [Int]]

    /// - Parameters:
    ///   - rules: parsed rules in precedence order.
    ///   - upstreams: the names `proxy` rules may use.
    public init(rules: [RouteRule], upstreams: Set<String>) throws(RouteFileError) {
        var compiled: [CompiledRoute] = []
        for (index, rule) in rules.enumerated() {
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
        for route in compiled {
            guard let literal = RouteTable.literalPath(of: route.rule.pattern), exact[literal] == nil else { continue }
            exact[literal] = compiled.filter { $0.regex.matches(literal) }.map(\.index)
        }
        self.routes = compiled
        self.exact = exact
    }

    /// Loads, parses and compiles route files in order.
    /// - Parameters:
    ///   - files: route file paths.
    ///   - upstreams: the names `proxy` rules may use.
    ///   - read: reads a file's text (injected so tests need no files).
    public static func load(files: [String], upstreams: Set<String>, read: (String) -> String?) throws(RouteFileError) -> RouteTable {
        var rules: [RouteRule] = []
        for file in files {
            guard let text = read(file) else {
                throw RouteFileError(source: RuleSource(file: file, line: 0, text: ""), message: "cannot read the route file")
            }
            rules += try RouteFileParser.parse(text, file: file)
        }
        return try RouteTable(rules: rules, upstreams: upstreams)
    }

    /// The first rule that applies to `method` and the canonical `path`, or `nil` when none does.
    /// - Parameters:
    ///   - method: the request method, upper case.
    ///   - path: a canonical path from ``CanonicalPath``.
    ///   - scratch: this thread's match data.
    public func match(method: String, path: String, scratch: MatchScratch) -> CompiledRoute? {
        if let candidates = exact[path] {
            for index in candidates where routes[index].rule.allows(method: method) {
                return routes[index]
            }
            return nil
        }
        var subject = path
        return subject.withUTF8 { bytes in
            let buffer = UnsafeRawBufferPointer(bytes)
            for route in routes where route.rule.allows(method: method) && route.regex.matches(buffer, scratch: scratch) {
                return route
            }
            return nil
        }
    }

    /// Explains the decision for `gatehouse routes test`: each rule tried, in order, up to the winner.
    /// - Parameters:
    ///   - method: the request method.
    ///   - path: a canonical path.
    public func explain(method: String, path: String) -> [(route: CompiledRoute, patternMatched: Bool, methodAllowed: Bool)] {
        var trail: [(CompiledRoute, Bool, Bool)] = []
        for route in routes {
            let patternMatched = route.regex.matches(path)
            let methodAllowed = route.rule.allows(method: method)
            trail.append((route, patternMatched, methodAllowed))
            if patternMatched && methodAllowed { break }
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
