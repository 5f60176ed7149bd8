import GatehouseCore
import NIOCore
import NIOHTTP1

/// The admission phase: what a request head alone decides, before any I/O. Host and authority,
/// target length and syntax, body framing, the route and its body limit, and the methods that are
/// never allowed. A pure function of the head, the limits and the compiled route table, so every
/// refusal is unit-tested without a socket, and a byte-level HTTP/1 parser can produce the same
/// decision from its own offsets later.
enum RequestAdmission {
    /// A head that passed every check, with what was decided about it.
    struct Admitted {
        var target: RequestTarget
        var route: CompiledRoute
        var framing: HeaderRewriter.BodyFraming
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
    ///   - head: the request head as the HTTP/1 parser or the HTTP/2 codec produced it.
    ///   - isHTTP2: whether it came over HTTP/2 (field syntax and framing rules differ).
    ///   - limits: `limits.*` of the configuration.
    ///   - routes: the compiled route table.
    ///   - scratch: this event loop's match scratch space.
    static func decide(
        _ head: HTTPRequestHead, isHTTP2: Bool, limits: LimitsConfiguration, routes: RouteTable, scratch: MatchScratch
    ) -> Decision {
        guard let framing = bodyFraming(of: head, isHTTP2: isHTTP2) else {
            return .refused(Refusal(
                error: MatrixError(status: 400, code: .unknown, message: "Invalid Content-Length or Transfer-Encoding"), logError: nil,
                closesConnection: true, expectsBody: false, bodyLimit: limits.maxBodyBytes))
        }
        let expectsBody = framing != .absent && framing != .contentLength(0)
        // Built only when refusing: the admitted path pays for none of it.
        func refuse(
            _ error: MatrixError, _ logError: String?, close: Bool, bodyLimit: Int = limits.maxBodyBytes, target: RequestTarget? = nil,
            route: CompiledRoute? = nil, failure: (route: CompiledRoute, error: PCRE2Regex.MatchError)? = nil
        ) -> Decision {
            .refused(Refusal(
                error: error, logError: logError, closesConnection: close, expectsBody: expectsBody, bodyLimit: bodyLimit, target: target,
                route: route, evaluationFailure: failure))
        }

        // Before routing: TRACE would echo credentials back, and CONNECT would turn the connection into
        // a tunnel; neither is part of the Matrix APIs. Both close the connection, body or not.
        if head.method == .TRACE || head.method == .CONNECT {
            return refuse(
                MatrixError(status: 405, code: .unrecognized, message: "\(head.method.rawValue) requests are not allowed"), "method_not_allowed",
                close: true)
        }
        // HTTP/1's parser refuses control bytes in header lines; HTTP/2 framing carries them, and
        // they must never reach an HTTP/1 upstream (nor fail there as a misleading 502).
        if isHTTP2, !HTTPFieldSyntax.headersAreValid(head.headers) {
            return refuse(MatrixError(status: 400, code: .unknown, message: "A header contains a control character"), "bad_header", close: true)
        }
        if let problem = RequestAuthority.problem(in: head, isHTTP2: isHTTP2) {
            return refuse(MatrixError(status: 400, code: .unknown, message: problem), "bad_host", close: true)
        }
        return admit(
            uri: head.uri, method: head.method, framing: framing, expectsBody: expectsBody, limits: limits, routes: routes, scratch: scratch)
    }

    /// ``decide(_:isHTTP2:limits:routes:scratch:)`` for a head parsed as bytes by
    /// ``HTTP1RequestHeadParser``, which has already taken the decisions on the head alone (framing,
    /// `TRACE`/`CONNECT`, the host, the target's form and length) and refused what they refuse.
    /// - Parameters:
    ///   - head: the parsed head.
    ///   - bytes: the buffer it was parsed from.
    ///   - limits: `limits.*` of the configuration.
    ///   - routes: the compiled route table.
    ///   - scratch: this event loop's match scratch space.
    static func decide(
        _ head: HTTP1RequestHead, in bytes: ByteBuffer, limits: LimitsConfiguration, routes: RouteTable, scratch: MatchScratch
    ) -> Decision {
        let framing: HeaderRewriter.BodyFraming =
            switch head.framing {
            case .none, .untilClose: .absent
            case .contentLength(let length): .contentLength(length)
            case .chunked: .chunked
            }
        return admit(
            uri: head.string(head.targetRange, in: bytes), method: head.method.nioMethod(raw: head.methodString(in: bytes)),
            framing: framing, expectsBody: head.expectsBody, limits: limits, routes: routes, scratch: scratch)
    }

    /// The checks of the target and the route, shared by both kinds of head.
    private static func admit(
        uri: String, method: HTTPMethod, framing: HeaderRewriter.BodyFraming, expectsBody: Bool, limits: LimitsConfiguration,
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
        if uri.utf8.count > limits.maxRequestTargetBytes {
            return refuse(MatrixError(status: 414, code: .unknown, message: "Request target too long"), nil, close: true)
        }
        let target: RequestTarget
        switch CanonicalPath.parse(uri) {
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
        if case .contentLength(let length) = framing, length > bodyLimit {
            return refuse(
                MatrixError(status: 413, code: .tooLarge, message: "Request body too large (limit \(bodyLimit) bytes)"), "body_too_large",
                close: expectsBody, bodyLimit: bodyLimit, target: target, route: route)
        }
        return .admitted(Admitted(target: target, route: route, framing: framing, expectsBody: expectsBody, bodyLimit: bodyLimit))
    }

    /// How the client framed its body; `nil` when the framing is invalid.
    static func bodyFraming(of head: HTTPRequestHead, isHTTP2: Bool) -> HeaderRewriter.BodyFraming? {
        let lengths = head.headers["content-length"]
        if let text = lengths.first {
            // The HTTP/1 parser already refuses duplicates and CL+TE; HTTP/2 needs the check here.
            guard lengths.count == 1, !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let length = Int(text) else {
                return nil
            }
            return .contentLength(length)
        }
        if !isHTTP2 {
            let codings = head.headers["transfer-encoding"]
            guard !codings.isEmpty else { return .absent }
            // Only plain chunked is accepted: other codings would be silently lost re-framing the body.
            return codings.count == 1 && codings[0].lowercased() == "chunked" ? .chunked : nil
        }
        // HTTP/2 without Content-Length: a body may follow for methods that carry one.
        return usuallyCarriesBody(head.method) ? .chunked : .absent
    }

    /// POST, PUT and PATCH: the methods whose requests carry a body. A switch, not an array literal's
    /// `contains`, which would build an array on every request.
    static func usuallyCarriesBody(_ method: HTTPMethod) -> Bool {
        switch method {
        case .POST, .PUT, .PATCH: true
        default: false
        }
    }

    /// Whether the client waits for `100 Continue` before sending its body (RFC 9110 §10.1.1).
    static func expectsContinue(_ head: HTTPRequestHead) -> Bool {
        head.headers["expect"].contains(where: { $0.lowercased() == "100-continue" })
    }
}
