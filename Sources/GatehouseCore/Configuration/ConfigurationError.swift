/// A problem found while loading or validating the configuration.
///
/// Every error names the key path it is about (`http.listeners[0].binds[1].address`), where in the file
/// it is when known, what is wrong and how to fix it, so an admin can act on it without reading the code.
public struct ConfigurationError: Error, Equatable, CustomStringConvertible, Sendable {
    /// Dotted key path of the offending value, e.g. `matrix.secret_path`; empty for the whole file.
    public var keyPath: String
    /// What is wrong.
    public var problem: String
    /// How to fix it, when there is something more useful to say than the problem itself.
    public var fix: String?
    /// `file:line` where the value is, when the YAML parser told us.
    public var location: String?

    /// - Parameters:
    ///   - keyPath: dotted path of the offending key.
    ///   - problem: what is wrong with it.
    ///   - fix: how to correct it.
    ///   - location: `file:line` when known.
    public init(keyPath: String, problem: String, fix: String? = nil, location: String? = nil) {
        self.keyPath = keyPath
        self.problem = problem
        self.fix = fix
        self.location = location
    }

    public var description: String {
        var text = keyPath.isEmpty ? problem : "\(keyPath): \(problem)"
        if let fix { text += ". \(fix)" }
        if let location { text = "\(location): \(text)" }
        return text
    }
}

/// All problems found in one configuration file: validation keeps going after the first error so the
/// admin can fix them in one pass.
public struct ConfigurationErrors: Error, CustomStringConvertible, Sendable {
    /// The individual problems, in file order.
    public var errors: [ConfigurationError]

    /// - Parameter errors: the problems found.
    public init(_ errors: [ConfigurationError]) {
        self.errors = errors
    }

    public var description: String {
        errors.map { "  - \($0)" }.joined(separator: "\n")
    }
}
