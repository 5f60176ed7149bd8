import GatehouseCore
import NIOCore

extension AccessToken {
    /// ``read(headers:query:)`` on a parsed head's bytes: the same reading of the head that will be
    /// forwarded (`Authorization` headers named in `Connection` are not), with ``Reading/foreign``
    /// instead of a token that cannot be one of Gatehouse's access tokens, and a header's token as
    /// ``Reading/tokenBytes(_:)``: no `String` is made but for a token in the query (percent-decoded).
    /// A query without `%` or `access_token=` (``HTTP1RequestHead/queryMayCarryAccessToken``) is not
    /// walked.
    /// - Parameters:
    ///   - head: the parsed request head.
    ///   - buffer: the buffer it was parsed from.
    static func read(_ head: HTTP1RequestHead, in buffer: ByteBuffer) -> Reading {
        buffer.withUnsafeReadableBytes { bytes in
            var headerCount = 0
            var bearerLike = 0
            var header: Range<Int>?
            for index in head.fields.indices where head.fields[index].name == .authorization && !head.fields[index].isConnectionListed {
                let field = head.fields[index]
                headerCount += 1
                let value = twistedStripped(bytes, field.valueRange)
                if isBearerLike(bytes, value) { bearerLike += 1 }
                header = value
            }
            var queryCount = 0
            var firstQueryValue = Reading.none
            if head.queryMayCarryAccessToken, let query = head.queryRange {
                (queryCount, firstQueryValue) = queryToken(in: UnsafeRawBufferPointer(rebasing: bytes[query]))
            }

            if headerCount > 0 && queryCount > 0 { return .ambiguous(Message.mixing) }
            if let header {
                if headerCount > 1 { return bearerLike > 0 ? .ambiguous(Message.tooManyHeaders) : .none }
                return bearerToken(bytes, header, in: buffer)
            }
            if queryCount > 1 { return .ambiguous(Message.repeatedQuery) }
            guard case .token(let token) = firstQueryValue else { return firstQueryValue }
            var utf8 = token
            return utf8.withUTF8 { TokenFormat.mayBeAccessToken(UnsafeRawBufferPointer($0)) } ? firstQueryValue : .foreign
        }
    }

    /// ``bodyCarrier(method:headers:)`` on a parsed head: a `POST` without a forwarded
    /// `Authorization`, whose upstream body is not announced empty, with a form-like `Content-Type`.
    /// - Parameters:
    ///   - head: the parsed request head.
    ///   - buffer: the buffer it was parsed from.
    static func bodyCarrier(_ head: HTTP1RequestHead, in buffer: ByteBuffer) -> BodyCarrier {
        guard head.method == .post, head.authorizationCount == 0, head.upstreamFraming != .contentLength(0) else { return .none }
        return buffer.withUnsafeReadableBytes { bytes in
            var carrier = BodyCarrier.none
            for index in head.fields.indices where head.fields[index].name == .contentType && !head.fields[index].isConnectionListed {
                let field = head.fields[index]
                let (low, high) = (field.valueRange.lowerBound, field.valueRange.upperBound)
                if HTTP1Bytes.containsIgnoringCase(bytes, from: low, to: high, "multipart")
                    || HTTP1Bytes.containsIgnoringCase(bytes, from: low, to: high, "=?")
                {
                    carrier = .unreadable
                } else if HTTP1Bytes.containsIgnoringCase(bytes, from: low, to: high, "form-urlencoded"), carrier == .none {
                    carrier = .form
                }
            }
            return carrier
        }
    }

    /// Spaces and tabs at both ends removed, as Twisted stores a header value.
    private static func twistedStripped(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Range<Int> {
        var low = range.lowerBound
        var high = range.upperBound
        while low < high, HTTP1Bytes.isBlank(bytes[low]) { low += 1 }
        while high > low, HTTP1Bytes.isBlank(bytes[high - 1]) { high -= 1 }
        return low..<high
    }

    /// Whether the value's first word is `bearer` in any case.
    private static func isBearerLike(_ bytes: UnsafeRawBufferPointer, _ value: Range<Int>) -> Bool {
        var end = value.lowerBound
        while end < value.upperBound, !HTTP1Bytes.isBlank(bytes[end]) { end += 1 }
        return HTTP1Bytes.equalsIgnoringCase(bytes, from: value.lowerBound, to: end, "bearer")
    }

    /// The token of a `Bearer` value split exactly as Synapse splits it (see ``read(headers:query:)``),
    /// as a slice of `buffer` (the bytes `bytes` shows).
    private static func bearerToken(_ bytes: UnsafeRawBufferPointer, _ value: Range<Int>, in buffer: ByteBuffer) -> Reading {
        guard isBearerLike(bytes, value) else { return .none }
        let prefix: StaticString = "Bearer "
        let tokenStart = value.lowerBound + prefix.utf8CodeUnitCount
        guard tokenStart <= value.upperBound, HTTP1Bytes.equals(bytes, from: value.lowerBound, to: tokenStart, prefix) else {
            return .ambiguous(Message.invalidHeader)
        }
        var ascii = true
        for index in tokenStart..<value.upperBound {
            if bytes[index] == HTTP1Bytes.space { return .ambiguous(Message.invalidHeader) }
            if bytes[index] >= 0x80 { ascii = false }
        }
        guard ascii else { return .ambiguous(Message.notASCII) }
        let token = UnsafeRawBufferPointer(rebasing: bytes[tokenStart..<value.upperBound])
        guard TokenFormat.mayBeAccessToken(token),
            let slice = buffer.getSlice(at: buffer.readerIndex + tokenStart, length: token.count)
        else { return .foreign }
        return .tokenBytes(slice)
    }
}
