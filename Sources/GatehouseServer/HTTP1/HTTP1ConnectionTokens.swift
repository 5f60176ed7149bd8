/// What the `Connection` headers of one message say (RFC 9110 §7.6.1): `close`, `keep-alive`, and
/// whether they name other headers, which are then hop-by-hop for this message.
struct HTTP1ConnectionTokens {
    private(set) var close = false
    private(set) var keepAlive = false
    /// Some token is neither `close` nor `keep-alive`.
    private(set) var namesHeaders = false
    /// The values whose tokens name headers (rarely more than one).
    private var listing: [Range<Int>] = []

    /// Reads one `Connection` (or `Proxy-Connection`) value.
    /// - Parameters:
    ///   - bytes: the head's bytes.
    ///   - value: the value's range.
    ///   - namesHeaders: whether its other tokens name hop-by-hop headers (`Connection`) or are
    ///     ignored (`Proxy-Connection`, read for `close`/`keep-alive` only, as llhttp does).
    mutating func add(_ bytes: UnsafeRawBufferPointer, _ value: Range<Int>, namesHeaders: Bool) {
        var names = false
        Self.forEachToken(bytes, value) { token in
            if HTTP1Bytes.equalsIgnoringCase(bytes, from: token.lowerBound, to: token.upperBound, "close") {
                close = true
            } else if HTTP1Bytes.equalsIgnoringCase(bytes, from: token.lowerBound, to: token.upperBound, "keep-alive") {
                keepAlive = true
            } else {
                names = true
            }
        }
        if names && namesHeaders {
            self.namesHeaders = true
            listing.append(value)
        }
    }

    /// Marks the fields whose names a `Connection` value lists (any letter case).
    /// - Parameters:
    ///   - fields: the message's fields.
    ///   - bytes: the head's bytes.
    func markListedFields(_ fields: inout HTTP1FieldList, in bytes: UnsafeRawBufferPointer) {
        // Rare (a Connection header naming headers): a set of the lower-cased names keeps it linear.
        var listed = Set<[UInt8]>()
        for value in listing {
            Self.forEachToken(bytes, value) { token in
                listed.insert(token.map { HTTP1Bytes.lowered(bytes[$0]) })
            }
        }
        for index in fields.indices {
            let name = fields[index].nameRange
            if listed.contains(name.map { HTTP1Bytes.lowered(bytes[$0]) }) { fields[index].isConnectionListed = true }
        }
    }

    /// Calls `body` with each non-empty comma-separated element of `value`, whitespace trimmed.
    static func forEachToken(_ bytes: UnsafeRawBufferPointer, _ value: Range<Int>, _ body: (Range<Int>) -> Void) {
        var start = value.lowerBound
        while start < value.upperBound {
            let end = HTTP1Bytes.find(HTTP1Bytes.comma, in: bytes, from: start, to: value.upperBound) ?? value.upperBound
            var low = start
            var high = end
            while low < high, HTTP1Bytes.isBlank(bytes[low]) { low += 1 }
            while high > low, HTTP1Bytes.isBlank(bytes[high - 1]) { high -= 1 }
            if low < high { body(low..<high) }
            start = end + 1
        }
    }
}
