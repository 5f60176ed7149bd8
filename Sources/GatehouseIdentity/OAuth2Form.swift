import GatehouseCore

/// The parameters of an OAuth 2.0 form request, read by name with the rules of RFC 6749 §3.1:
/// a parameter given twice is an error, and one sent without a value counts as omitted.
public struct OAuth2Form: Sendable {
    private let pairs: [(name: String, value: String)]

    /// - Parameter pairs: the parsed form (``FormURLEncoded/parse(_:)``).
    public init(_ pairs: [(name: String, value: String)]) {
        self.pairs = pairs
    }

    /// The body parsed, or `invalid_request` when it is not a valid form.
    /// - Parameter body: the request body.
    public static func parse(_ body: some Collection<UInt8>) -> Result<OAuth2Form, OAuth2TokenError> {
        guard let pairs = FormURLEncoded.parse(body) else { return .failure(.invalidRequest("The body is not a valid form")) }
        return .success(OAuth2Form(pairs))
    }

    /// The value of `name`, `nil` when absent or empty.
    /// - Parameter name: the parameter.
    /// - Throws: `invalid_request` when it is given more than once.
    public func optional(_ name: String) throws(OAuth2TokenError) -> String? {
        switch FormURLEncoded.single(name, in: pairs) {
        case .absent: return nil
        case .value(let value): return value.isEmpty ? nil : value
        case .duplicate: throw .invalidRequest("`\(name)` is given more than once")
        }
    }

    /// The value of `name`.
    /// - Parameter name: the parameter.
    /// - Throws: `invalid_request` when it is absent, empty or repeated.
    public func required(_ name: String) throws(OAuth2TokenError) -> String {
        guard let value = try optional(name) else { throw .invalidRequest("`\(name)` is required") }
        return value
    }
}
