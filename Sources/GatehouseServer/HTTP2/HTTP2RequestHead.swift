import NIOCore
import NIOHPACK

/// An HTTP/2 stream's request header block, written as the HTTP/1.1 head it stands for and parsed
/// by ``HTTP1RequestHeadParser``, so a request takes the same path whichever protocol it came over:
/// the same decisions (framing, host, target, limits), the same edge token reading, and
/// ``UpstreamRequestHeadWriter`` copies it upstream. No field becomes an `HTTPHeaders` entry.
///
/// What is written:
/// - the request line from `:method` and `:path` (origin-form only: `:path` must start with `/`; raw
///   UTF-8 in it is kept, as HTTP/2 clients send it and nginx forwards it);
/// - `host` from `:authority` first; a `host` field equal to it is dropped, one that differs is kept
///   beside it, so the parser refuses the two hosts as it does on HTTP/1.1 (NIO's HTTP/2 to HTTP/1
///   codec kept `host` and dropped `:authority`, so `:authority: a` with `host: b` went upstream as b);
/// - every other field in order, except `cookie`, whose fields are joined into one with `; `
///   (RFC 9113 §8.2.3: what an HTTP/1.1 upstream must get);
/// - when the block has no `content-length` and the stream goes on past it, `transfer-encoding:
///   chunked` for every method but GET and HEAD: a body of unknown length follows, and the upstream
///   gets it chunked (a body on GET or HEAD is refused later as unexpected).
///
/// Before anything is written, every piece is checked for what would change the meaning of the
/// HTTP/1.1 bytes (a CR or LF anywhere, a colon or space in a name, a space in the method or path):
/// HTTP/2 framing carries such bytes, and they must neither reach an HTTP/1 upstream nor split a
/// line. The parser then applies HTTP/1.1's rules to the rest. This is the only check of a request
/// block: NIO's header block validation is off (``ChannelSetup``), so the rules it applied (RFC 9113
/// §8.2, §8.3: pseudo-headers, lower-case token names, no CR/LF/NUL in values, no
/// connection-specific fields, `te` only `trailers`) are all applied here.
enum HTTP2RequestHead {
    /// A header block that is not a request (a pseudo-header missing, repeated, unknown or after a
    /// regular field, or a connection-specific field, RFC 9113 §8.2.2, §8.3): the stream is reset.
    struct Malformed: Error {
        var reason: String
    }

    enum Outcome {
        /// The head, written into the `head` argument, as offsets into `bytes`, a buffer of its own.
        case head(bytes: ByteBuffer)
        /// A request the gateway answers with `refusal`'s status, as it would on HTTP/1.1.
        case refused(HTTP1Refusal, method: String)
    }

    /// Writes and parses the request head of a stream's first header block.
    /// - Parameters:
    ///   - block: the decoded header block, as the client sent it (NIO's header block validation is
    ///     off: every rule it applied is applied here).
    ///   - endStream: whether the block ended the stream.
    ///   - limits: the head and target limits (the same as HTTP/1.1's).
    ///   - allocator: for the head's buffer.
    ///   - head: where the parsed head is written (in place: a head is a few hundred bytes).
    static func parse(
        _ block: HPACKHeaders, endStream: Bool, limits: HTTP1RequestHeadParser.Limits, allocator: ByteBufferAllocator,
        into head: inout HTTP1RequestHead
    ) throws(Malformed) -> Outcome {
        var pseudo = PseudoHeaders()
        var regularFrom = block.count
        for (index, (name, value, _)) in block.enumerated() {
            guard name.utf8.first == UInt8(ascii: ":") else {
                regularFrom = index
                break
            }
            try pseudo.take(name, value)
        }
        let (method, path, authority) = try pseudo.request()

        if let refusal = refusal(method: method, path: path, authority: authority) { return .refused(refusal, method: method) }
        let regular = block[block.index(block.startIndex, offsetBy: regularFrom)...]
        // One pass checks each field and copies it into the head: its bytes are read once, through
        // one cursor (a `ByteBuffer.write…` per piece is a uniqueness and an exclusivity check each).
        var capacity = method.utf8.count + path.utf8.count + authority.utf8.count + 64
        for (name, value, _) in regular { capacity += name.utf8.count + value.utf8.count + 4 }
        var bytes = allocator.buffer(capacity: capacity)
        var stop: Stop?
        ByteCursor.write(into: &bytes, capacity: capacity) { out in
            out.append(string: method)
            out.append(byte: HTTP1Bytes.space)
            out.append(string: path)
            out.append(" HTTP/1.1\r\nhost: ")
            out.append(string: authority)
            out.append("\r\n")
            var hasContentLength = false
            var cookies: [String] = []
            for (name, value, _) in regular {
                let field = Self.field(name: name, value: value, authority: authority)
                switch field {
                case .stop(let reason):
                    stop = reason
                    return
                case .skip:
                    continue
                case .cookie:
                    cookies.append(value)
                    continue
                case .contentLength:
                    hasContentLength = true
                case .write:
                    break
                }
                out.append(string: name)
                out.append(": ")
                out.append(string: value)
                out.append("\r\n")
            }
            if !cookies.isEmpty {
                out.append("cookie: ")
                for (index, cookie) in cookies.enumerated() {
                    if index > 0 { out.append("; ") }
                    out.append(string: cookie)
                }
                out.append("\r\n")
            }
            if !hasContentLength, !endStream, method != "GET", method != "HEAD" {
                out.append("transfer-encoding: chunked\r\n")
            }
            out.append("\r\n")
        }
        switch stop {
        case .malformed(let reason)?: throw Malformed(reason: reason)
        case .refused(let refusal)?: return .refused(refusal, method: method)
        case nil: break
        }

        var parser = HTTP1RequestHeadParser(limits: limits, acceptsNonASCIITarget: true)
        switch parser.parse(bytes, into: &head) {
        case .complete: return .head(bytes: bytes)
        case .refused(let refusal): return .refused(refusal, method: method)
        case .needMore: throw Malformed(reason: "head not complete")  // cannot happen: the blank line is written
        }
    }

