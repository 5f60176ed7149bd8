/// Why a password could not be hashed or checked. A password that simply does not match is not an
/// error: it is ``PasswordVerification/invalid``.
public struct PasswordHasherError: Error, Equatable, CustomStringConvertible, Sendable {
    private enum Code: Equatable, Sendable {
        case invalidConfiguration
        case unknownVersion
        case malformedHash
        case unsupportedParameters
        case invalidPassword
        case hashingFailed
        case overloaded
        case shutDown
    }

    private let code: Code
    /// Details for logs; never contains the password or the pepper.
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The schemes are unusable: none, or two with the same version.
    public static func invalidConfiguration(_ message: String) -> PasswordHasherError { PasswordHasherError(.invalidConfiguration, message) }
    /// The stored hash names a scheme version that is not configured (it was removed from `passwords.schemes`).
    public static func unknownVersion(_ version: Int) -> PasswordHasherError {
        PasswordHasherError(.unknownVersion, "no password scheme with version \(version) is configured")
    }
    /// The stored hash is not a hash of the scheme's algorithm (corrupt or foreign data).
    public static func malformedHash(_ message: String) -> PasswordHasherError { PasswordHasherError(.malformedHash, message) }
    /// The stored hash asks for parameters outside what Gatehouse accepts (e.g. more memory than the cap).
    public static func unsupportedParameters(_ message: String) -> PasswordHasherError { PasswordHasherError(.unsupportedParameters, message) }
    /// The password cannot be hashed by the algorithm (bcrypt cannot take a NUL byte).
    public static func invalidPassword(_ message: String) -> PasswordHasherError { PasswordHasherError(.invalidPassword, message) }
    /// The C library reported an error.
    public static func hashingFailed(_ message: String) -> PasswordHasherError { PasswordHasherError(.hashingFailed, message) }
    /// Too many hash operations are already running or waiting; answer "try again later" (429/503).
    public static let overloaded = PasswordHasherError(.overloaded, "too many password checks are waiting")
    /// ``PasswordHasher/shutdown()`` was called.
    public static let shutDown = PasswordHasherError(.shutDown, "the password hasher is shut down")

    /// The message, for logs.
    public var description: String { message }

    /// A label without variable parts, for logs and metrics.
    public var shortDescription: String {
        switch code {
        case .invalidConfiguration: "invalid_configuration"
        case .unknownVersion: "unknown_version"
        case .malformedHash: "malformed_hash"
        case .unsupportedParameters: "unsupported_parameters"
        case .invalidPassword: "invalid_password"
        case .hashingFailed: "hashing_failed"
        case .overloaded: "overloaded"
        case .shutDown: "shut_down"
        }
    }

    /// Errors are equal when their kind is; the message is informational.
    public static func == (lhs: PasswordHasherError, rhs: PasswordHasherError) -> Bool { lhs.code == rhs.code }
}
