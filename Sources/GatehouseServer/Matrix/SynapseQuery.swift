import GatehouseCore

/// A query string read the way Synapse reads it.
///
/// Synapse gets its query arguments from Twisted: `Request.requestReceived` splits the target at its
/// first `?` and calls `twisted.web.http.parse_qs(argstring, keep_blank_values=1)` (Twisted 26.10, what
/// Synapse 1.163.2 runs on):
///
/// - items are separated by `&` **and** by `;` (`qs.split(b"&")`, then each part `.split(b";")`);
/// - an item without `=` is dropped; otherwise it is cut at its first `=`, and an empty value is kept;
/// - name and value are decoded alike: `+` becomes a space, then `urllib.parse.unquote_to_bytes`
///   decodes `%XX` (hex digits of either case) and keeps any other `%` literally (`%zz`, a trailing `%`);
/// - the result is bytes, not text: nothing checks UTF-8 at this point.
///
/// A strict form decoder (``FormURLEncoded``, for OAuth 2.0 bodies) refuses some of these queries and
/// splits others differently, so it must never decide what Synapse will read. Everything here works on
/// the raw bytes and allocates nothing unless asked to decode.
enum SynapseQuery {
    /// One `name=value` item, as byte offsets into the query.
    struct Item {
        /// Where the item starts (its name).
        var start: Int
        /// The offset of the `=` that ends the name.
        var equals: Int
        /// Where the item ends (a separator or the end of the query).
        var end: Int
    }

    /// Calls `body` for every item Twisted keeps, in order, until it returns `false`.
    /// - Parameters:
    ///   - query: the query bytes, without the `?`.
    ///   - body: receives each item; returns whether to go on.
    static func forEachItem(in query: UnsafeRawBufferPointer, _ body: (Item) -> Bool) {
        var start = 0
        while start <= query.count {
            var end = start
            var equals = -1
            while end < query.count, !isSeparator(query[end]) {
                if equals < 0, query[end] == UInt8(ascii: "=") { equals = end }
                end += 1
            }
            if equals >= 0, !body(Item(start: start, equals: equals, end: end)) { return }
            start = end + 1
        }
    }

    /// Whether `byte` separates items (`&` or `;`).
    static func isSeparator(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "&") || byte == UInt8(ascii: ";")
    }

    /// Whether the raw bytes decode to exactly `expected`, compared while decoding (no allocation).
    /// - Parameters:
    ///   - raw: an encoded name or value.
    ///   - expected: the decoded bytes to compare with.
    static func decodes(_ raw: UnsafeRawBufferPointer, to expected: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        var position = 0
        while index < raw.count {
            let (byte, width) = decodedByte(raw, at: index)
            guard position < expected.count, expected[position] == byte else { return false }
            position += 1
            index += width
        }
        return position == expected.count
    }

    /// The decoded bytes.
    /// - Parameter raw: an encoded name or value.
    static func decode(_ raw: UnsafeRawBufferPointer) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(raw.count)
        var index = 0
        while index < raw.count {
            let (byte, width) = decodedByte(raw, at: index)
            output.append(byte)
            index += width
        }
        return output
    }

    /// Whether every decoder reads these bytes alike: no `+` (a space here, a plus sign to RFC 3986
    /// readers) and no `%` that does not start a valid escape (kept here, refused or read otherwise
    /// elsewhere).
    /// - Parameter raw: an encoded name or value.
    static func isPlainlyEncoded(_ raw: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        while index < raw.count {
            switch raw[index] {
            case UInt8(ascii: "+"): return false
            case UInt8(ascii: "%"):
                guard escapedByte(raw, at: index) != nil else { return false }
                index += 3
            default: index += 1
            }
        }
        return true
    }

    /// The byte that starts at `index` once decoded, and how many raw bytes it took.
    private static func decodedByte(_ raw: UnsafeRawBufferPointer, at index: Int) -> (UInt8, Int) {
        switch raw[index] {
        case UInt8(ascii: "+"): return (UInt8(ascii: " "), 1)
        case UInt8(ascii: "%"):
            if let byte = escapedByte(raw, at: index) { return (byte, 3) }
            return (UInt8(ascii: "%"), 1)
        case let byte: return (byte, 1)
        }
    }

    /// The value of the `%XX` escape at `index`, or `nil` when it is not one (`unquote_to_bytes` then
    /// keeps the `%` as it is).
    private static func escapedByte(_ raw: UnsafeRawBufferPointer, at index: Int) -> UInt8? {
        guard index + 2 < raw.count, let high = HexDigit.value(raw[index + 1]), let low = HexDigit.value(raw[index + 2]) else { return nil }
        return high << 4 | low
    }
}
