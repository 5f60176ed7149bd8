import CPCRE2

/// Several consecutive rules' patterns compiled into one PCRE2 pattern whose match names the first
/// rule that matches: the cost of a path that falls through many rules is one JIT match instead of
/// one per rule.
///
/// The rules' patterns become the alternatives of one pattern that PCRE2 tries only at the start of
/// the path (`PCRE2_ANCHORED`), each ending in `(*MARK:i)`, `i` being its place in the run:
///
///     (?:(?:p0)(*MARK:0)|(?s:.*?)(?:p1)(*MARK:1)|...)
///
/// At one start position PCRE2 tries the alternatives in order and each one completely (all its
/// backtracking) before the next, so the first alternative that matches is the first rule that
/// matches. A rule matches when its pattern matches anywhere in the path, so a pattern that PCRE2
/// does not find anchored is preceded by a lazy `(?s:.*?)`, which tries it at every start position in
/// turn, as a search with it alone would; an anchored one (`^…`) is tried at the start only. The
/// mark of the match (``PCRE2Regex/numericMark(in:)``) says which alternative matched. It is compiled
/// with `PCRE2_NO_AUTO_CAPTURE`: nothing reads the groups, and a JIT match sets up every group of the
/// pattern before it starts (with them, the first rule's match cost four times as much as alone).
///
/// Only patterns for which this is exactly the same question are combined (``canCombine(_:)``); the
/// others are matched on their own, in their place. PCRE2 counts a combined match's steps across
/// all of its alternatives against one ``MatchLimits``, so a combined match can end in an error where
/// no single rule would: ``RouteMatchPlan`` then decides the request rule by rule, which reports a
/// pattern error exactly as matching each rule alone does.
final class CombinedRoutePattern: Sendable {
    /// The combined pattern, compiled with JIT.
    let regex: PCRE2Regex
    /// The table index of each alternative's rule, in order.
    let routeIndexes: [Int]

    private init(regex: PCRE2Regex, routeIndexes: [Int]) {
        self.regex = regex
        self.routeIndexes = routeIndexes
    }

    /// Combines the patterns of `routes`, or gives `nil` when that is not worth it or not safe: fewer
    /// than two routes, a pattern that ``canCombine(_:)`` refuses, a combined pattern that does not
    /// compile or, compiled with its groups, has a different number of them than its parts (a part
    /// escaped its group), or one that the JIT compiler refused while the rules alone were JIT-compiled.
    /// - Parameter routes: consecutive rules of one method class, in table order.
    static func combine(_ routes: [CompiledRoute]) -> CombinedRoutePattern? {
        guard routes.count >= 2, routes.allSatisfy({ canCombine($0.rule.pattern) }) else { return nil }
        var pattern = "(?:"
        for (position, route) in routes.enumerated() {
            if position > 0 { pattern += "|" }
            if !route.regex.isAnchored { pattern += "(?s:.*?)" }
            pattern += "(?:\(route.rule.pattern))(*MARK:\(position))"
        }
        pattern += ")"
        guard let withGroups = try? PCRE2Regex(pattern, extraOptions: PCRE2_ANCHORED, jit: false),
            withGroups.captureCount == routes.reduce(0, { $0 + $1.regex.captureCount }),
            let regex = try? PCRE2Regex(pattern, extraOptions: PCRE2_ANCHORED | PCRE2_NO_AUTO_CAPTURE),
            regex.isJITCompiled || !routes.allSatisfy(\.regex.isJITCompiled)
        else { return nil }
        return CombinedRoutePattern(regex: regex, routeIndexes: routes.map(\.index))
    }

    /// What one match of the combined pattern gave.
    enum Outcome {
        /// The first of the rules that matches, by table index.
        case matched(Int)
        /// None of the rules matches.
        case noMatch
        /// The match ended in an error (a limit): the rules must be tried one by one.
        case failed
    }

    /// Matches the path against every rule of the run at once.
    /// - Parameters:
    ///   - subject: the canonical path's UTF-8 bytes.
    ///   - scratch: this thread's match data, already set to the table's limits.
    func match(_ subject: UnsafeRawBufferPointer, scratch: MatchScratch) -> Outcome {
        switch regex.match(subject, scratch: scratch) {
        case .matched:
            // Every alternative ends in its mark, so a match without a readable one cannot happen;
            // if it did, the rules alone decide rather than a guess.
            guard let position = regex.numericMark(in: scratch), position < routeIndexes.count else { return .failed }
            return .matched(routeIndexes[position])
        case .noMatch:
            return .noMatch
        case .failed:
            return .failed
        }
    }

    /// Whether `pattern` means the same as an alternative of a combined pattern as it does alone.
    ///
    /// Refused (the rule is matched on its own, in its place; `routes/README.md` lists these):
    /// - `(*` anything: backtracking verbs such as `(*ACCEPT)`, `(*SKIP)` or `(*MARK)` act on the
    ///   whole combined match, and start-of-pattern settings such as `(*UTF)` or `(*LIMIT_MATCH=…)`
    ///   are only allowed at its very start;
    /// - references to groups by number, name or position (`\1`, `\g…`, `\k…`, `(?1)`, `(?-1)`,
    ///   `(?+1)`, `(?R)`, `(?&…)`, `(?P…)`, conditions `(?(…)`), and named groups (`(?<name>`,
    ///   `(?'name'`): numbers shift and names may clash once several patterns share one;
    /// - `\G` (the start of the match is not the start of the rule's own search), `\Q…\E` quoting and
    ///   `#` (an extended-mode comment) or `(?C` callouts, which could reach past the pattern's end.
    ///
    /// The scan is conservative: a `(` or `#` inside a character class also refuses a pattern.
    /// - Parameter pattern: a rule's pattern, which compiles on its own.
    static func canCombine(_ pattern: String) -> Bool {
        let bytes = Array(pattern.utf8)
        var index = 0
        func byte(at offset: Int) -> UInt8? { offset < bytes.count ? bytes[offset] : nil }
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\\"):
                guard let escaped = byte(at: index + 1) else { return false }
                switch escaped {
                case UInt8(ascii: "1")...UInt8(ascii: "9"), UInt8(ascii: "g"), UInt8(ascii: "k"), UInt8(ascii: "G"),
                    UInt8(ascii: "Q"), UInt8(ascii: "E"):
                    return false
                default:
                    index += 2
                    continue
                }
            case UInt8(ascii: "#"):
                return false
            case UInt8(ascii: "("):
                switch byte(at: index + 1) {
                case UInt8(ascii: "*"):
                    return false
                case UInt8(ascii: "?"):
                    guard let kind = byte(at: index + 2) else { return false }
                    switch kind {
                    case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "R"), UInt8(ascii: "&"), UInt8(ascii: "P"),
                        UInt8(ascii: "("), UInt8(ascii: "'"), UInt8(ascii: "C"), UInt8(ascii: "+"):
                        return false
                    case UInt8(ascii: "-"):
                        // `(?-i)` unsets an option; `(?-1)` calls a group.
                        if let next = byte(at: index + 3), next >= UInt8(ascii: "0"), next <= UInt8(ascii: "9") { return false }
                    case UInt8(ascii: "<"):
                        // Lookbehind `(?<=`, `(?<!` is fine; `(?<name>` is a named group.
                        let next = byte(at: index + 3)
                        if next != UInt8(ascii: "="), next != UInt8(ascii: "!") { return false }
                    default:
                        break
                    }
                default:
                    break
                }
            default:
                break
            }
            index += 1
        }
        return true
    }
}
