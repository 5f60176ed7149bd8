import GatehouseCore
import GatehouseStorage

/// The query of a list request, MAS's way: `page[first]`/`page[last]` (how many), `page[after]`/
/// `page[before]` (cursors: ids), `count=true|false|only`, and `filter[…]` parameters. Unknown
/// `page[…]` or `filter[…]` names are refused, so a misspelt filter never lists everything.
struct AdminListQuery {
    /// MAS's page size when neither `page[first]` nor `page[last]` is given.
    static let defaultPageSize = 10
    /// The largest page: a bound on the work of one request.
    static let maximumPageSize = 1000

    /// Whether the answer carries `meta.count`, the page, or both.
    enum CountMode: String {
        case `true`
        case `false`
        case only
    }

    var page: Pagination
    var count: CountMode
    /// The `filter[name]` values, by name, in the order of the `allowedFilters` the caller gave.
    var filters: [(name: String, value: String)]

    /// - Parameters:
    ///   - query: the raw query string, if any.
    ///   - allowedFilters: the names this list accepts inside `filter[…]`.
    init(_ query: Substring?, allowedFilters: [String]) throws(AdminAPIError) {
        let pairs: [(name: String, value: String)]
        if let query {
            guard let parsed = FormURLEncoded.parse(Array(query.utf8)) else {
                throw .invalidParameter("query", "not a valid query string")
            }
            pairs = parsed
        } else {
            pairs = []
        }
        var seen = Set<String>()
        for (name, _) in pairs where name.hasPrefix("page[") || name.hasPrefix("filter[") || name == "count" {
            guard seen.insert(name).inserted else { throw .invalidParameter(name, "given more than once") }
        }
        func value(_ name: String) -> String? { pairs.first { $0.name == name }?.value }

        for (name, _) in pairs where name.hasPrefix("page[") {
            guard ["page[first]", "page[last]", "page[after]", "page[before]"].contains(name) else {
                throw .invalidParameter(name, "unknown; use page[first], page[last], page[after] or page[before]")
            }
        }
        let first = try value("page[first]").map { text throws(AdminAPIError) in try Self.size(text, "page[first]") }
        let last = try value("page[last]").map { text throws(AdminAPIError) in try Self.size(text, "page[last]") }
        if first != nil && last != nil { throw .invalidParameter("page", "give page[first] or page[last], not both") }
        let after = try value("page[after]").map { text throws(AdminAPIError) in try Self.cursor(text, "page[after]") }
        let before = try value("page[before]").map { text throws(AdminAPIError) in try Self.cursor(text, "page[before]") }
        page = Pagination(
            direction: last != nil ? .backward : .forward, count: first ?? last ?? Self.defaultPageSize, after: after, before: before)

        guard let mode = CountMode(rawValue: value("count") ?? "true") else {
            throw .invalidParameter("count", "must be true, false or only")
        }
        count = mode

        var filters: [(String, String)] = []
        for (name, _) in pairs where name.hasPrefix("filter[") {
            guard name.hasSuffix("]"), allowedFilters.contains(String(name.dropFirst(7).dropLast())) else {
                throw .invalidParameter(name, "unknown; filters here: \(allowedFilters.map { "filter[\($0)]" }.joined(separator: ", "))")
            }
        }
        for name in allowedFilters {
            if let text = value("filter[\(name)]") { filters.append((name, text)) }
        }
        self.filters = filters
    }

    /// A filter's value, if given.
    func filter(_ name: String) -> String? { filters.first { $0.name == name }?.value }

    /// A boolean filter (`true`/`false`).
    func boolFilter(_ name: String) throws(AdminAPIError) -> Bool? {
        guard let text = filter(name) else { return nil }
        switch text {
        case "true": return true
        case "false": return false
        default: throw .invalidParameter("filter[\(name)]", "must be true or false")
        }
    }

    /// A filter naming one of `values`.
    func enumFilter<Value: RawRepresentable & CaseIterable>(_ name: String, as type: Value.Type) throws(AdminAPIError) -> Value?
    where Value.RawValue == String {
        guard let text = filter(name) else { return nil }
        guard let parsed = Value(rawValue: text) else {
            throw .invalidParameter("filter[\(name)]", "must be one of \(Value.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return parsed
    }

    /// An id filter (a ULID).
    func idFilter(_ name: String) throws(AdminAPIError) -> String? {
        guard let text = filter(name) else { return nil }
        guard ULID.isValid(text) else { throw .invalidParameter("filter[\(name)]", "expected a ULID") }
        return text
    }

    private static func size(_ text: String, _ name: String) throws(AdminAPIError) -> Int {
        guard let value = Int(text), (1...maximumPageSize).contains(value) else {
            throw .invalidParameter(name, "must be a whole number from 1 to \(maximumPageSize)")
        }
        return value
    }

    private static func cursor(_ text: String, _ name: String) throws(AdminAPIError) -> String {
        guard ULID.isValid(text) else { throw .invalidParameter(name, "expected a ULID (the id of a listed item)") }
        return text
    }

    // MARK: Answer

    /// The list answer: `meta.count` (unless `count=false`), the page's resources (unless
    /// `count=only`) each with its cursor, and the links (`self`, `first`, `last`, and `next`/`prev`
    /// when more rows lie that way), as MAS writes them.
    /// - Parameters:
    ///   - path: the list's path.
    ///   - page: the rows read (ignored with `count=only`).
    ///   - total: the number of matching rows (when counted).
    ///   - resource: each row as a resource.
    func answer<Item>(path: String, page: Page<Item>?, total: Int?, resource: (Item) -> AdminResource) -> AdminJSON {
        var members: [(String, AdminJSON)] = []
        if let total { members.append(("meta", .object([("count", .int(total))]))) }
        let resources = page?.items.map(resource) ?? []
        if count != .only { members.append(("data", .array(resources.map { $0.json(cursor: true) }))) }
        let base = path + (filters.isEmpty ? "" : "?" + filters.map { "filter[\($0.name)]=\(Self.encode($0.value))" }.joined(separator: "&"))
        var links: [(String, AdminJSON)] = [
            ("self", .string(Self.link(base, self.page))),
            ("first", .string(Self.link(base, Pagination(direction: .forward, count: self.page.count)))),
            ("last", .string(Self.link(base, Pagination(direction: .backward, count: self.page.count)))),
        ]
        if let page, page.hasNextPage, let last = resources.last {
            links.append(("next", .string(Self.link(base, Pagination(direction: self.page.direction, count: self.page.count, after: last.id)))))
        }
        if let page, page.hasPreviousPage, let first = resources.first {
            links.append(("prev", .string(Self.link(base, Pagination(direction: self.page.direction, count: self.page.count, before: first.id)))))
        }
        members.append(("links", .object(links)))
        return .object(members)
    }

    /// `base` with the page parameters appended, in MAS's order (before, after, first|last).
    private static func link(_ base: String, _ page: Pagination) -> String {
        var parameters: [String] = []
        if let before = page.before { parameters.append("page[before]=\(before)") }
        if let after = page.after { parameters.append("page[after]=\(after)") }
        parameters.append(page.direction == .forward ? "page[first]=\(page.count)" : "page[last]=\(page.count)")
        return base + (base.contains("?") ? "&" : "?") + parameters.joined(separator: "&")
    }

    /// A filter value for a link: everything but unreserved characters percent-encoded.
    private static func encode(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" : "") + hex
            }
        }
        return out
    }
}
