/// Why a call to Synapse's `/_synapse/mas/*` API failed, whether trying again later can help, and
/// what an admin should check.
///
/// Equality compares the kind, the HTTP status and the Matrix `errcode`; the free text (the
/// transport error, Synapse's `error` message, the body snippet) is left out so tests and callers
/// can match on `.unreachable` or `.notFound` without repeating it.
public struct SynapseError: Error, Equatable, Sendable, CustomStringConvertible {
    private enum Code: Equatable, Sendable {
        case unreachable
        case unauthorized(status: Int)
        case notFound
        case matrix(status: Int, errcode: String)
        case unexpected(status: Int)
    }

    private let code: Code
    /// Synapse's `error` text, the start of an unexpected body, or the transport error.
    public let message: String
    /// The API path that was called (`_synapse/mas/provision_user`), when known.
    public let path: String?

    private init(_ code: Code, message: String, path: String? = nil) {
        self.code = code
        self.message = message
        self.path = path
    }

    /// No HTTP answer: connection refused or closed, DNS failure, connect timeout or the per-request
    /// deadline passed. Retryable.
    /// - Parameter detail: the transport error, for the log.
    public static func unreachable(_ detail: String = "") -> SynapseError {
        SynapseError(.unreachable, message: detail)
    }

    /// 401 or 403: Synapse does not accept Gatehouse's shared secret.
    /// - Parameters:
    ///   - status: 401 (no token, `M_MISSING_TOKEN`) or 403 ("This endpoint must only be called by MAS").
    ///   - message: Synapse's `error` text.
    public static func unauthorized(status: Int = 403, message: String = "") -> SynapseError {
        SynapseError(.unauthorized(status: status), message: message)
    }

    /// 404 `M_NOT_FOUND`: the user (or, for `update_device_display_name`, the device) does not exist.
    /// - Parameter message: Synapse's `error` text.
    public static func notFound(_ message: String = "") -> SynapseError {
        SynapseError(.notFound, message: message)
    }

    /// Any other Matrix error answer (`{"errcode", "error"}`).
    /// - Parameters:
    ///   - status: the HTTP status.
    ///   - errcode: the Matrix error code, e.g. `M_INVALID_USERNAME`.
    ///   - error: Synapse's `error` text.
    public static func matrix(status: Int, errcode: String, error: String = "") -> SynapseError {
        SynapseError(.matrix(status: status, errcode: errcode), message: error)
    }

    /// An answer that is not what the API promises: a non-Matrix error body (an HTML 404 from a
    /// Synapse without MAS mode, a reverse proxy's 502 page) or a success body that does not parse.
    /// - Parameters:
    ///   - status: the HTTP status.
    ///   - body: the start of the body.
    public static func unexpected(status: Int, body: String = "") -> SynapseError {
        SynapseError(.unexpected(status: status), message: body)
    }

    /// The same error, remembering which API path was called.
    func at(path: String) -> SynapseError {
        SynapseError(code, message: message, path: path)
    }

    /// Whether trying again later may succeed without anyone changing anything: no answer at all,
    /// a 5xx, or 429 rate limiting.
    public var isRetryable: Bool {
        switch code {
        case .unreachable: true
        case .unauthorized, .notFound: false
        case .matrix(let status, _), .unexpected(let status): status >= 500 || status == 429
        }
    }

    /// No HTTP answer at all (see ``unreachable(_:)``).
    public var isUnreachable: Bool { code == .unreachable }
    /// Synapse refused the shared secret (see ``unauthorized(status:message:)``).
    public var isUnauthorized: Bool { if case .unauthorized = code { true } else { false } }
    /// 404 `M_NOT_FOUND` (see ``notFound(_:)``).
    public var isNotFound: Bool { code == .notFound }

    /// The HTTP status Synapse answered with; `nil` when there was no answer.
    public var status: Int? {
        switch code {
        case .unreachable: nil
        case .unauthorized(let status): status
        case .notFound: 404
        case .matrix(let status, _), .unexpected(let status): status
        }
    }

