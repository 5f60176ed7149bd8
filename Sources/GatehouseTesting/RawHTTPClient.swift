#if canImport(Glibc)
import Glibc
#endif

/// A blocking HTTP/1.1 client over a plain TCP socket that sends exactly the bytes it is given, so
/// tests can send malformed or ambiguous requests that real clients refuse to produce.
public final class RawHTTPClient {
    /// A parsed response.
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: String
        /// Whether the server closed the connection after this response.
        public var closed: Bool

        /// The first value of a header, case-insensitively.
        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    public struct ClientError: Error, CustomStringConvertible {
        public var description: String
    }

    private let socket: Int32
    private var buffer: [UInt8] = []

    /// Connects to 127.0.0.1:`port`.
    /// - Parameters:
    ///   - port: the server port.
    ///   - timeoutSeconds: timeout for every read and every send.
    ///   - receiveBufferBytes: a small kernel receive buffer, to play a client that reads slowly
    ///     without the kernel absorbing megabytes on its behalf.
    public init(port: Int, timeoutSeconds: Int = 10, receiveBufferBytes: Int? = nil) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw ClientError(description: "socket() failed") }
        if var size = receiveBufferBytes.map(Int32.init) {
            setsockopt(socket, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        // A server that stops reading must not hang a test in `send` either.
        setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        // No close here: a class whose initialiser throws once every property is set is deinitialised,
        // and deinit closes the socket. Closing it here as well closed the same descriptor number twice,
        // and between the two closes another test's new socket could get that number: its connection
        // was cut, or a client's bytes went to another test's server.
        guard result == 0 else { throw ClientError(description: "connect to port \(port) failed") }
    }

    deinit {
        if socket >= 0 { close(socket) }
    }

    /// Sends raw bytes.
    /// - Parameter text: the bytes to send, as written (use `\r\n`).
    public func send(_ text: String) throws {
        try send(Array(text.utf8))
    }

    /// Sends raw bytes.
    /// - Parameter bytes: the bytes to send.
    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw ClientError(description: "send failed") }
            offset += written
        }
    }

    /// Reads one response (Content-Length, chunked, or until close).
    /// - Parameter toHead: the request was HEAD, so the response has no body whatever its headers say.
    public func readResponse(toHead: Bool = false) throws -> Response {
        var headerEnd: Int?
        while headerEnd == nil {
            headerEnd = find([13, 10, 13, 10])
            if headerEnd == nil, try !fill() { throw ClientError(description: "connection closed before a response") }
        }
        let headText = String(decoding: buffer[..<headerEnd!], as: UTF8.self)
        buffer.removeFirst(headerEnd! + 4)
        var lines = headText.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw ClientError(description: "bad status line") }
        let headers = lines.compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingSpaces())
        }
        var response = Response(status: status, headers: headers, body: "", closed: false)
        if status == 100 { return try readResponse(toHead: toHead) }
        if toHead {
            // No body follows.
        } else if let length = response.header("content-length").flatMap(Int.init) {
            while buffer.count < length {
                guard try fill() else { throw ClientError(description: "body cut short") }
            }
            response.body = String(decoding: buffer[..<length], as: UTF8.self)
            buffer.removeFirst(length)
        } else if response.header("transfer-encoding")?.lowercased() == "chunked" {
            var body: [UInt8] = []
            while true {
                var lineEnd = find([13, 10])
                while lineEnd == nil {
                    guard try fill() else { throw ClientError(description: "chunk cut short") }
                    lineEnd = find([13, 10])
                }
                let size = Int(String(decoding: buffer[..<lineEnd!], as: UTF8.self), radix: 16) ?? 0
                buffer.removeFirst(lineEnd! + 2)
                while buffer.count < size + 2 {
                    guard try fill() else { throw ClientError(description: "chunk cut short") }
                }
                body += buffer[..<size]
                buffer.removeFirst(size + 2)
                if size == 0 { break }
            }
            response.body = String(decoding: body, as: UTF8.self)
        } else {
            while try fill() {}
            response.body = String(decoding: buffer, as: UTF8.self)
            buffer.removeAll()
            response.closed = true
        }
        if response.header("connection")?.lowercased() == "close" {
            response.closed = try isClosedByPeer()
        }
        return response
    }

    /// Reads exactly `count` more bytes (a body after ``readResponse(toHead:)`` read its head).
    public func read(count: Int) throws -> String {
        while buffer.count < count {
            guard try fill() else { throw ClientError(description: "closed after \(buffer.count) of \(count) bytes") }
        }
        defer { buffer.removeFirst(count) }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }

    /// Reads whatever arrives until the server closes the connection or the read timeout passes.
    /// - Returns: the bytes received (including any already buffered) and whether the server closed.
    public func drain() -> (bytes: Int, closed: Bool) {
        var total = buffer.count
        buffer.removeAll()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(socket, &chunk, chunk.count, 0)
            if count > 0 {
                total += count
            } else {
                return (total, count == 0 || errno == ECONNRESET)
            }
        }
    }

    /// Whether the server has closed the connection (reads until EOF or timeout).
    public func isClosedByPeer() throws -> Bool {
        var byte: UInt8 = 0
        let count = recv(socket, &byte, 1, 0)
        if count == 0 { return true }
        if count < 0 { return errno == ECONNRESET }
        buffer.append(byte)
        return false
    }

    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = recv(socket, &chunk, chunk.count, 0)
        if count == 0 { return false }
        if count < 0 {
            if errno == ECONNRESET { return false }
            throw ClientError(description: "recv failed (errno \(errno))")
        }
        buffer += chunk[..<count]
        return true
    }

    private func find(_ pattern: [UInt8]) -> Int? {
        guard buffer.count >= pattern.count else { return nil }
        for index in 0...(buffer.count - pattern.count) where buffer[index..<(index + pattern.count)].elementsEqual(pattern) {
            return index
        }
        return nil
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        var result = Substring(self)
        while result.first == " " { result = result.dropFirst() }
        while result.last == " " { result = result.dropLast() }
        return String(result)
    }
}
