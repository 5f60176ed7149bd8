/// How the rules that apply to one ``RouteMethodClass`` are matched on the hot path: their table
/// order kept, every run of consecutive rules that can be combined as one ``CombinedRoutePattern``,
/// the others alone.
///
/// Rules that do not apply to the class are left out before combining, so a combined match never
/// has to skip a rule for its method: its first match is the answer. The answer is the one that
/// trying each rule in order (``RouteTable/matchRuleByRule(method:path:scratch:)``) gives; a combined
/// match that ends in an error hands its run to exactly that walk.
final class RouteMatchPlan: Sendable {
    enum Step {
        /// One rule, by table index.
        case single(Int)
        /// A run of rules matched at once.
        case combined(CombinedRoutePattern)
    }

    let steps: [Step]
    /// The table indexes of the rules that apply to the class, in order.
    let routeIndexes: [Int]

    /// - Parameter routes: the rules that apply to the class, in table order.
    init(routes: [CompiledRoute]) {
        var steps: [Step] = []
        var run: [CompiledRoute] = []
        func closeRun() {
            if let combined = CombinedRoutePattern.combine(run) {
                steps.append(.combined(combined))
            } else {
                steps += run.map { .single($0.index) }
            }
            run.removeAll()
        }
        for route in routes {
            if CombinedRoutePattern.canCombine(route.rule.pattern) {
                run.append(route)
            } else {
                closeRun()
                steps.append(.single(route.index))
            }
        }
        closeRun()
        self.steps = steps
        self.routeIndexes = routes.map(\.index)
    }

    /// How many of the class's rules are matched inside a combined pattern (for tests and docs).
    var combinedRuleCount: Int {
        steps.reduce(0) { count, step in
            if case .combined(let pattern) = step { return count + pattern.routeIndexes.count }
            return count
        }
    }

    /// The first rule of the class that matches `subject`, or why there is none.
    /// - Parameters:
    ///   - subject: the canonical path's UTF-8 bytes.
    ///   - routes: the table's routes.
    ///   - scratch: this thread's match data, already set to the table's limits.
    func match(_ subject: UnsafeRawBufferPointer, routes: [CompiledRoute], scratch: MatchScratch) -> RouteTable.Match {
        for step in steps {
            switch step {
            case .single(let index):
                if let decided = Self.decide(routes[index], subject, scratch) { return decided }
            case .combined(let pattern):
                switch pattern.match(subject, scratch: scratch) {
                case .matched(let index): return .matched(routes[index])
                case .noMatch: continue
                case .failed:
                    for index in pattern.routeIndexes {
                        if let decided = Self.decide(routes[index], subject, scratch) { return decided }
                    }
                }
            }
        }
        return .noMatch
    }

    /// One rule alone: its match or its error decides, no match goes on.
    private static func decide(_ route: CompiledRoute, _ subject: UnsafeRawBufferPointer, _ scratch: MatchScratch) -> RouteTable.Match? {
        switch route.regex.match(subject, scratch: scratch) {
        case .matched: .matched(route)
        case .noMatch: nil
        case .failed(let error): .failed(route, error)
        }
    }
}
