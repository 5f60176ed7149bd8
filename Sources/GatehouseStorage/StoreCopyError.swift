/// Why a copy refused; the target was not changed.
public struct StoreCopyError: Error, CustomStringConvertible, Sendable, Equatable {
    private enum Code: Sendable, Equatable {
        case conflict
        case schemaMismatch
    }

    private let code: Code
    public let message: String

    /// The target holds rows that are not the source's.
    static func conflict(_ message: String) -> StoreCopyError { StoreCopyError(code: .conflict, message: message) }
    /// The two schemas differ (a store migrated by another version).
    static func schemaMismatch(_ message: String) -> StoreCopyError { StoreCopyError(code: .schemaMismatch, message: message) }

    public var isConflict: Bool { code == .conflict }
    public var description: String { message }
}
