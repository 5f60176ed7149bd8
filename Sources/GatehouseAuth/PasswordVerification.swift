/// The outcome of checking a password against a stored hash (``PasswordHasher/verify(_:version:hash:)``).
public enum PasswordVerification: Sendable, Equatable {
    /// The password does not match.
    case invalid
    /// The password matches, and the hash was made with the newest scheme.
    case valid
    /// The password matches, but the hash was made with an older scheme. The caller stores `newHash`
    /// with `newVersion` as the user's current password (MAS `verify_and_upgrade` inserts a new row).
    /// - Parameters:
    ///   - newVersion: the version of the newest scheme.
    ///   - newHash: the password hashed with it.
    case validNeedsUpgrade(newVersion: Int, newHash: String)

    /// Whether the password matched, whatever happens to the stored hash.
    public var isValid: Bool {
        self != .invalid
    }
}
