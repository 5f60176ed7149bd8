import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

/// The header blocks of an HTTP/2 stream's responses, built in ``GatewayHandler`` itself instead of a
/// codec handler per stream (requests: ``HTTP2RequestHead``).
enum HTTP2StreamMessages {
    /// The header block of one of Gatehouse's own responses: `:status`, then `headers` with lower-case
    /// names, minus the fields HTTP/2 forbids (RFC 9113 §8.2.2).
    /// - Parameters:
    ///   - status: the response status.
    ///   - headers: the response headers.
    static func responseHeaders(status: HTTPResponseStatus, headers: HTTPHeaders) -> HPACKHeaders {
        var block = HPACKHeaders()
        block.reserveCapacity(headers.count + 1)
        block.add(name: ":status", value: statusText(Int(status.code)))
        for (name, value) in headers where !isConnectionSpecific(name) {
            let name = lowercased(name)
            block.add(name: name, value: value, indexing: name == "set-cookie" ? .neverIndexed : .indexable)
        }
        return block
    }

    /// The header block of a relayed upstream response: the edits of ``ResponseHeadRewriter`` (no
    /// hop-by-hop fields nor those the upstream named in `Connection`, Gatehouse's own HSTS), names
    /// lower-cased from the upstream's bytes.
    /// - Parameters:
    ///   - head: the parsed upstream response head.
    ///   - bytes: the buffer it was parsed from.
    ///   - hsts: the `Strict-Transport-Security` value.
    ///   - memo: the connection's strings of the previous heads' fields, reused for equal fields.
    static func responseHeaders(_ head: HTTP1ResponseHead, in bytes: ByteBuffer, hsts: String?, memo: HTTP2ResponseFieldMemo? = nil) -> HPACKHeaders {
        guard let memo else {
            var fields: [(String, String)] = []
            return responseHeaders(head, in: bytes, hsts: hsts, memo: nil, gatheringInto: &fields)
        }
        return memo.withFieldScratch { responseHeaders(head, in: bytes, hsts: hsts, memo: memo, gatheringInto: &$0) }
    }

    private static func responseHeaders(
        _ head: HTTP1ResponseHead, in bytes: ByteBuffer, hsts: String?, memo: HTTP2ResponseFieldMemo?, gatheringInto fields: inout [(String, String)]
    ) -> HPACKHeaders {
        fields.reserveCapacity(head.fields.count + 2)
        fields.append((":status", statusText(head.status)))
        var setsCookie = false
        bytes.withUnsafeReadableBytes { raw in
            // The memo's positions count relayed fields only: a dropped field (`Connection`,
            // `Transfer-Encoding`) leaves no gap that would keep the fields after it from being memoised.
            var position = 0
            for index in head.fields.indices {
                let field = head.fields[index]
                if field.name.isHopByHop || field.isConnectionListed { continue }
                if hsts != nil && field.name == .strictTransportSecurity { continue }
                defer { position += 1 }
                // HTTP/2 values neither start nor end with whitespace (RFC 9113 §8.2.1): the parser
                // dropped the leading blanks, the trailing ones go here.
                var end = field.valueRange.upperBound
                while end > field.valueRange.lowerBound, HTTP1Bytes.isBlank(raw[end - 1]) { end -= 1 }
                let valueEnd = end
                if let memo {
                    let line = UnsafeRawBufferPointer(rebasing: raw[field.nameRange.lowerBound..<valueEnd])
                    fields.append(memo.strings(at: position, line: line) { fieldStrings(field, raw, valueEnd: valueEnd) })
                } else {
                    fields.append(fieldStrings(field, raw, valueEnd: valueEnd))
                }
                if field.name == .setCookie { setsCookie = true }
            }
        }
        if let hsts { fields.append(("strict-transport-security", hsts)) }
        // Built from the pairs at once: `HPACKHeaders.add` checks every name for non-ASCII bytes, and
        // these names are HTTP/1.1 tokens the parser checked already.
        guard setsCookie else { return HPACKHeaders(fields) }
        // A cookie stays out of HPACK's dynamic table (RFC 7541 §7.1.3): a session cookie must not be
        // guessable through the compression of later header blocks.
        var block = HPACKHeaders()
        block.reserveCapacity(fields.count)
        for (name, value) in fields {
            block.add(name: name, value: value, indexing: name == "set-cookie" ? .neverIndexed : .indexable)
        }
        return block
    }

    /// A relayed field's name, lower-cased, and its value up to `valueEnd`.
    private static func fieldStrings(_ field: HTTP1Field, _ raw: UnsafeRawBufferPointer, valueEnd: Int) -> (name: String, value: String) {
        let name = String(unsafeUninitializedCapacity: field.nameRange.count) { output in
            var offset = 0
            for index in field.nameRange {
                output[offset] = HTTP1Bytes.lowered(raw[index])
                offset += 1
            }
            return offset
        }
        return (name, String(decoding: UnsafeRawBufferPointer(rebasing: raw[field.valueRange.lowerBound..<valueEnd]), as: UTF8.self))
    }

    /// `content-length` and the rest stay; `connection` and the fields tied to HTTP/1 connections go.
    private static func isConnectionSpecific(_ name: String) -> Bool {
        connectionSpecific.contains { candidate in
            candidate.utf8CodeUnitCount == name.utf8.count
                && zip(name.utf8, UnsafeBufferPointer(start: candidate.utf8Start, count: candidate.utf8CodeUnitCount))
                    .allSatisfy { HTTP1Bytes.lowered($0) == $1 }
        }
    }

    private static let connectionSpecific: [StaticString] = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade",
    ]

    private static func lowercased(_ name: String) -> String {
        name.utf8.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) ? name.lowercased() : name
    }

    /// The three digits of a status, without a formatter.
    private static func statusText(_ status: Int) -> String {
        switch status {
        case 200: "200"
        case 204: "204"
        case 304: "304"
        case 404: "404"
        default: String(status)
        }
    }
}
