/// A stored job this version of Gatehouse cannot read. The runner keeps such jobs and retries them
/// rarely (a newer Gatehouse may run them), logging each attempt as an error.
public struct HomeserverJobError: Error, Equatable, Sendable, CustomStringConvertible {
    private enum Code: Equatable, Sendable {
        case unknownKind
        case invalidPayload
    }

    private let code: Code
    /// The job kind.
    public let kind: String
    /// What failed to parse.
    public let detail: String

    private init(_ code: Code, kind: String, detail: String) {
        self.code = code
        self.kind = kind
        self.detail = detail
    }

    /// A kind this version does not know (written by a newer Gatehouse?).
    /// - Parameter kind: the stored kind.
    public static func unknownKind(_ kind: String) -> HomeserverJobError {
        HomeserverJobError(.unknownKind, kind: kind, detail: "")
    }

    /// A payload that is not valid JSON for its kind.
    /// - Parameters:
    ///   - kind: the stored kind.
    ///   - detail: the decoding error.
    public static func invalidPayload(kind: String, detail: String) -> HomeserverJobError {
        HomeserverJobError(.invalidPayload, kind: kind, detail: detail)
    }

    public var description: String {
        switch code {
        case .unknownKind:
            "unknown homeserver job kind '\(kind)' (known: \(HomeserverJob.kinds.joined(separator: ", "))); was it queued by a newer Gatehouse?"
        case .invalidPayload:
            "the payload of this '\(kind)' job cannot be read: \(detail)"
        }
    }

    public static func == (lhs: HomeserverJobError, rhs: HomeserverJobError) -> Bool {
        lhs.code == rhs.code && lhs.kind == rhs.kind
    }
}
