import GatehouseCore

/// Why forwarding a request failed, who caused it, and whether trying again is safe
/// (after Pingora's `ErrorSource` / `RetryType`).
struct ProxyError: Error, Equatable, CustomStringConvertible {
    enum Kind: Equatable {
        /// No connection could be made to any member (refused, unreachable, connect timeout).
        case connectFailed
        /// The upstream closed or reset the connection before a complete response.
        case upstreamClosed
        /// The upstream sent something that is not valid HTTP.
        case badUpstreamResponse
        /// No response (or no further response bytes) within the rule's timeout.
        case timeout
        /// The request could not be written as exactly one well-framed HTTP/1.1 request
        /// (``UpstreamEncodingError``); the edge checks should have refused it first.
        case unforwardable
    }

    var kind: Kind
    var upstream: String
    /// Whether any byte of the request was written to the upstream.
    var requestBytesSent: Bool
    /// Whether the failure happened on a pooled connection that was being reused (a stale keep-alive).
    var onReusedConnection: Bool

    var description: String {
        switch kind {
        case .connectFailed: "upstream '\(upstream)' is unavailable"
        case .upstreamClosed: "upstream '\(upstream)' closed the connection"
        case .badUpstreamResponse: "upstream '\(upstream)' sent an invalid response"
        case .timeout: "upstream '\(upstream)' did not answer in time"
        case .unforwardable: "the request cannot be forwarded to upstream '\(upstream)' as one HTTP/1.1 request"
        }
    }

    /// Short label for logs and metrics.
    var shortDescription: String {
        switch kind {
        case .connectFailed: "connect_failed"
        case .upstreamClosed: "upstream_closed"
        case .badUpstreamResponse: "bad_upstream_response"
        case .timeout: "timeout"
        case .unforwardable: "unforwardable_request"
        }
    }

    /// A retry is allowed only for idempotent methods, and only when the upstream cannot have acted on
    /// the request: nothing was sent, or a reused keep-alive connection turned out to be dead.
    func allowsRetry(idempotent: Bool, bodyStreamed: Bool) -> Bool {
        guard idempotent, !bodyStreamed else { return false }
        switch kind {
        case .connectFailed: return true
        case .upstreamClosed: return !requestBytesSent || onReusedConnection
        case .badUpstreamResponse, .timeout, .unforwardable: return false
        }
    }

    /// The Matrix error the client receives: 504 for timeouts, 502 for everything else.
    var matrixError: MatrixError {
        switch kind {
        case .timeout:
            MatrixError(status: 504, code: .unknown, message: "The homeserver did not answer in time")
        case .unforwardable:
            MatrixError(status: 400, code: .unknown, message: "The request cannot be forwarded to the homeserver")
        case .connectFailed, .upstreamClosed, .badUpstreamResponse:
            MatrixError(status: 502, code: .unknown, message: "The homeserver is unreachable right now; try again shortly")
        }
    }
}
