import Yams

/// A YAML node together with its key path, so that every read can report precisely what is wrong.
///
/// Reading goes through this type rather than `Codable` because `Codable` silently ignores unknown keys
/// (a typo such as `public_bsae` would be lost) and its errors do not say how to fix the value.
struct ConfigNode {
    let node: Yams.Node
    let path: String
    let file: String

    var location: String? {
        node.mark.map { "\(file):\($0.line)" }
    }

    func error(_ problem: String, fix: String? = nil) -> ConfigurationError {
        ConfigurationError(keyPath: path, problem: problem, fix: fix, location: location)
    }

    func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The node as a mapping whose keys are all in `allowed`.
    func mapping(allowed: Set<String>) throws -> ConfigMapping {
        guard case .mapping(let mapping) = node else {
            throw error("expected a mapping (key: value lines)")
        }
        var values: [String: ConfigNode] = [:]
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.string else {
                throw error("keys must be strings")
            }
            guard allowed.contains(key) else {
                let known = allowed.sorted().joined(separator: ", ")
                throw ConfigurationError(
                    keyPath: child(key), problem: "unknown key",
                    fix: "Known keys here: \(known)", location: keyNode.mark.map { "\(file):\($0.line)" })
            }
            values[key] = ConfigNode(node: valueNode, path: child(key), file: file)
        }
        return ConfigMapping(owner: self, values: values)
    }

    /// The node as a sequence of nodes with indexed paths.
    func sequence() throws -> [ConfigNode] {
        guard case .sequence(let sequence) = node else {
            throw error("expected a list")
        }
        return sequence.enumerated().map { index, item in
            ConfigNode(node: item, path: "\(path)[\(index)]", file: file)
        }
    }

    func string() throws -> String {
        guard case .scalar(let scalar) = node else { throw error("expected a string") }
        if scalar.isNull { throw error("must not be empty") }
        return scalar.string
    }

    func bool() throws -> Bool {
        guard let value = node.bool else { throw error("expected true or false") }
        return value
    }

    func int(range: ClosedRange<Int>) throws -> Int {
        guard let value = node.int else { throw error("expected a whole number") }
        guard range.contains(value) else {
            throw error("\(value) is out of range", fix: "Use a value between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }

    /// A decimal number such as `0.05`, `3`, `1e-3` or `-2.5`, read from a plain (unquoted) scalar.
    ///
    /// Only digits, one sign, `.` and an exponent are accepted: YAML's `.inf`/`.nan`, sexagesimal
    /// (`1:30`), hexadecimal and fractions (`3/60`) are refused, so what is written is what is used.
    /// - Parameter range: the accepted values.
    func double(range: ClosedRange<Double>) throws -> Double {
        let fix = "Write a decimal number such as 0.05, 2 or 1e-3"
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else {
            throw error("expected a number", fix: fix)
        }
        let text = scalar.string
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.eE".contains($0)) }),
            let value = Double(text), value.isFinite
        else {
            throw error("'\(text)' is not a number", fix: fix)
        }
        guard range.contains(value) else {
            throw error("\(text) is out of range", fix: "Use a value between \(Self.plain(range.lowerBound)) and \(Self.plain(range.upperBound))")
        }
        return value
    }

    /// `1000000` rather than `1000000.0` in messages.
    private static func plain(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }

    func byteSize(range: ClosedRange<Int>) throws -> Int {
        guard let value = ByteSize.parse(try string()) else {
            throw error("'\(node.string ?? "")' is not a size", fix: "Write bytes as a number or with a unit, e.g. 65536, 64KiB, 50MiB")
        }
        guard range.contains(value) else {
            throw error("\(value) bytes is out of range", fix: "Use a size between \(range.lowerBound) and \(range.upperBound) bytes")
        }
        return value
    }

    func duration(range: ClosedRange<Duration>) throws -> Duration {
        guard let value = DurationText.parse(try string()) else {
            throw error("'\(node.string ?? "")' is not a duration", fix: "Write seconds as a number or with a unit, e.g. 30, 30s, 500ms, 5m")
        }
        guard range.contains(value) else {
            throw error("\(value) is out of range", fix: "Use a duration between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }
}

/// The keys of one YAML mapping, read by name.
struct ConfigMapping {
    let owner: ConfigNode
    let values: [String: ConfigNode]

    subscript(key: String) -> ConfigNode? {
        guard let value = values[key] else { return nil }
        // An explicit `key: ~` or `key:` counts as absent.
        if case .scalar(let scalar) = value.node, scalar.isNull { return nil }
        return value
    }

    func required(_ key: String, hint: String) throws -> ConfigNode {
        guard let value = self[key] else {
            throw ConfigurationError(keyPath: owner.child(key), problem: "is required", fix: hint, location: owner.location)
        }
        return value
    }
}

extension Yams.Node.Scalar {
    /// A plain `~`, `null` or empty value.
    var isNull: Bool {
        (style == .plain || style == .any) && ["", "~", "null", "Null", "NULL"].contains(string)
    }
}
