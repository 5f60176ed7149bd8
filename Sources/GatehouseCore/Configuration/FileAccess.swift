#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Who besides the owner may use a file, for the checks on secret files, TLS keys and the database.
public enum FileAccess {
    /// The permission bits (`0o7777`) of the file at `path`, following symbolic links (Let's Encrypt's
    /// `live/` names are links into `archive/`); `nil` when it cannot be examined.
    /// - Parameter path: an absolute path.
    public static func mode(of path: String) -> UInt32? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt32(info.st_mode) & 0o7777
    }

    /// Whether the group or others have any access to the file (`mode & 0o077`): such a file is
    /// readable (or replaceable) by other accounts on the machine.
    /// - Parameter path: an absolute path.
    /// - Returns: the mode when it is too open, `nil` when it is private or cannot be examined.
    public static func openToOthers(_ path: String) -> UInt32? {
        guard let mode = mode(of: path), mode & 0o077 != 0 else { return nil }
        return mode
    }

    /// `0644` for `0o644`.
    /// - Parameter mode: permission bits.
    public static func octal(_ mode: UInt32) -> String {
        let digits = String(mode & 0o7777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
