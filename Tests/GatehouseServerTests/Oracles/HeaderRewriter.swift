import NIOHTTP1

@testable import GatehouseServer

// A reference implementation kept for the differential tests: production code no longer uses it
// (issue 9 moved both protocols onto the byte-level head; see docs/architecture.md).

/// The header edits of the proxy phase (Pingora's `upstream_request_filter` / `response_filter`).
///
/// Pure functions of their inputs, so they are unit-tested without a network.
enum HeaderRewriter {
    /// Hop-by-hop headers (RFC 9110 §7.6.1) plus the legacy ones proxies also drop.
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authenticate", "proxy-authorization",
    ]

    /// Headers a client must not be able to set for the upstream: Synapse believes the left-most
    /// `X-Forwarded-For`, so these are always replaced by what Gatehouse saw itself.
    static let clientForwarding: Set<String> = [
        "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "forwarded", "x-real-ip",
        // Gatehouse answers `Expect: 100-continue` itself once it has accepted the request.
        "expect",
    ]

    /// How the request body is framed toward the upstream.
    enum BodyFraming: Equatable {
        case absent
        case contentLength(Int)
        case chunked
    }

    /// A rewritten request head and the bytes it takes on the wire (see ``serializedSize(of:)``),
    /// counted while the head is built.
    struct UpstreamRequest {
        var head: HTTPRequestHead
        var serializedSize: Int
    }

    /// The request head sent upstream: HTTP/1.1, the client's exact target bytes, hop-by-hop and
    /// client forwarding headers removed, `X-Forwarded-For`/`-Proto` set from the connection.
    /// - Parameters:
    ///   - head: the client's request head.
    ///   - target: the origin-form target to send (the client's bytes).
    ///   - peerAddress: the TCP peer's IP address.
    ///   - scheme: `https` or `http`, from the listener.
    ///   - framing: the body framing decided for this request.
    static func upstreamRequestHead(
        from head: HTTPRequestHead, target: Substring, peerAddress: String?, scheme: String, framing: BodyFraming
    ) -> HTTPRequestHead {
        upstreamRequest(from: head, target: target, peerAddress: peerAddress, scheme: scheme, framing: framing).head
    }

    /// ``upstreamRequestHead(from:target:peerAddress:scheme:framing:)`` with its serialized size,
    /// summed in the same pass over the headers.
    static func upstreamRequest(
        from head: HTTPRequestHead, target: Substring, peerAddress: String?, scheme: String, framing: BodyFraming
    ) -> UpstreamRequest {
        let connectionTokens = connectionTokens(in: head.headers)
        var headers = HTTPHeaders()
        headers.reserveCapacity(head.headers.count + 3)
        // Request line: method, space, target, " HTTP/1.1" and CRLF; then the blank line.
        var size = head.method.rawValue.utf8.count + target.utf8.count + 14
        for (name, value) in head.headers {
            // Most header names are none of these: they are told apart without a lower-cased copy.
            if connectionTokens.isEmpty {
                if HeaderName.mayBeDropped(name), HeaderName.isOne(of: HeaderName.droppedUpstream, name) { continue }
            } else {
                let lower = name.lowercased()
                if hopByHop.contains(lower) || clientForwarding.contains(lower) || lower == "content-length"
                    || connectionTokens.contains(lower)
                {
                    continue
                }
            }
            headers.add(name: name, value: value)
            size += name.utf8.count + value.utf8.count + 4
        }
        if let peerAddress {
            headers.add(name: "X-Forwarded-For", value: peerAddress)
            size += 15 + peerAddress.utf8.count + 4
        }
        headers.add(name: "X-Forwarded-Proto", value: scheme)
        size += 17 + scheme.utf8.count + 4
        switch framing {
        case .absent: break
        case .contentLength(let length):
            let value = String(length)
            headers.add(name: "Content-Length", value: value)
            size += 14 + value.utf8.count + 4
        case .chunked:
            headers.add(name: "Transfer-Encoding", value: "chunked")
            size += 17 + 7 + 4
        }
        let upstream = HTTPRequestHead(version: .http1_1, method: head.method, uri: String(target), headers: headers)
        return UpstreamRequest(head: upstream, serializedSize: size)
    }

    /// The bytes `head` takes on the wire as an HTTP/1.1 request head (request line, header lines,
    /// blank line), as ``UpstreamRequestWriter`` writes it.
    static func serializedSize(of head: HTTPRequestHead) -> Int {
        var size = head.method.rawValue.utf8.count + head.uri.utf8.count + 14
        for (name, value) in head.headers { size += name.utf8.count + value.utf8.count + 4 }
        return size
    }

    /// The response head sent to the client: hop-by-hop headers removed, HSTS set on TLS listeners.
    /// - Parameters:
    ///   - head: the upstream's response head.
    ///   - hsts: the `Strict-Transport-Security` value, or `nil` on plain listeners.
    ///   - close: whether the client connection closes after this response (HTTP/1 only).
    static func downstreamResponseHead(from head: HTTPResponseHead, hsts: String?, close: Bool) -> HTTPResponseHead {
        let connectionTokens = connectionTokens(in: head.headers)
        var headers = HTTPHeaders()
        headers.reserveCapacity(head.headers.count + 2)
        for (name, value) in head.headers {
            if connectionTokens.isEmpty {
                if HeaderName.mayBeDropped(name), HeaderName.isOne(of: HeaderName.hopByHop, name)
                    || (hsts != nil && HeaderName.isOne(of: HeaderName.strictTransportSecurity, name))
                {
                    continue
                }
            } else {
                let lower = name.lowercased()
                if hopByHop.contains(lower) || connectionTokens.contains(lower)
                    || (hsts != nil && lower == "strict-transport-security")
                {
                    continue
                }
            }
            headers.add(name: name, value: value)
        }
        if let hsts { headers.add(name: "Strict-Transport-Security", value: hsts) }
        if close { headers.add(name: "Connection", value: "close") }
        return HTTPResponseHead(version: .http1_1, status: head.status, headers: headers)
    }

    /// Header names listed in `Connection`, which are hop-by-hop for this message (RFC 9110 §7.6.1).
    static func connectionTokens(in headers: HTTPHeaders) -> Set<String> {
        guard headers.contains(name: "connection") else { return [] }
        var tokens: Set<String> = []
        for value in headers["connection"] {
            // The usual values name no header: skip the parsing.
            if HeaderName.isOne(of: HeaderName.plainConnectionValues, value) { continue }
            for token in value.split(separator: ",") {
                let trimmed = token.trimmingCharacters(in: " \t").lowercased()
                if !trimmed.isEmpty && trimmed != "keep-alive" && trimmed != "close" { tokens.insert(trimmed) }
            }
        }
        return tokens
    }
}