    /// Why writing the head stopped.
    private enum Stop {
        case malformed(String)
        case refused(HTTP1Refusal)
    }

    /// What becomes of one regular field.
    private enum FieldOutcome {
        case write
        case contentLength
        /// A `host` equal to `:authority` (written already).
        case skip
        /// Joined with the other `cookie` fields at the end.
        case cookie
        case stop(Stop)
    }

    private static func field(name: String, value: String, authority: String) -> FieldOutcome {
        if name.utf8.first == UInt8(ascii: ":") { return .stop(.malformed("\(name) after a regular field")) }
        do {
            if let refusal = try refusal(name: name, value: value) { return .stop(.refused(refusal)) }
        } catch {
            return .stop(.malformed(error.reason))
        }
        // Names are non-empty lower-case tokens here (checked just above).
        switch fieldName(name) {
        case .host:
            if equalsIgnoringASCIICase(value, authority) { return .skip }
        case .contentLength:
            return .contentLength
        case .connection, .keepAlive, .proxyConnection, .transferEncoding, .upgrade:
            return .stop(.malformed("connection-specific field \(name)"))
        case .te:
            guard value == "trailers" else { return .stop(.malformed("te other than trailers")) }
        default:
            if name.utf8.count == 6 && name == "cookie" { return .cookie }
        }
        return .write
    }

    /// The four pseudo-headers of a request, each at most once.
    private struct PseudoHeaders {
        var method: String?
        var path: String?
        var scheme: String?
        var authority: String?

        mutating func take(_ name: String, _ value: String) throws(Malformed) {
            switch name {
            case ":method": try Self.set(&method, value, name)
            case ":path": try Self.set(&path, value, name)
            case ":scheme": try Self.set(&scheme, value, name)
            case ":authority": try Self.set(&authority, value, name)
            default: throw Malformed(reason: "unknown pseudo-header \(name)")
            }
        }

        private static func set(_ slot: inout String?, _ value: String, _ name: String) throws(Malformed) {
            guard slot == nil else { throw Malformed(reason: "\(name) is repeated") }
            slot = value
        }

        func request() throws(Malformed) -> (method: String, path: String, authority: String) {
            guard let method else { throw Malformed(reason: ":method is missing") }
            guard let path else { throw Malformed(reason: ":path is missing") }
            guard scheme != nil else { throw Malformed(reason: ":scheme is missing") }
            guard let authority else { throw Malformed(reason: ":authority is missing") }
            return (method, path, authority)
        }
    }

    /// The name as the HTTP/1.1 parser classifies it (``HTTP1FieldName``); `name` is not empty.
    private static func fieldName(_ name: String) -> HTTP1FieldName {
        withBytes(of: name) { HTTP1FieldName.classify($0, from: 0, to: $0.count) }
    }

    /// What the request line and `host` must not carry: the method is a token, the path origin-form
    /// target bytes (raw UTF-8 included, forwarded as sent), the authority host bytes (the parser
    /// then checks each in full).
    private static func refusal(method: String, path: String, authority: String) -> HTTP1Refusal? {
        if method.isEmpty || !allBytes(of: method, HTTP1Bytes.isToken) { return .malformedStartLine }
        if path.utf8.first != UInt8(ascii: "/") { return .targetForm }
        if !withBytes(of: path, { HTTP1Bytes.allTargetBytes($0, from: 0, to: $0.count, allowingNonASCII: true) }) { return .invalidTarget }
        if authority.isEmpty || !allBytes(of: authority, HTTP1Bytes.isHostByte) { return .invalidHost }
        return nil
    }

    /// A name is a lower-case token (an upper-case letter makes the request malformed, RFC 9113
    /// §8.2.1); a value holds no control byte but HTAB (no CR, LF or NUL above all).
    private static func refusal(name: String, value: String) throws(Malformed) -> HTTP1Refusal? {
        if name.isEmpty || !allBytes(of: name, { HTTP1Bytes.isToken($0) && !isUpperCase($0) }) {
            if !name.isEmpty && allBytes(of: name, HTTP1Bytes.isToken) { throw Malformed(reason: "upper-case field name") }
            return .invalidFieldName
        }
        if !withBytes(of: value, { HTTP1Bytes.allFieldValueBytes($0, from: 0, to: $0.count) }) { return .invalidFieldValue }
        return nil
    }

    @inline(__always)
    private static func isUpperCase(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")
    }

    @inline(__always)
    private static func allBytes(of string: String, _ predicate: (UInt8) -> Bool) -> Bool {
        withBytes(of: string) { $0.allSatisfy(predicate) }
    }

    /// `body` on the UTF-8 of `string`: its own storage (HPACK's strings are native), or a copy.
    @inline(__always)
    private static func withBytes<Result>(of string: String, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        string.utf8.withContiguousStorageIfAvailable { body(UnsafeRawBufferPointer($0)) } ?? Array(string.utf8).withUnsafeBytes(body)
    }

    private static func equalsIgnoringASCIICase(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.count == rhs.utf8.count && zip(lhs.utf8, rhs.utf8).allSatisfy { HTTP1Bytes.lowered($0) == HTTP1Bytes.lowered($1) }
    }
}
