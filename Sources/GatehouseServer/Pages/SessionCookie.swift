import Crypto
import GatehouseAuth
import GatehouseCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the browser session cookie carries: the browser session (when signed in) and the secret
/// the CSRF tokens of its forms derive from. Anonymous visitors get one too, without a session, so
/// the login form itself is protected.
struct SessionCookieContents: Sendable, Equatable {
    /// The ``BrowserSession`` id; `nil` for a visitor who is not signed in.
    var sessionId: String?
    /// 16 random bytes; every form's `csrf` field is an HMAC of it.
    var csrfSecret: [UInt8]
    /// When this cookie value was made; values older than ``SessionCookie/maximumAge`` are ignored.
    var issuedAt: Date
    /// An authorization grant that asked for `prompt=login`: its consent needs a password check made
    /// after the grant was created.
    var freshLoginGrantId: String?
}

/// The `__Host-gatehouse-session` cookie: contents sealed with AES-256-GCM under a key derived
/// (HKDF-SHA256) from `secrets.encryption`, the cookie name as associated data. A value that was
/// tampered with, made under another key, malformed or too old opens as `nil`: the visitor is
/// treated as signed out, never as an error.
struct SessionCookie: Sendable {
    static let name = "__Host-gatehouse-session"
    /// Attributes of every `Set-Cookie`: the `__Host-` prefix requires `Secure`, `Path=/` and no
    /// `Domain`; `SameSite=Lax` keeps the cookie off cross-site POSTs.
    static let attributes = "Path=/; Secure; HttpOnly; SameSite=Lax"
    /// The absolute lifetime of a cookie value (ASVS 7.3.2): after this the visitor signs in again.
    static let maximumAge: TimeInterval = 30 * 24 * 3600
    private static let version: UInt8 = 1

    private let key: SymmetricKey
    private let random: any RandomSource

    /// - Parameters:
    ///   - encryptionKey: the 32 bytes of `secrets.encryption`.
    ///   - random: nonces and CSRF secrets.
    init(encryptionKey: [UInt8], random: any RandomSource) {
        key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: encryptionKey), salt: Array("gatehouse".utf8),
            info: Array("browser session cookie v1".utf8), outputByteCount: 32)
        self.random = random
    }

    /// Fresh contents for a visitor without a (valid) cookie.
    func fresh(at now: Date, sessionId: String? = nil) -> SessionCookieContents {
        SessionCookieContents(sessionId: sessionId, csrfSecret: random.bytes(16), issuedAt: now)
    }

    /// The cookie value for `contents`.
    func seal(_ contents: SessionCookieContents) -> String {
        var plain: [UInt8] = [Self.version]
        let seconds = UInt64(max(0, contents.issuedAt.timeIntervalSince1970.rounded(.down)))
        for shift in stride(from: 56, through: 0, by: -8) { plain.append(UInt8(truncatingIfNeeded: seconds >> UInt64(shift))) }
        plain += contents.csrfSecret
        for field in [contents.sessionId, contents.freshLoginGrantId] {
            let bytes = Array((field ?? "").utf8.prefix(255))
            plain.append(UInt8(bytes.count))
            plain += bytes
        }
        // The nonce comes from the injected randomness, so tests are deterministic; 96 random bits
        // per value keep collisions out of reach for the number of cookies one key seals.
        let nonce = try! AES.GCM.Nonce(data: random.bytes(12))
        let box = try! AES.GCM.seal(plain, using: key, nonce: nonce, authenticating: Array(Self.name.utf8))
        return Base64URL.encode(Array(box.combined!))
    }

    /// The contents of a cookie value, or `nil` when it does not open or is too old.
    func open(_ value: String, now: Date) -> SessionCookieContents? {
        guard value.utf8.count <= 1024, let bytes = Base64URL.decode(value), bytes.count > 28,
            let box = try? AES.GCM.SealedBox(combined: bytes),
            let plainData = try? AES.GCM.open(box, using: key, authenticating: Array(Self.name.utf8))
        else { return nil }
        let plain = Array(plainData)
        guard plain.count >= 1 + 8 + 16 + 2, plain[0] == Self.version else { return nil }
        var seconds: UInt64 = 0
        for byte in plain[1..<9] { seconds = seconds << 8 | UInt64(byte) }
        let issuedAt = Date(timeIntervalSince1970: TimeInterval(seconds))
        guard issuedAt <= now.addingTimeInterval(60), now.timeIntervalSince(issuedAt) <= Self.maximumAge else { return nil }
        let secret = Array(plain[9..<25])
        var index = 25
        var fields: [String?] = []
        for _ in 0..<2 {
            guard index < plain.count else { return nil }
            let length = Int(plain[index])
            index += 1
            guard index + length <= plain.count else { return nil }
            fields.append(length == 0 ? nil : String(decoding: plain[index..<(index + length)], as: UTF8.self))
            index += length
        }
        guard index == plain.count else { return nil }
        return SessionCookieContents(sessionId: fields[0], csrfSecret: secret, issuedAt: issuedAt, freshLoginGrantId: fields[1])
    }

    /// The `csrf` field of forms rendered for `contents` (HMAC-SHA256 of the cookie's secret).
    static func csrfToken(for contents: SessionCookieContents) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("gatehouse csrf v1".utf8), using: SymmetricKey(data: contents.csrfSecret))
        return Base64URL.encode(Array(mac))
    }

    /// Whether a submitted `csrf` field belongs to `contents` (constant time).
    static func csrfMatches(_ submitted: String?, _ contents: SessionCookieContents) -> Bool {
        guard let submitted else { return false }
        return ConstantTime.equals(Array(submitted.utf8), Array(csrfToken(for: contents).utf8))
    }

    /// The `Set-Cookie` header value carrying `contents`.
    func setCookie(_ contents: SessionCookieContents) -> String {
        "\(Self.name)=\(seal(contents)); \(Self.attributes)"
    }

    /// The value of this cookie in a request's `Cookie` headers (the first one).
    static func value(in cookieHeaders: [String]) -> String? {
        for header in cookieHeaders {
            for pair in header.split(separator: ";") {
                let trimmed = pair.drop { $0 == " " }
                guard let equals = trimmed.firstIndex(of: "=") else { continue }
                if trimmed[..<equals] == name { return String(trimmed[trimmed.index(after: equals)...]) }
            }
        }
        return nil
    }
}