    /// The Matrix `errcode`, when Synapse answered with a Matrix error.
    public var errcode: String? {
        switch code {
        case .matrix(_, let errcode): errcode
        case .notFound: "M_NOT_FOUND"
        case .unreachable, .unauthorized, .unexpected: nil
        }
    }

    /// A label without variable parts, for metrics and log keys.
    public var shortDescription: String {
        switch code {
        case .unreachable: "unreachable"
        case .unauthorized: "unauthorized"
        case .notFound: "not_found"
        case .matrix: "matrix_error"
        case .unexpected: "unexpected_response"
        }
    }

    /// What went wrong and what an admin should check. Never contains the shared secret.
    public var description: String {
        let call = path.map { " (\($0))" } ?? ""
        // ": message." without doubling the message's own full stop.
        let detail = message.isEmpty ? "." : ": \(message)" + (message.last.map { ".!?…".contains($0) } == true ? "" : ".")
        switch code {
        case .unreachable:
            return "Synapse is unreachable\(call)\(detail) Check that Synapse is running and that matrix.endpoint points at its "
                + "client listener; the call will be retried."
        case .unauthorized(let status):
            return "Synapse rejected Gatehouse's shared secret with HTTP \(status)\(call)\(detail) Check that matrix.secret "
                + "(or matrix.secret_path) in Gatehouse's configuration equals matrix_authentication_service.secret in "
                + "homeserver.yaml, and that matrix_authentication_service.enabled is true."
        case .notFound:
            return "Synapse answered 404 M_NOT_FOUND\(call)\(detail) The user or device does not exist on the homeserver."
        case .matrix(let status, let errcode):
            let hint = status >= 500 ? " Synapse had an internal error; see its log. The call will be retried." : ""
            return "Synapse refused the request with HTTP \(status) \(errcode)\(call)\(detail)\(hint)"
        case .unexpected(let status):
            let hint: String
            switch status {
            case 404:
                hint = " Synapse does not serve /_synapse/mas: check matrix_authentication_service.enabled in homeserver.yaml, "
                    + "that matrix.endpoint points at Synapse's client listener, and that any reverse proxy forwards /_synapse/mas."
            case 502, 503, 504:
                hint = " A proxy in front of Synapse could not reach it; the call will be retried."
            case 200..<300:
                hint = " The answer could not be read; is matrix.endpoint really Synapse?"
            default:
                hint = " Check that matrix.endpoint points at Synapse."
            }
            return "Synapse answered HTTP \(status) with an unexpected body\(call)\(detail)\(hint)"
        }
    }

    public static func == (lhs: SynapseError, rhs: SynapseError) -> Bool { lhs.code == rhs.code }
}

extension SynapseError {
    /// Classifies a non-2xx answer: the single place where HTTP statuses and Matrix `errcode`s map to
    /// an error kind.
    /// - Parameters:
    ///   - status: the HTTP status.
    ///   - body: the body, already read.
    static func fromResponse(status: Int, body: [UInt8]) -> SynapseError {
        let matrixError = try? JSONCoding.decode(MatrixErrorBody.self, from: body)
        let text = matrixError?.error ?? ""
        if status == 401 || status == 403 {
            return .unauthorized(status: status, message: matrixError.map { "\($0.errcode): \(text)" } ?? snippet(body))
        }
        guard let matrixError else {
            return .unexpected(status: status, body: snippet(body))
        }
        if status == 404 && matrixError.errcode == "M_NOT_FOUND" {
            return .notFound(text)
        }
        return .matrix(status: status, errcode: matrixError.errcode, error: text)
    }

    /// The first 200 characters of a body, on one line.
    static func snippet(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(200), as: UTF8.self)
        let flattened = text.map { $0.isNewline ? " " : $0 }
        return String(flattened) + (body.count > 200 ? "…" : "")
    }
}

/// `{"errcode": "M_…", "error": "…"}`.
struct MatrixErrorBody: Decodable {
    var errcode: String
    var error: String?
}
