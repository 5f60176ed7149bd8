import GatehouseCore

/// Why an HTTP/1 message head (or chunked body) was refused. A request refused here is answered with
/// ``status`` and its connection closed: nothing of it is forwarded. For upstream responses every
/// refusal is a bad upstream response (502).
///
/// Every case is a refusal Gatehouse already made before the byte-level parser existed (by llhttp,
/// by the host rules, `CanonicalPath` or the handler's framing and method checks); the parser
/// only makes them earlier and on bytes. The few places where it is stricter than llhttp are marked.
enum HTTP1Refusal: Error, Equatable, Sendable {
    /// A line ended by LF without CR, or a CR not followed by LF (RFC 9112 §2.2: no bare CR or LF).
    case bareLineBreak
    /// The request or status line is not `token SP target SP version` / `version SP status SP reason`.
    case malformedStartLine
    /// A well-formed method llhttp does not know (it refuses every method outside its list).
    case unknownMethod
    /// `TRACE` (echoes credentials) and `CONNECT` (a tunnel): not part of the Matrix APIs.
    case methodNotAllowed
    /// A target byte outside visible ASCII.
    case invalidTarget
    /// Neither origin-form (`/…`) nor `http://`/`https://` absolute-form with a path; asterisk-form
    /// included (``CanonicalPath``'s `notOriginForm`).
    case targetForm
    /// A `#` in the target (``CanonicalPath``'s `fragment`).
    case fragment
    /// Longer than `limits.max_request_target_bytes`.
    case targetTooLong
    /// `HTTP/x.y` other than 1.0 and 1.1.
    case unsupportedVersion
    /// A line beginning with whitespace: obsolete line folding (RFC 9112 §5.2).
    case obsoleteLineFolding
    /// A header line without a colon, an empty or non-token name, or whitespace before the colon.
    case invalidFieldName
    /// NUL, CR, DEL or another control byte in a value.
    case invalidFieldValue
    /// The head is larger than `limits.max_header_bytes`.
    case headTooLarge
    /// More than one `Content-Length`, even with equal values.
    case duplicateContentLength
    /// A `Content-Length` that is not `1*DIGIT` fitting in 63 bits.
    case invalidContentLength
    /// `Content-Length` and `Transfer-Encoding` together (RFC 9112 §6.1).
    case contentLengthWithTransferEncoding
    /// A `Transfer-Encoding` other than exactly one `chunked` (other codings would be lost when the
    /// body is re-framed), or one in an HTTP/1.0 message (RFC 9112 §6.1; stricter than llhttp).
    case unsupportedTransferEncoding
    /// No `Host` in an HTTP/1.1 request, several, an invalid value, or one that disagrees with an
    /// absolute-form target's authority.
    case invalidHost
    /// A chunk-size line that is not `1*HEXDIG *(";" ext)` CRLF, or a size too large.
    case invalidChunkSize
    /// A chunk's data not followed by CRLF.
    case invalidChunkEnd
    /// Trailer lines malformed or larger than the limit.
    case invalidTrailers
    /// A status code outside 100–599, or 101 (Gatehouse never asks an upstream to switch protocols).
    case invalidStatus

    /// The status a client gets for a refused request.
    var status: Int {
        switch self {
        case .headTooLarge: 431
        case .targetTooLong: 414
        case .methodNotAllowed: 405
        case .unknownMethod: 501
        case .unsupportedVersion: 505
        default: 400
        }
    }

    /// The answer to a refused request: ``status``, ``message`` and, as Synapse uses it for methods it
    /// does not serve, `M_UNRECOGNIZED` for a refused method.
    var matrixError: MatrixError {
        let code: MatrixErrorCode =
            switch self {
            case .methodNotAllowed, .unknownMethod: .unrecognized
            default: .unknown
            }
        return MatrixError(status: status, code: code, message: message)
    }

    /// A short, stable name for logs and metrics.
    var shortDescription: String {
        switch self {
        case .bareLineBreak: "bare_line_break"
        case .malformedStartLine: "malformed_start_line"
        case .unknownMethod: "unknown_method"
        case .methodNotAllowed: "method_not_allowed"
        case .invalidTarget: "invalid_target"
        case .targetForm: "target_form"
        case .fragment: "fragment"
        case .targetTooLong: "target_too_long"
        case .unsupportedVersion: "unsupported_version"
        case .obsoleteLineFolding: "obs_fold"
        case .invalidFieldName: "invalid_field_name"
        case .invalidFieldValue: "invalid_field_value"
        case .headTooLarge: "head_too_large"
        case .duplicateContentLength: "duplicate_content_length"
        case .invalidContentLength: "invalid_content_length"
        case .contentLengthWithTransferEncoding: "content_length_with_transfer_encoding"
        case .unsupportedTransferEncoding: "unsupported_transfer_encoding"
        case .invalidHost: "invalid_host"
        case .invalidChunkSize: "invalid_chunk_size"
        case .invalidChunkEnd: "invalid_chunk_end"
        case .invalidTrailers: "invalid_trailers"
        case .invalidStatus: "invalid_status"
        }
    }

    /// A sentence for the client.
    var message: String {
        switch self {
        case .headTooLarge: "Request header fields too large"
        case .targetTooLong: "Request target too long"
        case .methodNotAllowed: "This request method is not allowed"
        case .unknownMethod: "Unknown request method"
        case .unsupportedVersion: "Only HTTP/1.0 and HTTP/1.1 are supported"
        case .targetForm: RequestTargetError.notOriginForm.message
        case .fragment: RequestTargetError.fragment.message
        case .invalidHost: "A request must name exactly one valid host, matching the target's authority"
        case .duplicateContentLength, .invalidContentLength, .contentLengthWithTransferEncoding, .unsupportedTransferEncoding:
            "Invalid Content-Length or Transfer-Encoding"
        default: "Malformed HTTP request"
        }
    }
}
