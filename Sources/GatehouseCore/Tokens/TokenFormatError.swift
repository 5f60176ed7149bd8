/// Why a string is not a well-formed Gatehouse/MAS token (see ``TokenFormat/check(_:)``).
///
/// Mirrors MAS's `TokenFormatError` (`InvalidFormat`, `UnknownPrefix`, `InvalidCrc`). A token that fails
/// any of these checks cannot exist in the database, so callers answer `M_UNKNOWN_TOKEN` (or the OAuth
/// equivalent) without a lookup.
public struct TokenFormatError: Error, Equatable, Hashable, CustomStringConvertible, Sendable {
    private enum Code: Equatable, Hashable, Sendable {
        case invalidFormat
        case unknownPrefix
        case invalidChecksum
    }

    private let code: Code

    private init(_ code: Code) {
        self.code = code
    }

    /// Not three `_`-separated parts of 3, 30 and 6 characters, or a character outside `[0-9A-Za-z]`.
    public static let invalidFormat = TokenFormatError(.invalidFormat)
    /// Well-shaped, but the prefix is not one of ``TokenKind``.
    public static let unknownPrefix = TokenFormatError(.unknownPrefix)
    /// Well-shaped with a known prefix, but the CRC-32 checksum does not match (a typo or a forgery).
    public static let invalidChecksum = TokenFormatError(.invalidChecksum)

    /// A sentence for logs (never includes the token).
    public var description: String {
        switch code {
        case .invalidFormat: "the token is not of the form <prefix>_<30 characters>_<6 characters>"
        case .unknownPrefix: "the token prefix is not a known token kind"
        case .invalidChecksum: "the token checksum does not match"
        }
    }

    /// A label without variable parts, for logs and metrics.
    public var shortDescription: String {
        switch code {
        case .invalidFormat: "invalid_format"
        case .unknownPrefix: "unknown_prefix"
        case .invalidChecksum: "invalid_checksum"
        }
    }
}
