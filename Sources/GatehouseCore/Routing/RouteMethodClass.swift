/// The request methods the route grammar can name, plus one class for every other method.
///
/// Rules filter by method, so the rules that can apply to a request depend only on its class: the
/// table works out, once, which rules apply to each class and matches a request against its class's
/// rules alone (see ``RouteTable``). `HEAD` is its own class because `GET` rules also cover it.
public enum RouteMethodClass: Int, Sendable, CaseIterable {
    case get, head, post, put, delete, options, patch
    /// Any method the grammar cannot name (`PROPFIND`, a lower-case `get`): only `*` rules apply.
    case other

    /// - Parameter method: the request method as received (methods are case-sensitive).
    @inlinable
    public init(method: String) {
        switch method {
        case "GET": self = .get
        case "HEAD": self = .head
        case "POST": self = .post
        case "PUT": self = .put
        case "DELETE": self = .delete
        case "OPTIONS": self = .options
        case "PATCH": self = .patch
        default: self = .other
        }
    }

    /// The method this class stands for; `nil` for ``other``.
    public var name: String? {
        switch self {
        case .get: "GET"
        case .head: "HEAD"
        case .post: "POST"
        case .put: "PUT"
        case .delete: "DELETE"
        case .options: "OPTIONS"
        case .patch: "PATCH"
        case .other: nil
        }
    }

    /// Whether `rule` applies to every method of this class, exactly as ``RouteRule/allows(method:)``
    /// decides for each of them.
    /// - Parameter rule: a rule whose methods are all ones the grammar names.
    func isAllowed(by rule: RouteRule) -> Bool {
        guard let name else { return rule.methods == nil }
        return rule.allows(method: name)
    }
}
