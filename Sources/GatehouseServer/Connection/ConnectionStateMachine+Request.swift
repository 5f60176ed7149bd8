import GatehouseCore
import NIOCore
import NIOHTTP1

extension ConnectionStateMachine {
    /// What the route phase decided for a request head: the facts the connection needs, in no
    /// parser's types, so NIOHTTP1 today and a byte-level HTTP/1 parser later feed the same event.
    struct RequestHead {
        var method: HTTPMethod
        /// HTTP/1: whether the connection may serve another request after this one.
        var keepAlive: Bool
        /// Whether a body follows the head (a non-zero Content-Length, or chunked).
        var expectsBody: Bool
        /// `Expect: 100-continue`: answered before the body is read, when the request goes on.
        var expectsContinue = false
        /// The most body bytes the request may carry.
        var bodyLimit: Int
        /// For the access log: the target and the route, when they are known.
        var target: RequestTarget? = nil
        var route: CompiledRoute? = nil
        var decision: Decision
    }

    /// What happens to a request, as the admission and route phases decided it.
    enum Decision {
        /// Answered at once with an error. `closeConnection` closes the HTTP/1 connection even when
        /// no body follows (a request with a body always closes it: the body would be taken for
        /// the next request).
        case refuse(MatrixError, logError: String?, closeConnection: Bool)
        /// Answered at once with this response (a redirect).
        case respond(LocalResponse)
        /// Answered by a local service once the body has arrived.
        case local(LocalServiceName)
        /// Forwarded to an upstream.
        case proxy(ProxyPlan)
    }

    /// How a proxied request starts.
    struct ProxyPlan {
        /// The rule's `timeout=` or `timeouts.upstream`.
        var upstreamTimeout: TimeAmount
        /// How many members the pool has (a retry goes to another one, up to three attempts).
        var upstreamMembers: Int
        /// The head sent upstream announces no body (HTTP/2: a body that arrives anyway is refused).
        var upstreamHeadIsBodyless: Bool
        var start: Start

        enum Start {
            /// The request may go as soon as it is ready.
            case forward
            /// The edge token check is looking the token up (then ``ConnectionStateMachine/tokenChecked(forward:generation:)``).
            case awaitTokenCheck
            /// The token may be in the form-encoded body: the body is gathered whole (at most
            /// ``AccessToken/formBodyLimit``), then ``Action/checkFormBody(_:)``.
            case awaitFormBody
            /// Refused before any proxy state exists (the head is too large for the upstream).
            case refuseBeforeProxy(MatrixError, logError: String)
            /// Refused by the edge token check.
            case refuseToken(MatrixError, logError: String)
        }
    }

    /// Everything known about the current request; replaced whole when the next head arrives, so
    /// nothing of one request leaks into the next.
    struct Request {
        /// A head started this request (a parser error with no head makes one without).
        var hasHead = false
        var method: HTTPMethod?
        var target: RequestTarget?
        var route: CompiledRoute?
        var startedAt = NIODeadline.uptimeNanoseconds(0)
        var expectsBody = false
        var bodyLimit = 0
        /// The whole body must have arrived this long after the head.
        var bodyDeadline = TimeAmount.zero
        var lastBodyActivity = NIODeadline.uptimeNanoseconds(0)
        var bytesIn = 0
        var bytesOut = 0
        /// The response status (499 when the client left first); 0 until there is one.
        var status = 0
        var requestComplete = false
        var responseStarted = false
        var responseComplete = false
        var closeAfterResponse = false
        /// The access log's error label.
        var logError: String?

        // Proxying.
        var upstreamMembers = 1
        var upstreamTimeout = TimeAmount.seconds(60)
        var upstreamHeadIsBodyless = false
        /// The edge token check has let the request through.
        var tokenChecked = false
        /// The edge token check waits for the whole form-encoded body.
        var awaitsFormBody = false
        /// An upstream connection has been asked for.
        var upstreamRequested = false
        /// Body received before an upstream connection was attached.
        var pendingBody: [ByteBuffer] = []
        var pendingBodyBytes = 0
        /// `pendingBody` is one buffer of its own (``ConnectionStateMachine/compactPendingBody(allocator:)``).
        var pendingBodyOwned = false
        /// Whether any byte of the request was written to an upstream.
        var requestBytesSent = false
        /// Whether body bytes were written upstream (no retry after that).
        var bodyStreamed = false
        /// Body was written upstream since the last flush.
        var upstreamNeedsFlush = false
        var upstreamKeepAlive = true
        var upstreamReused = false
        var attempts = 0
        var lastMember: Int?
        /// The member as the access log names it.
        var memberDescription: String?
        var lastUpstreamActivity = NIODeadline.uptimeNanoseconds(0)

        init() {}

        /// Fills a fresh value from the head that starts the request.
        mutating func begin(_ head: borrowing RequestHead, startedAt: NIODeadline, closeAfterResponse: Bool) {
            hasHead = true
            method = head.method
            target = head.target
            route = head.route
            self.startedAt = startedAt
            lastBodyActivity = startedAt
            expectsBody = head.expectsBody
            bodyLimit = head.bodyLimit
            self.closeAfterResponse = closeAfterResponse
        }
    }
}
