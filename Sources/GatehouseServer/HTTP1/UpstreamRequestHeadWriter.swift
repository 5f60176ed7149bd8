import NIOCore

/// Writes the request head Gatehouse sends upstream into one buffer, copying the client's bytes
/// through the ranges of a parsed ``HTTP1RequestHead``: the proxy phase's header edits
/// without an `HTTPHeaders` or a `String` per header.
///
/// - request line: the method, the origin-form target exactly as the client sent it (an absolute-form
///   target loses its scheme and authority), `HTTP/1.1`;
/// - every header in order, except hop-by-hop ones, those named in `Connection`, the forwarding
///   headers a client must not set (`X-Forwarded-*`, `Forwarded`, `X-Real-IP`), `Expect` (answered by
///   Gatehouse) and `Content-Length`; written `name: value`;
/// - `X-Forwarded-For` (the TCP peer, when known) and `X-Forwarded-Proto`;
/// - the framing header as decided (`Content-Length: n` or `Transfer-Encoding: chunked`), then the
///   blank line.
///
/// The output is byte for byte what the `HTTPHeaders`-based rewriter it replaced wrote for the same
/// request (`HeaderRewriter`, kept in the tests as the reference a differential test compares with).
/// The bytes copied were checked by ``HTTP1RequestHeadParser``, so no CR, LF or NUL can reach the
/// upstream from them.
enum UpstreamRequestHeadWriter {
    /// The most bytes ``write(_:from:peerAddress:scheme:framing:into:)`` writes for `head`: a buffer
    /// of this size is never reallocated.
    static func capacity(for head: HTTP1RequestHead, peerAddress: String?) -> Int {
        // Each kept line gains at most the space after its colon; the added lines are short.
        head.headLength + head.fields.count + 96 + (peerAddress?.utf8.count ?? 0)
    }

    /// Appends the upstream request head to `output`.
    /// - Parameters:
    ///   - head: the parsed client head.
    ///   - source: the buffer `head` was parsed from (its reader index unchanged since).
    ///   - peerAddress: the TCP peer's IP address.
    ///   - scheme: `https` or `http`, from the listener.
    ///   - framing: the body framing sent upstream (``HTTP1RequestHead/upstreamFraming``).
    ///   - output: where the head is appended.
    /// - Returns: the number of bytes written, to check against the upstream's header limit.
    @discardableResult
    static func write(
        _ head: HTTP1RequestHead, from source: ByteBuffer, peerAddress: String?, scheme: String, framing: HTTP1BodyFraming,
        into output: inout ByteBuffer
    ) -> Int {
        source.withUnsafeReadableBytes { bytes in
            ByteCursor.write(into: &output, capacity: capacity(for: head, peerAddress: peerAddress)) { out in
                out.append(UnsafeRawBufferPointer(rebasing: bytes[head.methodRange]))
                out.append(byte: HTTP1Bytes.space)
                out.append(UnsafeRawBufferPointer(rebasing: bytes[head.originRange]))
                out.append(" HTTP/1.1\r\n")
                for index in head.fields.indices where !head.fields[index].isDroppedUpstream {
                    let field = head.fields[index]
                    out.append(UnsafeRawBufferPointer(rebasing: bytes[field.nameRange]))
                    out.append(": ")
                    out.append(UnsafeRawBufferPointer(rebasing: bytes[field.valueRange]))
                    out.append("\r\n")
                }
                if let peerAddress {
                    out.append("X-Forwarded-For: ")
                    out.append(string: peerAddress)
                    out.append("\r\n")
                }
                out.append("X-Forwarded-Proto: ")
                out.append(string: scheme)
                out.append("\r\n")
                switch framing {
                case .none, .untilClose:
                    break
                case .contentLength(let length):
                    out.append("Content-Length: ")
                    out.append(decimal: length)
                    out.append("\r\n")
                case .chunked:
                    out.append("Transfer-Encoding: chunked\r\n")
                }
                out.append("\r\n")
            }
        }
    }

    /// Writes a non-negative integer in decimal without building a `String`.
    static func writeDecimal(_ value: Int, into output: inout ByteBuffer) {
        ByteCursor.write(into: &output, capacity: 24) { $0.append(decimal: value) }
    }
}
