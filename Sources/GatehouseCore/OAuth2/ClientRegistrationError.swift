/// Why a dynamic client registration was refused (RFC 7591 §3.2.2). The description names the field
/// and the rule that failed, so a client developer can fix the request without guessing (MAS's
/// policy messages are vague: MAS#3036).
public struct ClientRegistrationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The RFC 7591 §3.2.2 error code.
    public enum Code: String, Sendable {
        /// RFC 7591 §3.2.2: a redirect URI is missing or not allowed.
        case invalidRedirectURI = "invalid_redirect_uri"
        /// RFC 7591 §3.2.2: any other metadata value is invalid.
        case invalidClientMetadata = "invalid_client_metadata"
        /// RFC 6749 §5.2 (as MAS answers a body that is not JSON): the request is malformed.
        case invalidRequest = "invalid_request"
    }

    public let code: Code
    /// `error_description`: the field, what is wrong and what would be accepted.
    public let message: String

    /// - Parameters:
    ///   - code: the wire error code.
    ///   - message: the description.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// A refused redirect URI.
    public static func redirectURI(_ message: String) -> ClientRegistrationError { .init(.invalidRedirectURI, message) }
    /// Any other refused metadata.
    public static func metadata(_ message: String) -> ClientRegistrationError { .init(.invalidClientMetadata, message) }

    public var description: String { "\(code.rawValue): \(message)" }
}
