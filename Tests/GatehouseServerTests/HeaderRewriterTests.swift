import GatehouseCore
import NIOHTTP1
import Testing

@testable import GatehouseServer

struct HeaderRewriterTests {
    @Test func upstreamRequestHeadIsSanitised() {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "matrix.example.org")
        headers.add(name: "Authorization", value: "Bearer t")
        headers.add(name: "X-Forwarded-For", value: "6.6.6.6, 7.7.7.7")
        headers.add(name: "x-forwarded-host", value: "evil")
        headers.add(name: "Connection", value: "Upgrade, X-Hop")
        headers.add(name: "Upgrade", value: "websocket")
        headers.add(name: "X-Hop", value: "1")
        headers.add(name: "Expect", value: "100-continue")
        headers.add(name: "Content-Length", value: "999")
        headers.add(name: "Transfer-Encoding", value: "chunked")
        let head = HTTPRequestHead(version: .http2, method: .POST, uri: "/ignored", headers: headers)
        let upstream = HeaderRewriter.upstreamRequestHead(
            from: head, target: "/_matrix/a%2Fb", peerAddress: "192.0.2.1", scheme: "https", framing: .contentLength(12))
        #expect(upstream.version == .http1_1)
        #expect(upstream.uri == "/_matrix/a%2Fb")
        #expect(upstream.headers["host"] == ["matrix.example.org"])
        #expect(upstream.headers["authorization"] == ["Bearer t"])
        #expect(upstream.headers["x-forwarded-for"] == ["192.0.2.1"])
        #expect(upstream.headers["x-forwarded-proto"] == ["https"])
        #expect(upstream.headers["content-length"] == ["12"])
        for name in ["x-forwarded-host", "connection", "upgrade", "x-hop", "expect", "transfer-encoding"] {
            #expect(!upstream.headers.contains(name: name), "\(name)")
        }
        let chunked = HeaderRewriter.upstreamRequestHead(from: head, target: "/", peerAddress: nil, scheme: "http", framing: .chunked)
        #expect(chunked.headers["transfer-encoding"] == ["chunked"])
        #expect(!chunked.headers.contains(name: "content-length"))
        #expect(!chunked.headers.contains(name: "x-forwarded-for"))
    }

    /// The size checked against the upstream's header limit is counted while the head is rewritten;
    /// it must be what the encoder then writes, whatever the framing and forwarding headers added.
    @Test(arguments: [HeaderRewriter.BodyFraming.absent, .contentLength(0), .contentLength(123_456), .chunked])
    func serializedSizeIsCountedWhileRewriting(framing: HeaderRewriter.BodyFraming) throws {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "matrix.example.org")
        headers.add(name: "Authorization", value: "Bearer syt_YWxpY2U_TGhbGTLXNnRmOYvkjodM_1mCNv7")
        headers.add(name: "Connection", value: "keep-alive, X-Hop")
        headers.add(name: "X-Hop", value: "dropped")
        headers.add(name: "X-Forwarded-For", value: "6.6.6.6")
        headers.add(name: "Content-Length", value: "7")
        headers.add(name: "User-Agent", value: "Élément/1.0 (UTF-8 bytes)")
        let head = HTTPRequestHead(version: .http1_1, method: .PUT, uri: "/ignored", headers: headers)
        for (peer, scheme) in [("192.0.2.1", "https"), (nil, "http")] as [(String?, String)] {
            let rewritten = HeaderRewriter.upstreamRequest(
                from: head, target: "/_matrix/client/v3/rooms/%21a%3Ab/send?x=1", peerAddress: peer, scheme: scheme, framing: framing)
            #expect(rewritten.serializedSize == HeaderRewriter.serializedSize(of: rewritten.head))
            let (bytes, _) = try UpstreamRequestWriterTests.encode([.head(rewritten.head)])
            #expect(rewritten.serializedSize == bytes.utf8.count)
        }
    }

    /// The byte lists used when `Connection` names no header are the same sets the general path uses.
    @Test func byteNameListsMatchTheHeaderSets() {
        let names = { (list: [StaticString]) in Set(list.map { "\($0)" }) }
        #expect(names(HeaderName.hopByHop) == HeaderRewriter.hopByHop)
        #expect(names(HeaderName.droppedUpstream) == HeaderRewriter.hopByHop.union(HeaderRewriter.clientForwarding).union(["content-length"]))
        #expect(HeaderName.droppedUpstream.count == names(HeaderName.droppedUpstream).count, "no name twice")
    }

    @Test func droppedNamesAreRecognisedInAnyLetterCase() {
        var headers = HTTPHeaders()
        for name in ["KEEP-ALIVE", "x-FORWARDED-for", "Te", "EXPECT", "Content-LENGTH", "Upgrade", "Proxy-Authorization", "Forwarded"] {
            headers.add(name: name, value: "1")
        }
        headers.add(name: "Connection", value: "Keep-Alive")
        headers.add(name: "X-Kept", value: "1")
        headers.add(name: "Trailers", value: "not a hop-by-hop name")
        let request = HeaderRewriter.upstreamRequestHead(
            from: HTTPRequestHead(version: .http1_1, method: .GET, uri: "/", headers: headers), target: "/", peerAddress: nil, scheme: "https",
            framing: .absent)
        #expect(request.headers.map(\.name) == ["X-Kept", "Trailers", "X-Forwarded-Proto"])
        headers.add(name: "STRICT-transport-security", value: "max-age=1")
        let response = HeaderRewriter.downstreamResponseHead(
            from: HTTPResponseHead(version: .http1_1, status: .ok, headers: headers), hsts: "max-age=2", close: false)
        #expect(response.headers.map(\.name) == ["x-FORWARDED-for", "EXPECT", "Content-LENGTH", "Forwarded", "X-Kept", "Trailers",
            "Strict-Transport-Security"])
        #expect(response.headers["strict-transport-security"] == ["max-age=2"])
    }

    @Test func downstreamResponseHeadGetsHSTSAndLosesHopByHop() {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Strict-Transport-Security", value: "max-age=1")
        headers.add(name: "Keep-Alive", value: "timeout=5")
        headers.add(name: "Transfer-Encoding", value: "chunked")
        let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)
        let tls = HeaderRewriter.downstreamResponseHead(from: head, hsts: "max-age=31536000", close: true)
        #expect(tls.headers["strict-transport-security"] == ["max-age=31536000"])
        #expect(tls.headers["connection"] == ["close"])
        #expect(!tls.headers.contains(name: "keep-alive"))
        #expect(!tls.headers.contains(name: "transfer-encoding"))
        let plain = HeaderRewriter.downstreamResponseHead(from: head, hsts: nil, close: false)
        #expect(plain.headers["strict-transport-security"] == ["max-age=1"], "plain listeners pass the upstream's value through")
        #expect(!plain.headers.contains(name: "connection"))
    }

    @Test func proxyErrorsMapToStatusAndRetryPolicy() {
        let connect = ProxyError(kind: .connectFailed, upstream: "synapse", requestBytesSent: false, onReusedConnection: false)
        #expect(connect.matrixError.status == 502)
        #expect(connect.matrixError.code == .unknown)
        #expect(connect.allowsRetry(idempotent: true, bodyStreamed: false))
        #expect(!connect.allowsRetry(idempotent: false, bodyStreamed: false), "POST is never retried")
        let stale = ProxyError(kind: .upstreamClosed, upstream: "synapse", requestBytesSent: true, onReusedConnection: true)
        #expect(stale.allowsRetry(idempotent: true, bodyStreamed: false), "a dead keep-alive connection may be retried")
        #expect(!stale.allowsRetry(idempotent: true, bodyStreamed: true), "not once a body has been streamed")
        let fresh = ProxyError(kind: .upstreamClosed, upstream: "synapse", requestBytesSent: true, onReusedConnection: false)
        #expect(!fresh.allowsRetry(idempotent: true, bodyStreamed: false), "a new connection that dropped the request may have acted on it")
        let timeout = ProxyError(kind: .timeout, upstream: "synapse", requestBytesSent: true, onReusedConnection: false)
        #expect(timeout.matrixError.status == 504)
        #expect(!timeout.allowsRetry(idempotent: true, bodyStreamed: false))
        #expect(ProxyError(kind: .badUpstreamResponse, upstream: "s", requestBytesSent: true, onReusedConnection: false).matrixError.status == 502)
    }

    @Test func accessLogRedactsCredentials() {
        #expect(AccessLog.redact(query: "access_token=syt_secret&timeout=30000") == "access_token=[redacted]&timeout=30000")
        #expect(AccessLog.redact(query: "since=s1&code=abc&state=xyz&flag") == "since=s1&code=[redacted]&state=[redacted]&flag")
    }
}

struct HTTPDateTests {
    @Test func formatsIMFFixdate() {
        #expect(HTTPDateCache.format(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDateCache.format(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
    }
}

struct ConnectionTokenTests {
    @Test func anyHeaderNamedInConnectionIsDropped() {
        var headers = HTTPHeaders()
        headers.add(name: "Connection", value: "Authorization, keep-alive")
        headers.add(name: "Authorization", value: "Bearer t")
        headers.add(name: "Accept", value: "*/*")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/", headers: headers)
        let upstream = HeaderRewriter.upstreamRequestHead(from: head, target: "/", peerAddress: nil, scheme: "http", framing: .absent)
        #expect(!upstream.headers.contains(name: "authorization"))
        #expect(upstream.headers["accept"] == ["*/*"])
        #expect(HeaderRewriter.connectionTokens(in: ["Connection": "keep-alive"]).isEmpty)
        #expect(HeaderRewriter.connectionTokens(in: ["Connection": "Keep-Alive, X-A"]) == ["x-a"])
    }
}
