import NIOCore
import NIOHPACK
import NIOHTTP2

/// Makes `:authority` the one authority of an HTTP/2 request before the stream's HTTP/1 codec runs.
///
/// The codec keeps a `host` field when there is one and drops `:authority`, so a request with
/// `:authority: a` and `host: b` would reach the upstream as `Host: b`. Here a `host` field that
/// repeats `:authority` is removed (the codec then writes `:authority` as `Host`), and one that
/// differs is kept beside `:authority` as a second `Host` value, which the route phase refuses with
/// 400, as it refuses two Host headers on HTTP/1.1 (``RequestAuthority``).
final class HTTP2AuthorityNormalizer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .headers(var headers) = unwrapInboundIn(data), let authority = headers.headers.first(name: ":authority") else {
            return context.fireChannelRead(data)
        }
        // Only the first HEADERS frame opens the request; what follows (body, trailers) passes untouched.
        defer { context.pipeline.syncOperations.removeHandler(context: context, promise: nil) }
        let hosts = headers.headers["host"]
        guard !hosts.isEmpty else { return context.fireChannelRead(data) }
        if hosts.allSatisfy({ RequestAuthority.equalsIgnoringASCIICase(Substring($0), Substring(authority)) }) {
            headers.headers.remove(name: "host")
        } else {
            headers.headers.add(name: "host", value: authority)
        }
        context.fireChannelRead(wrapInboundOut(.headers(headers)))
    }
}

@available(*, unavailable)
extension HTTP2AuthorityNormalizer: Sendable {}
