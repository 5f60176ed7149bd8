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

    /// Query parameters whose values are credentials, lower case; a name is compared after decoding it
    /// as Synapse does (``SynapseQuery``) and folding ASCII case, so `access%5Ftoken` and `loginToken`
    /// are caught. Matrix: `access_token` (also the pusher-unsubscribe token in notification e-mails),
    /// `loginToken`/`login_token` (`m.login.token`), `token` (registration tokens, 3PID validation),
    /// `client_secret`, `session` (user-interactive auth fallback pages), `h` (the consent form's
    /// HMAC), `ticket` (CAS). OAuth 2.0 / OIDC, as MAS accepts them: `code`, `state`, `refresh_token`,
    /// `id_token`, `id_token_hint`, `code_verifier`, `device_code`, `user_code`, `client_assertion`.
    static let secretParameters: Set<String> = [
        "access_token", "refresh_token", "token", "login_token", "logintoken", "password", "client_secret", "session", "h",
        "ticket", "code", "state", "id_token", "id_token_hint", "code_verifier", "device_code", "user_code", "client_assertion",
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

    /// The query with the values of credential parameters replaced by `[redacted]`; everything else,
    /// separators and the names as written included, is kept.
    ///
    /// Items are split as Synapse splits them (on `&` and `;`), so `x=1;access_token=…` is redacted too.
    /// - Parameter query: the raw query string, without `?`.
    static func redact(query: Substring) -> String {
        let bytes = Array(query.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        bytes.withUnsafeBytes { buffer in
            var copied = 0
            SynapseQuery.forEachItem(in: buffer) { item in
                let name = SynapseQuery.decode(UnsafeRawBufferPointer(rebasing: buffer[item.start..<item.equals]))
                guard secretParameters.contains(String(decoding: name.map(lowered), as: UTF8.self)) else { return true }
                output.append(contentsOf: buffer[copied...item.equals])
                output.append(contentsOf: "[redacted]".utf8)
                copied = item.end
                return true
            }
            output.append(contentsOf: buffer[copied...])
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func lowered(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
