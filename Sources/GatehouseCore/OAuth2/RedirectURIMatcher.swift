/// Which registered redirect URI an authorization request names (RFC 9700 §4.1.3: exact string
/// comparison; RFC 8252 §7.3: any port on a loopback redirect URI of a native app).
///
/// No normalisation of any kind: an extra slash, a different case, a query or a fragment, user
/// info or another scheme is simply another string, so it matches nothing and the request gets an
/// error page instead of a redirect.
public enum RedirectURIMatcher {
    /// The redirect URI to use, or `nil` when the request names none that is registered.
    /// - Parameters:
    ///   - requested: the `redirect_uri` parameter, if sent.
    ///   - registered: the client's `redirect_uris`.
    ///   - isNative: the client is a native app (`application_type: native`), whose loopback
    ///     redirect URIs match on any port.
    public static func resolve(requested: String?, registered: [String], isNative: Bool) -> String? {
        guard let requested else {
            // Without the parameter, only an unambiguous registration is used (MAS, RFC 6749 §3.1.2.3).
            return registered.count == 1 ? registered[0] : nil
        }
        if registered.contains(requested) { return requested }
        guard isNative, let requestedWithoutPort = loopbackWithoutPort(requested) else { return nil }
        return registered.contains { loopbackWithoutPort($0) == requestedWithoutPort } ? requested : nil
    }

    /// `http://HOST/rest` for `http://HOST[:port]/rest` when HOST is a loopback name or address and
    /// the URI has no user info or fragment; `nil` otherwise.
    static func loopbackWithoutPort(_ text: String) -> String? {
        guard case .success(let uri) = URIReference.parse(text), uri.scheme == "http", uri.hasAuthority, !uri.hasUserInfo,
            !uri.hasFragment, URIReference.loopbackHosts.contains(uri.host)
        else { return nil }
        // The scheme is exactly `http` here, so the authority starts after `http://`.
        let bytes = Array(text.utf8)
        let start = 7
        guard bytes.count >= start, text.utf8.prefix(start).elementsEqual("http://".utf8) else { return nil }
        let end = bytes[start...].firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") } ?? bytes.endIndex
        let authority = bytes[start..<end]
        let hostEnd: Int
        if authority.first == UInt8(ascii: "[") {
            guard let close = authority.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            hostEnd = close + 1
        } else {
            hostEnd = authority.firstIndex(of: UInt8(ascii: ":")) ?? end
        }
        return "http://" + String(decoding: bytes[start..<hostEnd], as: UTF8.self) + String(decoding: bytes[end...], as: UTF8.self)
    }
}
