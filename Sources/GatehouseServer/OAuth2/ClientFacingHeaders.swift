import NIOHTTP1

/// Headers and checks shared by the endpoints clients call with a form body (token, revocation,
/// device authorization, userinfo).
///
/// Browser clients (Element Web in OAuth mode) call them from their own origin, so every answer
/// allows any origin and `OPTIONS` answers the CORS preflight, as MAS's `oauth` resource does; no
/// cookies are involved, so `*` exposes nothing. Answers that carry tokens must not be stored
/// anywhere (RFC 6749 §5.1: `Cache-Control: no-store`, `Pragma: no-cache`); every answer carries
/// both, errors included.
enum ClientFacingHeaders {
    /// Adds the cache and CORS headers.
    static func finish(_ response: LocalResponse) -> LocalResponse {
        var response = response
        response.headers.replaceOrAdd(name: "Cache-Control", value: "no-store")
        response.headers.replaceOrAdd(name: "Pragma", value: "no-cache")
        response.headers.replaceOrAdd(name: "Access-Control-Allow-Origin", value: "*")
        return response
    }

    /// The CORS preflight answer.
    /// - Parameter methods: the methods the endpoint takes.
    static func preflight(methods: String) -> LocalResponse {
        finish(LocalResponse(status: .noContent, headers: [
            "Access-Control-Allow-Methods": methods + ", OPTIONS",
            "Access-Control-Allow-Headers": "Authorization, Accept, Accept-Language, Content-Language, Content-Type, X-Requested-With",
            "Access-Control-Max-Age": "3600",
        ]))
    }

    /// The refusal of a request that is not `POST` with a form (or empty) body, or `nil` when it is
    /// one (answers the preflight too).
    static func refusal(of request: LocalRequest) -> LocalResponse? {
        if request.method == .OPTIONS { return preflight(methods: "POST") }
        guard request.method == .POST else {
            var response = OAuth2Error(status: .methodNotAllowed, code: .invalidRequest, description: "Use POST").response
            response.headers.add(name: "Allow", value: "POST, OPTIONS")
            return finish(response)
        }
        // An empty body is an empty form, whatever its (usually absent) media type: credentials may
        // all be in the Authorization header.
        guard isForm(request) || request.body.readableBytes == 0 else {
            return finish(OAuth2Error(
                status: .badRequest, code: .invalidRequest,
                description: "Send the parameters as a form with Content-Type: application/x-www-form-urlencoded").response)
        }
        return nil
    }

    /// Whether the body is declared `application/x-www-form-urlencoded`.
    static func isForm(_ request: LocalRequest) -> Bool {
        let mediaType = request.headers.first(name: "content-type")?.split(separator: ";").first?
            .trimmingCharacters(in: .whitespaces).lowercased()
        return mediaType == "application/x-www-form-urlencoded"
    }
}
