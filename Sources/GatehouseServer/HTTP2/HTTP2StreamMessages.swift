import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

/// The conversions between an HTTP/2 stream's header blocks and the request and response forms the
/// gateway works with, done in ``GatewayHandler`` itself instead of a codec handler per stream.
///
/// NIOHTTP2 has already validated the header block (pseudo-headers present once and first, lower-case
/// names, no connection-specific fields) and checks DATA against `content-length`.
enum HTTP2StreamMessages {
    /// A request header block that has no HTTP/1 equivalent (a pseudo-header missing or repeated).
    struct MalformedRequest: Error {
        var reason: String
    }

    /// The request head of a stream's first header block, as NIO's HTTP/2 to HTTP/1 codec built it:
    /// `:method` and `:path` as method and target, the authority as `Host`, and for a method that
    /// carries a body without `content-length`, `content-length: 0` when the stream ended with the
    /// head, else `transfer-encoding: chunked`.
    ///
    /// `:authority` is the request's one authority: a `host` field that repeats it is dropped, and one
    /// that differs is kept beside it as a second `Host` value, which admission refuses with 400 as it
    /// refuses two Host headers on HTTP/1.1 (``RequestAuthority``). (NIO's codec would keep the `host`
    /// field and drop `:authority`, so `:authority: a` with `host: b` would reach the upstream as b.)
    /// - Parameters:
    ///   - headers: the decoded header block.
    ///   - endStream: whether the block ended the stream.
    static func requestHead(_ headers: HPACKHeaders, endStream: Bool) throws(MalformedRequest) -> HTTPRequestHead {
        let method = HTTPMethod(rawValue: try pseudoHeader(":method", in: headers))
        let path = try pseudoHeader(":path", in: headers)
        _ = try pseudoHeader(":scheme", in: headers)
        let authority = try pseudoHeader(":authority", in: headers)

        var fields: [(String, String)] = []
        fields.reserveCapacity(headers.count)
        var hostsDiffer = false
        var hasLength = false
        for (name, value, _) in headers where name.utf8.first != UInt8(ascii: ":") {
            if name == "host" {
                if !RequestAuthority.equalsIgnoringASCIICase(Substring(value), Substring(authority)) { hostsDiffer = true }
                continue
            }
            if name == "content-length" { hasLength = true }
            fields.append((name, value))
        }
        if hostsDiffer {
            // Every `host` value is kept beside the authority: admission refuses the request.
            for value in headers["host"] { fields.append(("host", value)) }
        }
        fields.insert(("host", authority), at: 0)
        switch method {
        case .GET, .HEAD, .DELETE, .CONNECT, .TRACE:
            break
        default:
            if !hasLength { fields.append(endStream ? ("content-length", "0") : ("transfer-encoding", "chunked")) }
        }
        return HTTPRequestHead(version: .http2, method: method, uri: path, headers: HTTPHeaders(fields))
    }

    private static func pseudoHeader(_ name: String, in headers: HPACKHeaders) throws(MalformedRequest) -> String {
        var found: String?
        for (fieldName, value, _) in headers where fieldName == name {
            guard found == nil else { throw MalformedRequest(reason: "\(name) is repeated") }
            found = value
        }
        guard let found else { throw MalformedRequest(reason: "\(name) is missing") }
        return found
    }

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
            block.add(name: lowercased(name), value: value)
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
    static func responseHeaders(_ head: HTTP1ResponseHead, in bytes: ByteBuffer, hsts: String?) -> HPACKHeaders {
        var block = HPACKHeaders()
        block.reserveCapacity(head.fields.count + 2)
        block.add(name: ":status", value: statusText(head.status))
        bytes.withUnsafeReadableBytes { raw in
            for field in head.fields {
                if field.name.isHopByHop || field.isConnectionListed { continue }
                if hsts != nil && field.name == .strictTransportSecurity { continue }
                let name = String(unsafeUninitializedCapacity: field.nameRange.count) { output in
                    for (offset, index) in field.nameRange.enumerated() { output[offset] = HTTP1Bytes.lowered(raw[index]) }
                    return field.nameRange.count
                }
                block.add(name: name, value: String(decoding: UnsafeRawBufferPointer(rebasing: raw[field.valueRange]), as: UTF8.self))
            }
        }
        if let hsts { block.add(name: "strict-transport-security", value: hsts) }
        return block
    }

    /// `content-length` and the rest stay; `connection` and the fields tied to HTTP/1 connections go.
    private static func isConnectionSpecific(_ name: String) -> Bool {
        HeaderName.isOne(of: connectionSpecific, name)
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