/// Cheap pre-checks on header names, so the common header costs no allocation.
enum HeaderName {
    /// ``HeaderRewriter/hopByHop`` as byte strings.
    static let hopByHop: [StaticString] = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "proxy-authenticate",
        "proxy-authorization",
    ]
    /// What ``HeaderRewriter/upstreamRequestHead(from:target:peerAddress:scheme:framing:)`` drops when
    /// `Connection` names no header: hop-by-hop, ``HeaderRewriter/clientForwarding`` and `content-length`.
    static let droppedUpstream: [StaticString] =
        hopByHop + [
            "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "forwarded", "x-real-ip", "expect",
            "content-length",
        ]
    static let strictTransportSecurity: [StaticString] = ["strict-transport-security"]
    /// `Connection` values that name no header.
    static let plainConnectionValues: [StaticString] = ["keep-alive", "close"]

    /// Whether `name` is one of the lower-case `names`, ignoring ASCII case; allocates nothing.
    static func isOne(of names: [StaticString], _ name: String) -> Bool {
        var name = name
        return name.withUTF8 { bytes in
            names.contains { candidate in
                guard candidate.utf8CodeUnitCount == bytes.count else { return false }
                let expected = candidate.utf8Start
                for index in 0..<bytes.count {
                    let byte = bytes[index]
                    if (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte) != expected[index] { return false }
                }
                return true
            }
        }
    }

    /// First bytes (lower-cased) of every name a rewrite may drop: connection, content-length, expect,
    /// forwarded, keep-alive, proxy-*, strict-transport-security, te, trailer, transfer-encoding,
    /// upgrade, x-forwarded-*, x-real-ip; plus anything listed in a `Connection` header, which can be
    /// any name, so a `Connection` header with tokens disables this shortcut (see `connectionTokens`).
    static func mayBeDropped(_ name: String) -> Bool {
        guard let first = name.utf8.first else { return false }
        switch first | 0x20 {
        case UInt8(ascii: "c"), UInt8(ascii: "e"), UInt8(ascii: "f"), UInt8(ascii: "k"), UInt8(ascii: "p"),
            UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "u"), UInt8(ascii: "x"):
            return true
        default:
            return false
        }
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> Substring {
        var result = self
        while let first = result.first, set.contains(first) { result = result.dropFirst() }
        while let last = result.last, set.contains(last) { result = result.dropLast() }
        return result
    }
}
