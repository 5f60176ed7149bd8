import GatehouseCore
import NIOCore
import NIOHTTP1

/// What a page handler answers: a rendered page or a 303 redirect. The responder adds the security
/// headers and the session cookie.
struct PageResponse: Sendable {
    var status: HTTPResponseStatus
    var html: String?
    var location: String?
    /// Sources added to the CSP's `form-action` (the client's redirect target, so the browser
    /// follows the 303 that answers a consent form, and form_post can submit there).
    var formActionSources: [String] = []
    /// Adds `script-src 'self'` (only the form_post page runs a script).
    var allowsScript = false
    var extraHeaders: [(String, String)] = []

    static func page(_ status: HTTPResponseStatus, _ html: String) -> PageResponse {
        PageResponse(status: status, html: html)
    }

    /// `303 See Other`: every form POST is answered so (RFC 9700 §4.12: never 307 after credentials).
    static func redirect(_ location: String) -> PageResponse {
        PageResponse(status: .seeOther, html: nil, location: location)
    }

    /// The Content-Security-Policy: nothing but the pages' own stylesheet, images, and forms that
    /// post to Gatehouse (and, where needed, the client's redirect target); never framed.
    var contentSecurityPolicy: String {
        var formAction = "'self'"
        for source in formActionSources where !formAction.contains(source) { formAction += " " + source }
        var policy = "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action \(formAction); "
            + "frame-ancestors 'none'; base-uri 'none'"
        if allowsScript { policy += "; script-src 'self'" }
        return policy
    }

    /// The headers every page answer carries.
    func localResponse(setCookie: String?) -> LocalResponse {
        var headers: HTTPHeaders = [
            "Content-Security-Policy": contentSecurityPolicy,
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        ]
        if let location { headers.add(name: "Location", value: location) }
        if let setCookie { headers.add(name: "Set-Cookie", value: setCookie) }
        for (name, value) in extraHeaders { headers.add(name: name, value: value) }
        var body = ByteBuffer()
        if let html {
            headers.add(name: "Content-Type", value: "text/html; charset=utf-8")
            body = ByteBuffer(string: html)
        }
        return LocalResponse(status: status, headers: headers, body: body)
    }

    /// The CSP source that lets a form's redirect reach `uri`: its origin for http(s), its scheme
    /// for private-use schemes (`com.example.app:`), nothing for what cannot be expressed.
    static func cspSource(for uri: String) -> String? {
        guard case .success(let parsed) = URIReference.parse(uri) else { return nil }
        if parsed.scheme == "http" || parsed.scheme == "https" {
            guard parsed.hasAuthority, !parsed.host.hasPrefix("[") else { return parsed.scheme + ":" }
            return "\(parsed.scheme)://\(parsed.host)" + (parsed.port.map { ":\($0)" } ?? "")
        }
        return parsed.scheme + ":"
    }
}
