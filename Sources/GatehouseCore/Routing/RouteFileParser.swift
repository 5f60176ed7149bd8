/// Parses the route file grammar documented in `routes/README.md`:
///
///     # comment
///     METHODS  PATTERN  ACTION [ARGUMENT...]  [key=value...]   [# comment]
///
/// `METHODS` is `*` or a comma list (`GET,POST`); `PATTERN` is a PCRE2 pattern without spaces; `ACTION`
/// is `local SERVICE`, `proxy UPSTREAM`, `deny STATUS` or `redirect STATUS LOCATION`.
public enum RouteFileParser {
    static let knownMethods: Set = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]

    /// - Parameters:
    ///   - text: the file's content.
    ///   - file: the name used in errors.
    /// - Returns: the rules in file order.
    public static func parse(_ text: String, file: String) throws(RouteFileError) -> [RouteRule] {
        var rules: [RouteRule] = []
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var tokens = rawLine.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            if let comment = tokens.firstIndex(where: { $0.hasPrefix("#") }), comment == 0 || comment >= 3 {
                tokens.removeSubrange(comment...)
            }
            if tokens.isEmpty { continue }
            let source = RuleSource(file: file, line: lineNumber, text: tokens.joined(separator: " "))
            func fail(_ message: String) -> RouteFileError { RouteFileError(source: source, message: message) }

            guard tokens.count >= 3 else {
                throw fail("expected `METHODS PATTERN ACTION ...`, e.g. `GET ^/health$ local health`")
            }
            let methods = try parseMethods(tokens[0], fail: fail)
            let pattern = tokens[1]
            var rest = tokens[2...]
            let action = try parseAction(&rest, fail: fail)
            var options = RouteOptions()
            for option in rest {
                guard let equals = option.firstIndex(of: "=") else {
                    throw fail("unexpected '\(option)'; options are written key=value (max_body=, timeout=)")
                }
                let key = option[..<equals]
                let value = String(option[option.index(after: equals)...])
                switch key {
                case "max_body":
                    guard let size = ByteSize.parse(value) else { throw fail("max_body '\(value)' is not a size such as 64KiB or 50MiB") }
                    options.maxBodyBytes = size
                case "timeout":
                    guard let duration = DurationText.parse(value), duration > .zero else {
                        throw fail("timeout '\(value)' is not a duration such as 30s or 5m")
                    }
                    options.upstreamTimeout = duration
                default:
                    throw fail("unknown option '\(key)'; known options: max_body, timeout")
                }
            }
            rules.append(RouteRule(methods: methods, pattern: pattern, action: action, options: options, source: source))
        }
        return rules
    }

    private static func parseMethods(_ token: String, fail: (String) -> RouteFileError) throws(RouteFileError) -> Set<String>? {
        if token == "*" { return nil }
        var methods: Set<String> = []
        for method in token.split(separator: ",") {
            let name = String(method)
            guard knownMethods.contains(name) else {
                throw fail("unknown method '\(name)'; use * or a comma list of \(knownMethods.sorted().joined(separator: ","))")
            }
            methods.insert(name)
        }
        guard !methods.isEmpty else { throw fail("no methods given; use * for any method") }
        return methods
    }

    private static func parseAction(_ tokens: inout ArraySlice<String>, fail: (String) -> RouteFileError) throws(RouteFileError) -> RouteAction {
        let verb = tokens.removeFirst()
        func argument(_ what: String) throws(RouteFileError) -> String {
            guard let value = tokens.first, !value.contains("=") else { throw fail("`\(verb)` needs \(what)") }
            tokens.removeFirst()
            return value
        }
        func status(_ allowed: ClosedRange<Int>) throws(RouteFileError) -> Int {
            let text = try argument("a status code")
            guard let code = Int(text), allowed.contains(code) else {
                throw fail("`\(verb)` status must be between \(allowed.lowerBound) and \(allowed.upperBound), got '\(text)'")
            }
            return code
        }
        switch verb {
        case "local":
            let name = try argument("a service name")
            guard let service = LocalServiceName(rawValue: name) else {
                throw fail("unknown local service '\(name)'; known: \(LocalServiceName.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return .local(service)
        case "proxy":
            return .proxy(try argument("an upstream name"))
        case "deny":
            return .deny(try status(400...599))
        case "redirect":
            let code = try status(300...399)
            let location = try argument("a location")
            return .redirect(status: code, location: location)
        default:
            throw fail("unknown action '\(verb)'; use local, proxy, deny or redirect")
        }
    }
}

/// A route file problem, reported as `file:line: message`.
public struct RouteFileError: Error, CustomStringConvertible, Equatable, Sendable {
    public var source: RuleSource
    public var message: String
    public var description: String { "\(source.file):\(source.line): \(message)" }
}
