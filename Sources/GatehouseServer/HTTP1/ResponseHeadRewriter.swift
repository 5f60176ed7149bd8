import NIOCore

/// Writes the response head relayed to an HTTP/1.1 client into one buffer, copying the upstream's
/// bytes through the ranges of a parsed ``HTTP1ResponseHead``: the proxy's response edits
/// without an `HTTPHeaders` or a `String` per header, so the proxy can send the head and the first
/// body bytes in one write (one TLS record).
///
/// - status line: `HTTP/1.1`, the upstream's status code and reason phrase;
/// - every header in order, except hop-by-hop ones and those the upstream named in `Connection`, and
///   except `Strict-Transport-Security` on TLS listeners (Gatehouse sets its own);
/// - `Strict-Transport-Security` (TLS listeners), `Transfer-Encoding: chunked` when the body is sent
///   chunked (the upstream's own `Transfer-Encoding` is hop-by-hop), `Connection: close` when the
///   client connection closes after this response; then the blank line.
enum ResponseHeadRewriter {
    /// The most bytes ``write(_:from:hsts:chunked:close:into:)`` writes for `head`: a buffer of this
    /// size is never reallocated.
    static func capacity(for head: HTTP1ResponseHead, hsts: String?) -> Int {
        // Each kept line gains at most the space after its colon; the added lines fit in the rest.
        head.headLength + head.fields.count + 96 + (hsts?.utf8.count ?? 0)
    }

    /// Appends the client-facing response head to `output`.
    /// - Parameters:
    ///   - head: the parsed upstream response head.
    ///   - source: the buffer `head` was parsed from (its reader index unchanged since).
    ///   - hsts: the `Strict-Transport-Security` value, or `nil` on plain listeners.
    ///   - chunked: whether the body goes to the client chunked (an upstream chunked or
    ///     close-delimited body on a connection that stays open).
    ///   - close: whether the client connection closes after this response.
    ///   - output: where the head is appended.
    /// - Returns: the number of bytes written.
    @discardableResult
    static func write(
        _ head: HTTP1ResponseHead, from source: ByteBuffer, hsts: String?, chunked: Bool, close: Bool, into output: inout ByteBuffer
    ) -> Int {
        source.withUnsafeReadableBytes { bytes in
            ByteCursor.write(into: &output, capacity: capacity(for: head, hsts: hsts)) { out in
                out.append("HTTP/1.1 ")
                out.append(byte: UInt8(ascii: "0") + UInt8(head.status / 100))
                out.append(byte: UInt8(ascii: "0") + UInt8(head.status / 10 % 10))
                out.append(byte: UInt8(ascii: "0") + UInt8(head.status % 10))
                out.append(byte: HTTP1Bytes.space)
                out.append(UnsafeRawBufferPointer(rebasing: bytes[head.reasonRange]))
                out.append("\r\n")
                for index in head.fields.indices {
                    let field = head.fields[index]
                    if field.name.isHopByHop || field.isConnectionListed { continue }
                    if hsts != nil && field.name == .strictTransportSecurity { continue }
                    out.append(UnsafeRawBufferPointer(rebasing: bytes[field.nameRange]))
                    out.append(": ")
                    out.append(UnsafeRawBufferPointer(rebasing: bytes[field.valueRange]))
                    out.append("\r\n")
                }
                if let hsts {
                    out.append("Strict-Transport-Security: ")
                    out.append(string: hsts)
                    out.append("\r\n")
                }
                if chunked { out.append("Transfer-Encoding: chunked\r\n") }
                if close { out.append("Connection: close\r\n") }
                out.append("\r\n")
            }
        }
    }
}
