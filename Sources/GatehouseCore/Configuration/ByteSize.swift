/// Parses sizes written as `1048576`, `512KiB`, `50MiB`, `1GiB` (also `K`, `M`, `G`, `KB`, `MB`, `GB`,
/// which are read as powers of 1024 like nginx does).
public enum ByteSize {
    /// - Parameter text: the value as written in the file.
    /// - Returns: the size in bytes, or `nil` when the text is not a size.
    public static func parse(_ text: String) -> Int? {
        let trimmed = text.trimmingWhitespace()
        let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let value = Int(digits) else { return nil }
        let unit = trimmed.dropFirst(digits.count).lowercased()
        let multiplier: Int
        switch unit {
        case "", "b": multiplier = 1
        case "k", "kb", "kib": multiplier = 1 << 10
        case "m", "mb", "mib": multiplier = 1 << 20
        case "g", "gb", "gib": multiplier = 1 << 30
        default: return nil
        }
        let (result, overflow) = value.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : result
    }
}

/// Parses durations written as `30` (seconds), `30s`, `500ms`, `5m`, `1h`.
public enum DurationText {
    /// - Parameter text: the value as written in the file.
    /// - Returns: the duration, or `nil` when the text is not a duration.
    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingWhitespace()
        let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let value = Int64(digits), value < 1_000_000_000 else { return nil }
        switch trimmed.dropFirst(digits.count).lowercased() {
        case "", "s": return .seconds(value)
        case "ms": return .milliseconds(value)
        case "m", "min": return .seconds(value * 60)
        case "h": return .seconds(value * 3600)
        default: return nil
        }
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and line breaks (no Foundation needed).
    public func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[start...end])
    }
}
