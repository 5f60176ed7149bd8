#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A page rendered once with a marker where the CSRF token goes, so serving it costs a string join
/// instead of a template render. The marker is plain alphanumerics (unchanged by HTML escaping) and
/// every occurrence is replaced, wherever an overriding template puts the token.
struct PrerenderedPage: Sendable {
    private static let marker = "GatehouseCSRFPlaceholder9c41e07b"
    private let parts: [String]

    /// - Parameter render: renders the page with the given CSRF token.
    init(_ render: (String) -> String) {
        parts = render(Self.marker).components(separatedBy: Self.marker)
    }

    func render(csrf: String) -> String {
        parts.joined(separator: csrf)
    }
}
