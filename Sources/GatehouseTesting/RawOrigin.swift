import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// An HTTP/1.1 origin that parses the bytes it receives itself, strictly, and records every request
/// exactly as it arrived: what a proxy really sends, not what a lenient parser makes of it.
///
/// Each complete request (Content-Length or chunked body) is answered `200` with the body `ok`
/// (no body for HEAD; `N` KiB for `/raw/big/N`) and the connection kept open, so a test can check that a pooled connection
/// stays in step: extra bytes after a request are read as a further request and recorded, and bytes
/// that do not parse as a request are recorded as an error.
public final class RawOrigin: Sendable {
    /// One request as it arrived.
    public struct Received: Sendable, Equatable {
        public var method: String
        public var target: String
        public var headers: [String]
        /// The body after de-chunking.
        public var body: [UInt8]
        /// Which accepted connection carried it (1-based).
        public var connection: Int
    }

    /// What the origin saw.
    struct State {
        var requests: [Received] = []
        var errors: [String] = []
        var connections = 0
        var closedConnections = 0
    }

    private let channel: any Channel
    private let state: NIOLockedValueBox<State>

    public var port: Int { channel.localAddress!.port! }
    public var requests: [Received] { state.withLockedValue { $0.requests } }
    /// Byte sequences that were not a well-formed request.
    public var errors: [String] { state.withLockedValue { $0.errors } }
    public var connections: Int { state.withLockedValue { $0.connections } }
    /// Accepted connections that have closed since (either side closing them).
    public var closedConnections: Int { state.withLockedValue { $0.closedConnections } }

    public init(group: any EventLoopGroup) async throws {
        let state = NIOLockedValueBox(State())
        self.state = state
        self.channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let number = state.withLockedValue { value -> Int in
                    value.connections += 1
                    return value.connections
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RawOriginHandler(state: state, connection: number))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    /// Forgets what was received so far.
    public func reset() {
        state.withLockedValue { $0 = State(connections: $0.connections, closedConnections: $0.closedConnections) }
    }

    public func stop() async throws {
        try await channel.close()
    }
}

private final class RawOriginHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let state: NIOLockedValueBox<RawOrigin.State>
    private let connection: Int
    private var buffer: [UInt8] = []

    init(state: NIOLockedValueBox<RawOrigin.State>, connection: Int) {
        self.state = state
        self.connection = connection
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.withLockedValue { $0.closedConnections += 1 }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        buffer += bytes.readBytes(length: bytes.readableBytes) ?? []
        while true {
            switch RawRequestParser.parse(buffer) {
            case .incomplete:
                return
            case .invalid(let reason):
                let text = String(decoding: buffer, as: UTF8.self)
                state.withLockedValue { $0.errors.append("\(reason): \(text)") }
                buffer.removeAll()
                context.close(promise: nil)
                return
            case .request(let method, let target, let headers, let body, let consumed):
                buffer.removeFirst(consumed)
                let received = RawOrigin.Received(method: method, target: target, headers: headers, body: body, connection: connection)
                state.withLockedValue { $0.requests.append(received) }
                if target.hasPrefix("/raw/big/"), let kibibytes = Int(target.dropFirst(9)) {
                    // A large body, for tests of clients that stop reading.
                    let head = "HTTP/1.1 200 OK\r\nContent-Length: \(kibibytes * 1024)\r\nContent-Type: text/plain\r\n\r\n"
                    context.write(wrapOutboundOut(context.channel.allocator.buffer(string: head)), promise: nil)
                    let chunk = context.channel.allocator.buffer(repeating: UInt8(ascii: "b"), count: 1024)
                    for _ in 0..<kibibytes { context.write(wrapOutboundOut(chunk), promise: nil) }
                    context.flush()
                    continue
                }
                let body = method == "HEAD" ? "" : "ok"
                let response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\n\(body)"
                context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: response)), promise: nil)
            }
        }
    }
}

/// A deliberately small and strict HTTP/1.1 request parser for ``RawOrigin``.
enum RawRequestParser {
    enum Result {
        case incomplete
        case invalid(String)
        case request(method: String, target: String, headers: [String], body: [UInt8], consumed: Int)
    }

    static func parse(_ bytes: [UInt8]) -> Result {
        guard let headEnd = find([13, 10, 13, 10], in: bytes, from: 0) else {
            return bytes.count > 65536 ? .invalid("head too long") : .incomplete
        }
        let head = String(decoding: bytes[..<headEnd], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ", omittingEmptySubsequences: false)
        guard requestLine.count == 3, requestLine[2] == "HTTP/1.1" else { return .invalid("bad request line") }
        var contentLength: Int?
        var chunked = false
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { return .invalid("bad header line") }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if name == "content-length" {
                guard contentLength == nil, let length = Int(value) else { return .invalid("bad content-length") }
                contentLength = length
            }
            if name == "transfer-encoding" {
                guard value == "chunked", !chunked else { return .invalid("bad transfer-encoding") }
                chunked = true
            }
        }
        if chunked && contentLength != nil { return .invalid("both content-length and chunked") }
        var index = headEnd + 4
        var body: [UInt8] = []
        if let contentLength {
            guard bytes.count >= index + contentLength else { return .incomplete }
            body = Array(bytes[index..<index + contentLength])
            index += contentLength
        } else if chunked {
            while true {
                guard let lineEnd = find([13, 10], in: bytes, from: index) else { return .incomplete }
                guard let size = Int(String(decoding: bytes[index..<lineEnd], as: UTF8.self), radix: 16) else {
                    return .invalid("bad chunk size")
                }
                index = lineEnd + 2
                if size == 0 {
                    guard bytes.count >= index + 2 else { return .incomplete }
                    guard bytes[index] == 13, bytes[index + 1] == 10 else { return .invalid("trailers or bad chunk end") }
                    index += 2
                    break
                }
                guard bytes.count >= index + size + 2 else { return .incomplete }
                body += bytes[index..<index + size]
                guard bytes[index + size] == 13, bytes[index + size + 1] == 10 else { return .invalid("bad chunk end") }
                index += size + 2
            }
        }
        return .request(method: String(requestLine[0]), target: String(requestLine[1]), headers: lines, body: body, consumed: index)
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var index = start
        while index + needle.count <= haystack.count {
            if haystack[index..<index + needle.count].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}

@available(*, unavailable)
extension RawOriginHandler: Sendable {}
