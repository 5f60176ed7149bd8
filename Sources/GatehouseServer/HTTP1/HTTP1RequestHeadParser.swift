import GatehouseCore
import NIOCore

/// Gatehouse's own strict HTTP/1.1 request head parser, on bytes.
///
/// The handler keeps the bytes received so far in one `ByteBuffer` and calls ``parse(_:into:)`` after
/// each read; the answer is ``Status/needMore``, the complete head (``HTTP1RequestHead``, offsets into
/// the buffer, every decision taken), or a refusal. Each call looks only at the bytes that arrived since
/// the previous one for line ends, so a head that trickles in costs one pass in total; the lines are
/// checked in one more pass once the blank line has arrived.
///
/// At least as strict as llhttp (which NIO used before, and which the differential test holds it to):
/// CRLF only (no bare LF or CR), no obs-fold, no whitespace before a colon, token methods and names,
/// no control bytes in values or targets, HTTP/1.0 and 1.1 only. On top of that it takes the
/// decisions the gateway took after llhttp, on the same rules: one valid `Host` agreeing with an
/// absolute-form target, origin-form or `http(s)://` absolute-form targets without fragment, the
/// target length (414), one `Content-Length` or exactly `Transfer-Encoding: chunked` (never both),
/// no `TRACE`/`CONNECT`.
struct HTTP1RequestHeadParser: Sendable {
    /// The limits of the `limits` configuration section.
    struct Limits: Sendable, Equatable {
        /// `limits.max_header_bytes`: the whole head, request line and blank line included.
        var maxHeadBytes: Int
        /// `limits.max_request_target_bytes`.
        var maxTargetBytes: Int

        /// - Parameters:
        ///   - maxHeadBytes: `limits.max_header_bytes`.
        ///   - maxTargetBytes: `limits.max_request_target_bytes`.
        init(maxHeadBytes: Int, maxTargetBytes: Int) {
            self.maxHeadBytes = maxHeadBytes
            self.maxTargetBytes = maxTargetBytes
        }

        /// The configured limits.
        /// - Parameter limits: the `limits` section.
        init(_ limits: LimitsConfiguration) {
            self.init(maxHeadBytes: limits.maxHeaderBytes, maxTargetBytes: limits.maxRequestTargetBytes)
        }
    }

    /// What ``parse(_:into:)`` found; the head itself is in its `head` argument.
    enum Status: Sendable {
        /// The head has not ended yet: call again with more bytes.
        case needMore
        /// `head` holds the complete head; the body (if any) starts at `head.headLength`.
        case complete
        /// The request must be refused with `refusal.status`, and the connection closed.
        case refused(HTTP1Refusal)
    }

    let limits: Limits
    /// Raw UTF-8 (bytes 0x80 and above) is accepted in the target: only for the heads
    /// ``HTTP2RequestHead`` writes, since HTTP/2 carries such `:path`s and they have always been
    /// forwarded as sent (as nginx does); a request line on an HTTP/1.1 connection never has them.
    let acceptsNonASCIITarget: Bool
    private var scanner: HTTP1HeadScanner
    /// Where the first space of a request line still arriving is, once seen.
    private var firstSpace: Int?

    /// - Parameters:
    ///   - limits: the head and target limits.
    ///   - acceptsNonASCIITarget: whether raw UTF-8 is accepted in the target (HTTP/2's heads only).
    init(limits: Limits, acceptsNonASCIITarget: Bool = false) {
        self.limits = limits
        self.acceptsNonASCIITarget = acceptsNonASCIITarget
        self.scanner = HTTP1HeadScanner(maxHeadBytes: limits.maxHeadBytes, skipsLeadingEmptyLines: true)
    }

    /// Looks at the bytes received so far (from `buffer.readerIndex`), writing the head where the
    /// caller keeps it: a head is a few hundred bytes (its inline fields), and every hop through a
    /// result enum copied all of them.
    ///
    /// After ``Status/complete`` or ``Status/refused(_:)`` the parser starts afresh: the next call is
    /// for the next head, in a buffer whose reader index has moved past this one.
    /// - Parameters:
    ///   - buffer: every byte of the head received so far, from its first byte; the same bytes (plus
    ///     any new ones) as on the previous call.
    ///   - head: where the complete head is written, every part of it; left in an unspecified state
    ///     otherwise.
    mutating func parse(_ buffer: ByteBuffer, into head: inout HTTP1RequestHead) -> Status {
        let status = buffer.withUnsafeReadableBytes { scan($0, into: &head) }
        if case .needMore = status { return status }
        reset()
        return status
    }

