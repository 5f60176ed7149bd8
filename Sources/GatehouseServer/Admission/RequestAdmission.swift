import GatehouseCore
import NIOCore
import NIOHTTP1

/// The admission phase: what the target and the route decide about a parsed head, before any I/O:
/// what the path means (``CanonicalPath``), the route, and its body limit. The parser has already
/// taken the decisions on the head alone (framing, `TRACE`/`CONNECT`, the host, the target's form and
/// length) for HTTP/1.1 and HTTP/2 alike (``HTTP1RequestHeadParser``, ``HTTP2RequestHead``). A pure
/// function of the head, the limits and the compiled route table, so every refusal is unit-tested
/// without a socket.
enum RequestAdmission {
    /// A head that passed every check, with what was decided about it.
    struct Admitted {
        var target: RequestTarget
        var route: CompiledRoute
        /// Whether a body follows the head (a non-zero Content-Length, or chunked).
        var expectsBody: Bool
        /// The most body bytes the request may carry: the rule's `max_body=`, `limits.max_body_bytes`,
        /// and for a local service no more than it ever reads.
        var bodyLimit: Int
    }

    /// A head that is answered with an error and goes no further.
    struct Refusal {
        var error: MatrixError
        /// The access log's error label; `nil` for refusals whose status says it all.
        var logError: String?
        /// Whether the HTTP/1 connection must close after the answer, body or not (a refusal of a
        /// request with a body closes anyway: its unread body would be taken for the next request).
        var closesConnection: Bool
        var expectsBody: Bool
        /// The bound on body bytes drained after the answer.
        var bodyLimit: Int
        /// What was known when the head was refused, for the access log.
        var target: RequestTarget?
        var route: CompiledRoute?
        /// The rule whose pattern could not be evaluated, and why (logged as an error by the caller).
        var evaluationFailure: (route: CompiledRoute, error: PCRE2Regex.MatchError)?
    }

    enum Decision {
        case admitted(Admitted)
        case refused(Refusal)
    }

    /// Decides whether `head` is admitted, and on which route.
    /// - Parameters:
    ///   - head: the parsed head.
    ///   - bytes: the buffer it was parsed from.
    ///   - limits: `limits.*` of the configuration.
    ///   - routes: the compiled route table.
    ///   - scratch: this event loop's match scratch space.
    static func decide(
        _ head: HTTP1RequestHead, in bytes: ByteBuffer, limits: LimitsConfiguration, routes: RouteTable, scratch: MatchScratch
    ) -> Decision {
        var declaredLength: Int?
        if case .contentLength(let length) = head.framing { declaredLength = length }
        return admit(
            origin: head.string(head.originRange, in: bytes), method: head.method.nioMethod(raw: head.methodString(in: bytes)),
            declaredLength: declaredLength, expectsBody: head.expectsBody, limits: limits, routes: routes, scratch: scratch)
    }

    /// The checks of the target and the route (the target's form, bytes and length were checked by
    /// the parser).
    private static func admit(
        origin: String, method: HTTPMethod, declaredLength: Int?, expectsBody: Bool, limits: LimitsConfiguration,
        routes: RouteTable, scratch: MatchScratch
    ) -> Decision {
        func refuse(
            _ error: MatrixError, _ logError: String?, close: Bool, bodyLimit: Int = limits.maxBodyBytes, target: RequestTarget? = nil,
            route: CompiledRoute? = nil, failure: (route: CompiledRoute, error: PCRE2Regex.MatchError)? = nil
        ) -> Decision {
            .refused(Refusal(
                error: error, logError: logError, closesConnection: close, expectsBody: expectsBody, bodyLimit: bodyLimit, target: target,
                route: route, evaluationFailure: failure))
        }
        let target: RequestTarget
        switch CanonicalPath.parse(checkedOrigin: origin) {
        case .success(let value): target = value
        case .failure(let error):
            return refuse(MatrixError(status: 400, code: .unknown, message: error.message), "bad_target", close: expectsBody)
        }
        let route: CompiledRoute
        switch routes.match(method: method.rawValue, path: target.canonicalPath, scratch: scratch) {
        case .matched(let matched):
            route = matched
        case .noMatch:
            return refuse(MatrixError(status: 404, code: .unrecognized, message: "Unrecognized request"), nil, close: expectsBody, target: target)
        case .failed(let failing, let error):
            // Never "no match": a later rule must not get a request an earlier rule could not judge.
            return refuse(
                MatrixError(status: 500, code: .unknown, message: "Internal error"), "route_\(error.shortDescription)@\(failing.rule.source)",
                close: expectsBody, target: target, failure: (failing, error))
        }
        var bodyLimit = route.rule.options.maxBodyBytes ?? limits.maxBodyBytes
        if case .local(let service) = route.rule.action {
            // A local service reads what it needs and no more, whatever the rule allows.
            bodyLimit = min(bodyLimit, service.maxBodyBytes)
        }
        if let declaredLength, declaredLength > bodyLimit {
            return refuse(
                MatrixError(status: 413, code: .tooLarge, message: "Request body too large (limit \(bodyLimit) bytes)"), "body_too_large",
                close: expectsBody, bodyLimit: bodyLimit, target: target, route: route)
        }
        return .admitted(Admitted(target: target, route: route, expectsBody: expectsBody, bodyLimit: bodyLimit))
    }
}
