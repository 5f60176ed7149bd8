/// Matrix error codes Gatehouse sends (Client-Server API, "Standard error response").
public enum MatrixErrorCode: String, Sendable {
    /// Spec §"Common error codes": forbidden access.
    case forbidden = "M_FORBIDDEN"
    /// Spec: the server did not understand the request (unknown endpoint).
    case unrecognized = "M_UNRECOGNIZED"
    /// Spec: resource not found.
    case notFound = "M_NOT_FOUND"
    /// Spec: request body too large.
    case tooLarge = "M_TOO_LARGE"
    /// Spec: too many requests.
    case limitExceeded = "M_LIMIT_EXCEEDED"
    /// Spec: body is not JSON.
    case notJSON = "M_NOT_JSON"
    /// Spec: JSON is malformed or of the wrong shape.
    case badJSON = "M_BAD_JSON"
    /// Spec: no access token.
    case missingToken = "M_MISSING_TOKEN"
    /// Spec: unknown or revoked access token.
    case unknownToken = "M_UNKNOWN_TOKEN"
    /// Spec: the account is locked.
    case userLocked = "M_USER_LOCKED"
    /// Spec: a parameter has a bad value.
    case invalidParam = "M_INVALID_PARAM"
    /// Spec (v1.17, MSC4190): appservices may not use the legacy login API here.
    case appserviceLoginUnsupported = "M_APPSERVICE_LOGIN_UNSUPPORTED"
    /// Spec: anything else.
    case unknown = "M_UNKNOWN"
}

/// A Matrix `{"errcode", "error"}` body with its HTTP status.
public struct MatrixError: Error, Sendable, Equatable {
    public var status: Int
    public var code: MatrixErrorCode
    public var message: String
    /// `retry_after_ms`, for `M_LIMIT_EXCEEDED`.
    public var retryAfterMilliseconds: Int?
    /// `soft_logout`, for `M_UNKNOWN_TOKEN`.
    public var softLogout: Bool?

    /// - Parameters:
    ///   - status: the HTTP status.
    ///   - code: the Matrix errcode.
    ///   - message: a human-readable sentence.
    ///   - retryAfterMilliseconds: for rate limiting.
    public init(status: Int, code: MatrixErrorCode, message: String, retryAfterMilliseconds: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.retryAfterMilliseconds = retryAfterMilliseconds
    }

    /// The JSON body, built without an encoder: it is small and sent on hot error paths.
    public var json: String {
        var body = "{\"errcode\":\"\(code.rawValue)\",\"error\":\(JSONText.quote(message))"
        if let retryAfterMilliseconds { body += ",\"retry_after_ms\":\(retryAfterMilliseconds)" }
        if let softLogout { body += ",\"soft_logout\":\(softLogout)" }
        return body + "}"
    }

    /// A token that is revoked, expired or unknown, worded as Synapse words it.
    public static let inactiveToken: MatrixError = {
        var error = MatrixError(status: 401, code: .unknownToken, message: "Token is not active")
        error.softLogout = false
        return error
    }()

    /// The error a `deny STATUS` rule answers with.
    /// - Parameter status: the rule's status.
    public static func denied(status: Int) -> MatrixError {
        switch status {
        case 404: MatrixError(status: 404, code: .unrecognized, message: "Unrecognized request")
        case 403: MatrixError(status: 403, code: .forbidden, message: "This endpoint is not available through this server")
        case 413: MatrixError(status: 413, code: .tooLarge, message: "Request body too large")
        case 429: MatrixError(status: 429, code: .limitExceeded, message: "Too many requests")
        default: MatrixError(status: status, code: .unknown, message: "Request refused")
        }
    }
}

/// Minimal JSON string quoting.
public enum JSONText {
    /// `text` as a JSON string literal, quotes included.
    /// - Parameter text: any string.
    public static func quote(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let s where s.value < 0x20:
                let hex = String(s.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