    /// Forgets a partly received head.
    mutating func reset() {
        self = HTTP1RequestHeadParser(limits: limits, acceptsNonASCIITarget: acceptsNonASCIITarget)
    }

    private mutating func scan(_ bytes: UnsafeRawBufferPointer, into head: inout HTTP1RequestHead) -> Status {
        switch scanner.scan(bytes) {
        case .complete(let start, let startLineEnd, let headEnd):
            return finish(bytes, headStart: start, lineEnd: startLineEnd, headEnd: headEnd, into: &head)
        case .refused(let refusal):
            return .refused(refusal)
        case .needMore:
            if scanner.startLineEnd == nil, let refusal = refusalOfPartialRequestLine(bytes) { return .refused(refusal) }
            return .needMore
        }
    }

    /// A request line still arriving whose target is already too long gets 414 at once.
    private mutating func refusalOfPartialRequestLine(_ bytes: UnsafeRawBufferPointer) -> HTTP1Refusal? {
        let headStart = scanner.headStart
        guard bytes.count - headStart > limits.maxTargetBytes + 1 else { return nil }
        if firstSpace == nil { firstSpace = HTTP1Bytes.find(HTTP1Bytes.space, in: bytes, from: headStart, to: bytes.count) }
        guard let firstSpace else { return nil }
        let targetEnd = HTTP1Bytes.find(HTTP1Bytes.space, in: bytes, from: firstSpace + 1, to: bytes.count) ?? bytes.count
        return targetEnd - firstSpace - 1 > limits.maxTargetBytes ? .targetTooLong : nil
    }

    // MARK: The complete head

    private func finish(
        _ bytes: UnsafeRawBufferPointer, headStart: Int, lineEnd: Int, headEnd: Int, into head: inout HTTP1RequestHead
    ) -> Status {
        // Request line: method SP target SP version.
        guard let methodEnd = HTTP1Bytes.find(HTTP1Bytes.space, in: bytes, from: headStart, to: lineEnd),
            HTTP1Bytes.isToken(bytes, from: headStart, to: methodEnd)
        else { return .refused(.malformedStartLine) }
        guard let method = HTTP1Method.recognise(bytes, from: headStart, to: methodEnd) else { return .refused(.unknownMethod) }
        let targetStart = methodEnd + 1
        guard let targetEnd = HTTP1Bytes.find(HTTP1Bytes.space, in: bytes, from: targetStart, to: lineEnd), targetEnd > targetStart else {
            return .refused(.malformedStartLine)
        }
        let version: HTTP1Version
        switch Self.version(bytes, from: targetEnd + 1, to: lineEnd) {
        case .success(let value): version = value
        case .failure(let refusal): return .refused(refusal)
        }
        guard HTTP1Bytes.allTargetBytes(bytes, from: targetStart, to: targetEnd, allowingNonASCII: acceptsNonASCIITarget) else {
            return .refused(.invalidTarget)
        }

        // The fields go straight into the head's list.
        head.fields.removeAll()
        let refusal = HTTP1HeadScanner.forEachFieldLine(bytes, startLineEnd: lineEnd, headEnd: headEnd) { start, end in
            switch Self.field(bytes, from: start, to: end) {
            case .success(let field):
                head.fields.append(field)
                return nil
            case .failure(let refusal):
                return refusal
            }
        }
        if let refusal { return .refused(refusal) }
        return decide(
            bytes, method: method, methodRange: headStart..<methodEnd, target: targetStart..<targetEnd, version: version, headEnd: headEnd,
            into: &head)
    }

