#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One line per request on standard output (Pingora's logging phase).
///
/// Lines are written with a single `write(2)` each, which the kernel keeps whole between threads, so
/// no lock is taken on the request path. Query values that carry credentials are redacted and no
/// header is ever logged, so tokens never reach the log.
public struct AccessLog: Sendable {
    public let enabled: Bool

    /// Query parameters whose values are credentials.
    static let secretParameters: Set<Substring> = [
        "access_token", "token", "refresh_token", "code", "client_secret", "login_token", "password", "state",
    ]

    /// - Parameter enabled: whether lines are written at all.
    public init(enabled: Bool) {
        self.enabled = enabled
    }

    /// What one request did.
    struct Entry {
        var peer: String
        var method: String
        var path: Substring
        var query: Substring?
        var proto: String
        var rule: String
        var action: String
        var member: String?
        var status: Int
        var bytesIn: Int
        var bytesOut: Int
        var durationNanoseconds: Int64
        var error: String?
    }

    func write(_ entry: Entry) {
        guard enabled else { return }
        var line = "access peer=\(entry.peer) method=\(entry.method) path=\(entry.path)"
        if let query = entry.query, !query.isEmpty { line += "?" + AccessLog.redact(query: query) }
        line += " proto=\(entry.proto) rule=\(entry.rule) action=\(entry.action)"
        if let member = entry.member { line += " upstream=\(member)" }
        let milliseconds = Double(entry.durationNanoseconds) / 1_000_000
        line += " status=\(entry.status) bytes_in=\(entry.bytesIn) bytes_out=\(entry.bytesOut) duration_ms=\(Int(milliseconds * 1000) / 1000).\(String(Int(milliseconds * 1000) % 1000).leftPadded(3))"
        if let error = entry.error { line += " error=\(error)" }
        line += "\n"
        var bytes = line
        bytes.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(1, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
    }

    /// The query with the values of credential parameters replaced by `[redacted]`.
    /// - Parameter query: the raw query string, without `?`.
    static func redact(query: Substring) -> String {
        query.split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
            guard let equals = pair.firstIndex(of: "=") else { return String(pair) }
            let name = pair[..<equals]
            return secretParameters.contains(name) ? "\(name)=[redacted]" : String(pair)
        }.joined(separator: "&")
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
