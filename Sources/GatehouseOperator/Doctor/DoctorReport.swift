import Foundation

/// The result of `gatehouse doctor`: every check in the order it ran, as text for a terminal or as
/// JSON for monitoring.
public struct DoctorReport: Sendable, Encodable {
    public var checks: [DoctorCheck]

    /// - Parameter checks: the findings, in order.
    public init(checks: [DoctorCheck]) {
        self.checks = checks
    }

    /// Whether no check failed (warnings and skipped checks do not count).
    public var passed: Bool { !checks.contains { $0.status == .fail } }

    enum CodingKeys: String, CodingKey {
        case passed, checks
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(passed, forKey: .passed)
        try container.encode(checks, forKey: .checks)
    }

    /// `{"passed": Bool, "checks": [{"name", "title", "status", "detail", "fix"}]}`, keys sorted.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// One block per check: `[ ok ] title`, the detail, and the fix when there is one.
    public func text() -> String {
        var lines: [String] = []
        for check in checks {
            let mark: String
            switch check.status {
            case .ok: mark = "[ ok ]"
            case .warn: mark = "[warn]"
            case .fail: mark = "[FAIL]"
            case .skip: mark = "[skip]"
            }
            lines.append("\(mark) \(check.title) (\(check.name))")
            lines.append("       \(check.detail)")
            if let fix = check.fix { lines.append("       fix: \(fix)") }
        }
        let counts = [DoctorCheck.Status.ok, .warn, .fail, .skip].map { status in
            "\(checks.filter { $0.status == status }.count) \(status.rawValue)"
        }
        lines.append("")
        lines.append((passed ? "doctor: no failures" : "doctor: FAILED") + " (\(counts.joined(separator: ", ")))")
        return lines.joined(separator: "\n")
    }
}