    /// `HTTP/1.1` or `HTTP/1.0`; another well-formed version is unsupported, anything else malformed.
    private static func version(_ bytes: UnsafeRawBufferPointer, from: Int, to: Int) -> Result<HTTP1Version, HTTP1Refusal> {
        if HTTP1Bytes.equals(bytes, from: from, to: to, "HTTP/1.1") { return .success(.http1_1) }
        if HTTP1Bytes.equals(bytes, from: from, to: to, "HTTP/1.0") { return .success(.http1_0) }
        let isDigit = { (byte: UInt8) in byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        if to - from == 8, HTTP1Bytes.equals(bytes, from: from, to: from + 5, "HTTP/"), isDigit(bytes[from + 5]),
            bytes[from + 6] == UInt8(ascii: "."), isDigit(bytes[from + 7])
        {
            return .failure(.unsupportedVersion)
        }
        return .failure(.malformedStartLine)
    }

    /// Where the parts of a valid target are.
    private struct Target {
        var range: Range<Int>
        var form: HTTP1RequestHead.TargetForm
        var originStart: Int
        var queryMark: Int?
        var authority: Range<Int>?
    }

    /// The target's form, as ``CanonicalPath`` accepts it (it is still what decides what the path
    /// means; this only refuses earlier what it would refuse). Its bytes were checked already.
    private static func target(_ bytes: UnsafeRawBufferPointer, from: Int, to: Int) -> Result<Target, HTTP1Refusal> {
        if HTTP1Bytes.find(UInt8(ascii: "#"), in: bytes, from: from, to: to) != nil { return .failure(.fragment) }
        let queryMark = HTTP1Bytes.find(UInt8(ascii: "?"), in: bytes, from: from, to: to)
        if bytes[from] == UInt8(ascii: "/") {
            return .success(Target(range: from..<to, form: .origin, originStart: from, queryMark: queryMark))
        }
        let authorityStart: Int
        if HTTP1Bytes.equals(bytes, from: from, to: min(to, from + 7), "http://") {
            authorityStart = from + 7
        } else if HTTP1Bytes.equals(bytes, from: from, to: min(to, from + 8), "https://") {
            authorityStart = from + 8
        } else {
            return .failure(.targetForm)
        }
        var authorityEnd = authorityStart
        while authorityEnd < to, bytes[authorityEnd] != UInt8(ascii: "/"), bytes[authorityEnd] != UInt8(ascii: "?") { authorityEnd += 1 }
        guard authorityEnd < to, bytes[authorityEnd] == UInt8(ascii: "/") else { return .failure(.targetForm) }
        // Stricter than llhttp: the authority must be a plain host[:port] (no user info), as `Host` must.
        guard authorityEnd > authorityStart else { return .failure(.invalidHost) }
        for index in authorityStart..<authorityEnd where !HTTP1Bytes.isHostByte(bytes[index]) { return .failure(.invalidHost) }
        return .success(Target(range: from..<to, form: .absolute, originStart: authorityEnd, queryMark: queryMark, authority: authorityStart..<authorityEnd))
    }

    /// One header line, `bytes[from..<to]` without its CRLF.
    static func field(_ bytes: UnsafeRawBufferPointer, from: Int, to: Int) -> Result<HTTP1Field, HTTP1Refusal> {
        guard !HTTP1Bytes.isBlank(bytes[from]) else { return .failure(.obsoleteLineFolding) }
        guard let colon = HTTP1Bytes.tokenEnd(bytes, from: from, to: to, at: HTTP1Bytes.colon) else { return .failure(.invalidFieldName) }
        guard colon - from <= Int(UInt16.max) else { return .failure(.headTooLarge) }
        var valueStart = colon + 1
        while valueStart < to, HTTP1Bytes.isBlank(bytes[valueStart]) { valueStart += 1 }
        // Trailing whitespace stays in the value, as llhttp reported it: checks that compare values
        // (Host, Content-Length, Transfer-Encoding, Expect) then refuse or ignore it exactly as before,
        // and headers are forwarded byte for byte as before.
        let valueEnd = to
        guard HTTP1Bytes.allFieldValueBytes(bytes, from: valueStart, to: valueEnd) else { return .failure(.invalidFieldValue) }
        return .success(HTTP1Field(
            nameStart: UInt32(from), valueStart: UInt32(valueStart), valueLength: UInt32(valueEnd - valueStart),
            nameLength: UInt16(colon - from), name: HTTP1FieldName.classify(bytes, from: from, to: colon), isConnectionListed: false))
    }

    // MARK: Decisions

    /// The decisions about a head whose fields are in `head.fields`, written into `head`.
    private func decide(
        _ bytes: UnsafeRawBufferPointer, method: HTTP1Method, methodRange: Range<Int>, target targetRange: Range<Int>, version: HTTP1Version,
        headEnd: Int, into head: inout HTTP1RequestHead
    ) -> Status {
        var hostCount = 0
        var host: Range<Int>?
        var contentLengthCount = 0
        var contentLength: Range<Int>?
        var transferEncodingCount = 0
        var transferEncoding: Range<Int>?
        var connection = HTTP1ConnectionTokens()
        var expectsContinue = false
        for index in head.fields.indices {
            let field = head.fields[index]
            switch field.name {
            case .host:
                hostCount += 1
                host = field.valueRange
            case .contentLength:
                contentLengthCount += 1
                contentLength = field.valueRange
            case .transferEncoding:
                transferEncodingCount += 1
                transferEncoding = field.valueRange
            case .connection:
                connection.add(bytes, field.valueRange, namesHeaders: true)
            case .proxyConnection:
                // llhttp reads `close`/`keep-alive` here too.
                connection.add(bytes, field.valueRange, namesHeaders: false)
            case .expect:
                if HTTP1Bytes.equalsIgnoringCase(bytes, from: field.valueRange.lowerBound, to: field.valueRange.upperBound, "100-continue") {
                    expectsContinue = true
                }
            default:
                break
            }
        }

        // Framing (RFC 9112 §6.1, §6.3).
        let framing: HTTP1BodyFraming
        if contentLengthCount > 1 { return .refused(.duplicateContentLength) }
        if let transferEncoding {
            if contentLengthCount > 0 { return .refused(.contentLengthWithTransferEncoding) }
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
            framing = .none
        }

        // TRACE would echo credentials back, CONNECT would open a tunnel.
        if method == .trace || method == .connect { return .refused(.methodNotAllowed) }

        // Exactly one valid host, agreeing with an absolute-form target (RFC 9112 §3.2).
        let parsedTarget = Self.target(bytes, from: targetRange.lowerBound, to: targetRange.upperBound)
        if hostCount > 1 || (hostCount == 0 && version == .http1_1) { return .refused(.invalidHost) }
        if let host {
            for index in host where !HTTP1Bytes.isHostByte(bytes[index]) { return .refused(.invalidHost) }
            if case .success(let target) = parsedTarget, let authority = target.authority,
                !HTTP1Bytes.equalsIgnoringCase(bytes, authority, host)
            {
                return .refused(.invalidHost)
            }
        }
        guard targetRange.count <= limits.maxTargetBytes else { return .refused(.targetTooLong) }
        let target: Target
        switch parsedTarget {
        case .success(let value): target = value
        case .failure(let refusal): return .refused(refusal)
        }

        // Every part is written where the head lies: building a head and returning it copied the
        // whole of it, inline fields and all, once per hop.
        if connection.namesHeaders { connection.markListedFields(&head.fields, in: bytes) }
        (head.authorizationCount, head.lastAuthorizationIndex) = Self.authorizations(in: head.fields)
        let queryRange = target.queryMark.map { ($0 + 1)..<target.range.upperBound }
        head.method = method
        head.methodRange = methodRange
        head.targetRange = target.range
        head.targetForm = target.form
        head.originRange = target.originStart..<target.range.upperBound
        head.queryRange = queryRange
        head.authorityRange = target.authority
        head.version = version
        head.headLength = headEnd
        head.framing = framing
        head.keepAlive = !connection.close && (version == .http1_1 || connection.keepAlive)
        head.expectsContinue = expectsContinue
        head.hostRange = host
        head.queryMayCarryAccessToken = queryRange.map { Self.mayCarryAccessToken(bytes, $0) } ?? false
        return .complete
    }

    /// How many `Authorization` fields will go upstream (not named by `Connection`), and the last one.
    private static func authorizations(in fields: HTTP1FieldList) -> (count: Int, last: Int?) {
        var count = 0
        var last: Int?
        for index in fields.indices where fields[index].name == .authorization && !fields[index].isConnectionListed {
            count += 1
            last = index
        }
        return (count, last)
    }

    /// `false` only when no query item can decode to the name `access_token`: without a `%`, only
    /// the literal `access_token=` can (see `AccessToken.mayNameParameter`).
    static func mayCarryAccessToken(_ bytes: UnsafeRawBufferPointer, _ query: Range<Int>) -> Bool {
        if HTTP1Bytes.find(UInt8(ascii: "%"), in: bytes, from: query.lowerBound, to: query.upperBound) != nil { return true }
        var position = query.lowerBound
        let literal: StaticString = "access_token="
        while let hit = HTTP1Bytes.find(UInt8(ascii: "a"), in: bytes, from: position, to: query.upperBound) {
            if HTTP1Bytes.equals(bytes, from: hit, to: min(hit + literal.utf8CodeUnitCount, query.upperBound), literal) { return true }
            position = hit + 1
        }
        return false
    }
}
