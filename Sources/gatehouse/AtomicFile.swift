#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Writes a file the way secrets must be written: created with its final mode (never created with
/// the default mode and narrowed afterwards, which leaves a moment when anyone can read it), filled,
/// flushed to disk, then moved into place in one step, so the file is never seen half-written.
enum AtomicFile {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Writes `bytes` to `path` with permissions `mode` (the umask may only narrow them).
    /// - Parameters:
    ///   - bytes: the content.
    ///   - path: an absolute path in an existing directory.
    ///   - mode: the permission bits, e.g. `0o600`.
    ///   - replace: replace an existing file; otherwise an existing file is an error.
    static func write(_ bytes: [UInt8], to path: String, mode: mode_t, replace: Bool) throws(Failure) {
        let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
        let temporary = String(path[..<slash]) + "." + String(path[slash...]) + ".tmp-\(getpid())"
        unlink(temporary)  // a leftover of an earlier run that crashed
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw Failure(description: "cannot create \(temporary): \(errorText())") }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { buffer in Glibc.write(fd, buffer.baseAddress! + written, buffer.count - written) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                let text = errorText()
                close(fd)
                unlink(temporary)
                throw Failure(description: "cannot write \(temporary): \(text)")
            }
            written += count
        }
        guard fsync(fd) == 0, close(fd) == 0 else {
            let text = errorText()
            unlink(temporary)
            throw Failure(description: "cannot write \(temporary): \(text)")
        }
        // rename() replaces; link() refuses an existing target, so nothing is overwritten by accident.
        let moved = replace ? rename(temporary, path) : link(temporary, path)
        let text = errorText()
        if !replace || moved != 0 { unlink(temporary) }
        guard moved == 0 else { throw Failure(description: "cannot create \(path): \(text)") }
    }

    private static func errorText() -> String {
        String(cString: strerror(errno))
    }
}
