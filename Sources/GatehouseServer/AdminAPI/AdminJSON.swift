#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseCore

/// A JSON document the admin API writes: objects keep the order their keys were given in (MAS's
/// field order), and `null` stays in the output (MAS writes `"locked_at": null`, and clients read it).
indirect enum AdminJSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case string(String)
    case array([AdminJSON])
    case object([(String, AdminJSON)])

    static func == (lhs: AdminJSON, rhs: AdminJSON) -> Bool { lhs.text == rhs.text }

    /// A string, or `null` for `nil`.
    static func string(_ value: String?) -> AdminJSON { value.map(AdminJSON.string) ?? .null }

    /// An RFC 3339 UTC timestamp (`2024-05-01T12:00:00Z`), or `null`.
    static func date(_ value: Date?) -> AdminJSON {
        guard let value else { return .null }
        return .string(value.formatted(.iso8601))
    }

    /// The compact serialization.
    var text: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .int(let value): out += String(value)
        case .string(let value): out += JSONText.quote(value)
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { out += "," }
                out += JSONText.quote(key)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        }
    }
}
