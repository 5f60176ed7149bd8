#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging

/// `server.pid_file`: how `gatehouse reload` finds the running `serve`.
enum PIDFile {
    /// Writes this process's id (replacing a file left by a process that died).
    /// - Parameters:
    ///   - path: `server.pid_file`.
    ///   - logger: a failure is logged, not fatal: the gateway serves either way, and
    ///     `systemctl reload` or `kill -HUP` still work.
    static func write(to path: String, logger: Logger) {
        do {
            try AtomicFile.write(Array("\(getpid())\n".utf8), to: path, mode: 0o644, replace: true)
        } catch {
            logger.error("server.pid_file: \(error); `gatehouse reload` cannot find this process (send SIGHUP yourself)")
        }
    }

    /// Removes the file at exit, unless another process has written its own id there since.
    /// - Parameter path: `server.pid_file`.
    static func remove(_ path: String) {
        if read(path) == getpid() { unlink(path) }
    }

    /// The id in the file, or `nil` when there is no readable id.
    /// - Parameter path: `server.pid_file`.
    static func read(_ path: String) -> pid_t? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 32)
        guard fgets(&buffer, 32, file) != nil else { return nil }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let word = text.split(whereSeparator: \.isWhitespace).first, let pid = pid_t(word), pid > 1 else { return nil }
        return pid
    }

    /// Whether `pid` is a running `serve` of this program (its command line, on Linux: the program is
    /// named `gatehouse…` or as this one is), so a stale file whose id now belongs to another program
    /// is never signalled.
    /// - Parameter pid: the process id from the file.
    static func isGatehouseServe(_ pid: pid_t) -> Bool {
        guard let file = fopen("/proc/\(pid)/cmdline", "r") else { return false }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes += buffer[..<count]
        }
        let arguments = bytes.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        guard let program = arguments.first?.split(separator: "/").last else { return false }
        let ours = CommandLine.arguments.first?.split(separator: "/").last
        return (program.hasPrefix("gatehouse") || program == ours) && arguments.contains("serve")
    }
}
