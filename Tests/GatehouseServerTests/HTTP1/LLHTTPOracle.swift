import GatehouseCore
import NIOCore
import NIOEmbedded
import NIOHTTP1

@testable import GatehouseServer

/// What NIO's llhttp-based decoders, plus the checks the gateway made after them, decide about some
/// bytes: the reference the byte-level parsers are compared with.
enum LLHTTPOracle {
    enum RequestVerdict {
        /// llhttp produced a head.
        case head(HTTPRequestHead)
        /// llhttp wants more bytes.
        case incomplete
        /// llhttp refused the bytes.
        case refused(String)
    }

    /// Feeds `bytes` to an `HTTPRequestDecoder` configured as `ChannelSetup` configures it.
    static func request(_ bytes: [UInt8], maxHeaderBytes: Int) -> RequestVerdict {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldSize = maxHeaderBytes
        limits.maxHeaderListSize = maxHeaderBytes
        let decoder = HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .drop, limitConfiguration: limits)
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(decoder))
        defer { _ = try? channel.finish() }
        var failure: String?
        do {
            try channel.writeInbound(ByteBuffer(bytes: bytes))
        } catch {
            failure = "\(error)"
        }
        if let part = try? channel.readInbound(as: HTTPServerRequestPart.self), case .head(let head) = part { return .head(head) }
        if let failure { return .refused(failure) }
        return .incomplete
    }

    enum ResponseVerdict {
        case head(HTTPResponseHead)
        case incomplete
        case refused(String)
    }

    /// Feeds `bytes` to an `HTTPResponseDecoder` that has seen a request with `method` go out.
    static func response(_ bytes: [UInt8], method: HTTPMethod, maxHeaderBytes: Int) -> ResponseVerdict {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldSize = maxHeaderBytes
        limits.maxHeaderListSize = maxHeaderBytes
        let decoder = HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .forward, limitConfiguration: limits)
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        try! channel.pipeline.syncOperations.addHandler(HTTPRequestEncoder())
        try! channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(decoder))
        try! channel.writeOutbound(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: method, uri: "/")))
        try! channel.writeOutbound(HTTPClientRequestPart.end(nil))
        var failure: String?
        do {
            try channel.writeInbound(ByteBuffer(bytes: bytes))
        } catch {
            failure = "\(error)"
        }
        if let part = try? channel.readInbound(as: HTTPClientResponsePart.self), case .head(let head) = part { return .head(head) }
        if let failure { return .refused(failure) }
        return .incomplete
    }

    /// What the gateway decided after llhttp accepted a head (`GatewayHandler.beginRequest` before
    /// routing, and `CanonicalPath`'s refusals of the target's form): a refusal status, or the framing.
    enum GatewayDecision: Equatable {
        case refused(Int)
        case accepted(HTTP1BodyFraming)
    }

    static func gatewayDecision(_ head: HTTPRequestHead, maxTargetBytes: Int) -> GatewayDecision {
        // `requestBodyFraming` for HTTP/1.
        let framing: HTTP1BodyFraming
        let lengths = head.headers["content-length"]
        if let text = lengths.first {
            guard lengths.count == 1, !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let length = Int(text) else {
                return .refused(400)
            }
            framing = .contentLength(length)
        } else {
            let codings = head.headers["transfer-encoding"]
            if codings.isEmpty {
                framing = .none
            } else if codings.count == 1 && codings[0].lowercased() == "chunked" {
                framing = .chunked
            } else {
                return .refused(400)
            }
        }
        if head.method == .TRACE || head.method == .CONNECT { return .refused(405) }
        if RequestAuthority.problem(in: head, isHTTP2: false) != nil { return .refused(400) }
        if head.uri.utf8.count > maxTargetBytes { return .refused(414) }
        switch CanonicalPath.parse(head.uri) {
        case .failure(.notOriginForm), .failure(.fragment): return .refused(400)
        // Dot segments and escapes (bad ones, or of control bytes: raw ones never pass llhttp) are the
        // route phase's business; CanonicalPath still decides them there.
        case .failure(.dotSegment), .failure(.badPercentEncoding), .failure(.controlCharacter), .success: break
        }
        return .accepted(framing)
    }
}
