import NIOCore

/// Parses an upstream's response head on bytes, just enough to relay it: status, framing,
/// keep-alive and which headers are hop-by-hop. As strict as the request parser (and at least as
/// strict as llhttp, NIO's parser before it): CRLF only, no obs-fold, token names, no control bytes
/// in values, one `Content-Length` or exactly `Transfer-Encoding: chunked`, never both. A refusal is a
/// bad upstream response (502), and that upstream connection is not reused.
struct HTTP1ResponseHeadParser: Sendable {
    /// What ``parse(_:requestMethod:into:)`` found; the head itself is in its `head` argument.
    enum Status: Sendable {
        case needMore
        /// `head` holds the complete head; the body (if any) starts at `head.headLength`.
        case complete
        case refused(HTTP1Refusal)
    }

    private var scanner: HTTP1HeadScanner

    /// - Parameter maxHeadBytes: the largest response head accepted (status line and blank line included).
    init(maxHeadBytes: Int) {
        scanner = HTTP1HeadScanner(maxHeadBytes: maxHeadBytes, skipsLeadingEmptyLines: false)
    }

    /// Looks at the response bytes received so far (from `buffer.readerIndex`), writing the head where
    /// the caller keeps it (a head with its inline fields is a few hundred bytes, copied whole at every
    /// hop through a result enum). After a complete head or a refusal the parser starts afresh (a 1xx
    /// head is followed by the real one).
    /// - Parameters:
    ///   - buffer: every byte of the head received so far.
    ///   - requestMethod: the method of the request this answers (`HEAD` responses have no body).
    ///   - head: where the complete head is written, every part of it; left in an unspecified state
    ///     otherwise.
    mutating func parse(_ buffer: ByteBuffer, requestMethod: HTTP1Method, into head: inout HTTP1ResponseHead) -> Status {
        let status = buffer.withUnsafeReadableBytes { bytes -> Status in
            switch scanner.scan(bytes) {
            case .needMore: return .needMore
            case .refused(let refusal): return .refused(refusal)
            case .complete(let start, let lineEnd, let headEnd):
                return Self.finish(bytes, start: start, lineEnd: lineEnd, headEnd: headEnd, requestMethod: requestMethod, into: &head)
            }
        }
        if case .needMore = status { return status }
        scanner = HTTP1HeadScanner(maxHeadBytes: scanner.maxHeadBytes, skipsLeadingEmptyLines: false)
        return status
    }

    private static func finish(
        _ bytes: UnsafeRawBufferPointer, start: Int, lineEnd: Int, headEnd: Int, requestMethod: HTTP1Method,
        into head: inout HTTP1ResponseHead
    ) -> Status {
        // Status line: HTTP-version SP 3DIGIT [SP reason-phrase] (RFC 9112 §4).
        guard lineEnd - start >= 12, bytes[start + 8] == HTTP1Bytes.space else { return .refused(.malformedStartLine) }
        let version: HTTP1Version
        if HTTP1Bytes.equals(bytes, from: start, to: start + 8, "HTTP/1.1") {
            version = .http1_1
        } else if HTTP1Bytes.equals(bytes, from: start, to: start + 8, "HTTP/1.0") {
            version = .http1_0
        } else {
            return .refused(.unsupportedVersion)
        }
        guard let status = HTTP1Bytes.decimal(bytes, from: start + 9, to: start + 12) else { return .refused(.invalidStatus) }
        guard (100...599).contains(status), status != 101 else { return .refused(.invalidStatus) }
        var reasonStart = start + 12
        if reasonStart < lineEnd {
            guard bytes[reasonStart] == HTTP1Bytes.space else { return .refused(.malformedStartLine) }
            reasonStart += 1
            for index in reasonStart..<lineEnd where !HTTP1Bytes.isFieldValueByte(bytes[index]) { return .refused(.malformedStartLine) }
        }

        head.fields.removeAll()
        var contentLengthCount = 0
        var contentLength: Range<Int>?
        var transferEncodingCount = 0
        var transferEncoding: Range<Int>?
        var connection = HTTP1ConnectionTokens()
        let refusal = HTTP1HeadScanner.forEachFieldLine(bytes, startLineEnd: lineEnd, headEnd: headEnd) { lineStart, lineEnd in
            switch HTTP1RequestHeadParser.field(bytes, from: lineStart, to: lineEnd) {
            case .failure(let refusal):
                return refusal
            case .success(let field):
                switch field.name {
                case .contentLength:
                    contentLengthCount += 1
                    contentLength = field.valueRange
                case .transferEncoding:
                    transferEncodingCount += 1
                    transferEncoding = field.valueRange
                case .connection:
                    connection.add(bytes, field.valueRange, namesHeaders: true)
                case .proxyConnection:
                    connection.add(bytes, field.valueRange, namesHeaders: false)
                default:
                    break
                }
                head.fields.append(field)
                return nil
            }
        }
        if let refusal { return .refused(refusal) }

        // Framing (RFC 9112 §6.3). Ambiguous framing is refused whatever the status.
        var framing: HTTP1BodyFraming
        if contentLengthCount > 1 { return .refused(.duplicateContentLength) }
        if let transferEncoding {
            if contentLengthCount > 0 { return .refused(.contentLengthWithTransferEncoding) }
            // Stricter than RFC 9112 (which reads other codings until close): Synapse only chunks.
            guard transferEncodingCount == 1, version == .http1_1,
                HTTP1Bytes.equalsIgnoringCase(bytes, from: transferEncoding.lowerBound, to: transferEncoding.upperBound, "chunked")
            else { return .refused(.unsupportedTransferEncoding) }
            framing = .chunked
        } else if let contentLength {
            guard let length = HTTP1Bytes.decimal(bytes, from: contentLength.lowerBound, to: contentLength.upperBound) else {
                return .refused(.invalidContentLength)
            }
            framing = .contentLength(length)
        } else {
            framing = .untilClose
        }
        if requestMethod == .head || status < 200 || status == 204 || status == 304 { framing = .none }

        if connection.namesHeaders { connection.markListedFields(&head.fields, in: bytes) }
        head.version = version
        head.status = status
        head.reasonRange = reasonStart..<max(reasonStart, lineEnd)
        head.headLength = headEnd
        head.framing = framing
        head.keepAlive = !connection.close && (version == .http1_1 || connection.keepAlive) && framing != .untilClose
        return .complete
    }
}
