/// The client address a request is rate-limited by, as MAS's `ClientIp` extractor finds it for
/// `X-Forwarded-For` (`http.trusted_proxies`).
///
/// ## Which address
/// The TCP peer, unless the peer is a trusted proxy. Only then is `X-Forwarded-For` read, from the
/// right: each proxy appends the address it received the connection from, so the right-most entry
/// was written by the peer, the one left of it by the proxy before, and so on. Entries are skipped
/// while they are trusted proxies themselves; the first untrusted one is the client. Everything left
/// of it was written by the client (or by proxies we do not trust) and is never looked at.
///
/// - When every entry is a trusted proxy, the left-most one is used (the request started inside
///   the trusted network).
/// - An entry that is not an IP literal (`unknown`, a host name, garbage) stops the walk and the last
///   trusted hop (the entry to its right, or the peer) is used. That hop is an address we trust to
///   be real; the broken entry is not. Empty entries (`a,,b`, a trailing comma) are skipped.
/// - An untrusted peer's `X-Forwarded-For` is ignored entirely, so a client that connects directly can
///   never choose its own rate-limit key.
/// - No peer (e.g. a Unix socket) or a peer that is not an IP literal gives `nil`: the caller should
///   use one shared bucket for all such requests (MAS uses `"(NO CLIENT IP)"`).
///
/// ## Normal form
/// The result is always normalised so that one client maps to one key: IPv4 as dotted quad, IPv4-mapped
/// IPv6 (`::ffff:192.0.2.1`) as the IPv4 address, other IPv6 in the RFC 5952 form (lower case, no
/// leading zeros, the longest run of two or more zero groups as `::`). Entries may be written as
/// `[v6]`, `[v6]:port` or `v4:port` (some proxies append the port); the port and an IPv6 zone
/// (`%eth0`) are dropped.
public enum ClientAddress {
    /// The address to rate-limit a request by.
    /// - Parameters:
    ///   - peer: the TCP peer's IP address, or `nil` when there is none.
    ///   - forwardedFor: every `X-Forwarded-For` header value, in the order received; each may list
    ///     several comma-separated addresses.
    ///   - trustedProxies: `http.trusted_proxies`.
    /// - Returns: the normalised client address, or `nil` when the peer is unknown.
    public static func resolve(peer: String?, forwardedFor: [String], trustedProxies: [IPNetwork]) -> String? {
        guard let peer, var client = parse(Substring(peer)) else { return nil }
        guard isTrusted(client, by: trustedProxies) else { return format(client) }
        walk: for value in forwardedFor.reversed() {
            for entry in value.split(separator: ",", omittingEmptySubsequences: false).reversed() {
                let trimmed = trim(entry)
                if trimmed.isEmpty { continue }
                guard let hop = parse(trimmed) else { break walk }
                client = hop
                if !isTrusted(hop, by: trustedProxies) { break walk }
            }
        }
        return format(client)
    }

    /// The normal form of an IP literal (see the type's documentation), or `nil` when `text` is not one.
    /// - Parameter text: an IPv4 or IPv6 address, optionally bracketed or with a port.
    public static func normalize(_ text: String) -> String? {
        parse(Substring(text)).map(format)
    }

    /// Whether the peer at `peer` is in `http.trusted_proxies` (what a `proxy_protocol` listener checks
    /// before it reads a PROXY header).
    /// - Parameters:
    ///   - peer: an IP literal; anything else is not trusted.
    ///   - trustedProxies: `http.trusted_proxies`.
    public static func isTrustedProxy(_ peer: String, trustedProxies: [IPNetwork]) -> Bool {
        guard let address = parse(Substring(peer)) else { return false }
        return isTrusted(address, by: trustedProxies)
    }

    /// The normal form of an address given as its 4 (IPv4) or 16 (IPv6) bytes in network order, as a
    /// PROXY protocol v2 header carries it.
    /// - Parameter bytes: the address bytes; any count other than 4 or 16 is a programming error.
    public static func normalize(bytes: [UInt8]) -> String {
        precondition(bytes.count == 4 || bytes.count == 16, "an IP address is 4 or 16 bytes")
        return format(bytes)
    }

    /// Whether a proxy at `address` is trusted. A plain IPv4 address also matches networks written
    /// in IPv4-mapped IPv6 form, and ``IPNetwork/contains(_:)`` already matches the reverse.
    private static func isTrusted(_ address: [UInt8], by networks: [IPNetwork]) -> Bool {
        if networks.contains(where: { $0.contains(address) }) { return true }
        guard address.count == 4 else { return false }
        let mapped: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] + address
        return networks.contains { $0.contains(mapped) }
    }

    /// Address bytes of `a.b.c.d`, `a.b.c.d:port`, an IPv6 literal, or `[v6]` with an optional `:port`;
    /// an IPv6 zone (`%…`) is ignored.
    private static func parse(_ text: Substring) -> [UInt8]? {
        var host = text
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let rest = host[host.index(after: close)...]
            guard rest.isEmpty || (rest.hasPrefix(":") && isPort(rest.dropFirst())) else { return nil }
            host = host[host.index(after: host.startIndex)..<close]
            guard host.contains(":") else { return nil }
        } else if let colon = host.firstIndex(of: ":"), host[host.index(after: colon)...].firstIndex(of: ":") == nil {
            // Exactly one colon: IPv4 with a port.
            guard isPort(host[host.index(after: colon)...]) else { return nil }
            host = host[..<colon]
            guard !host.contains(":") else { return nil }
            return host.isEmpty ? nil : IPNetwork.parseAddress(String(host)).flatMap { $0.count == 4 ? $0 : nil }
        }
        if let percent = host.firstIndex(of: "%"), host.contains(":") {
            host = host[..<percent]
        }
        guard !host.isEmpty, host.count <= 45 else { return nil }
        return IPNetwork.parseAddress(String(host))
    }

    private static func isPort(_ text: Substring) -> Bool {
        !text.isEmpty && text.count <= 5 && text.allSatisfy { $0.isASCII && $0.isNumber } && Int(text)! <= 65535
    }

    private static func trim(_ text: Substring) -> Substring {
        var result = text
        while let first = result.first, first == " " || first == "\t" { result = result.dropFirst() }
        while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
        return result
    }

    /// Dotted quad for IPv4 and IPv4-mapped IPv6; RFC 5952 §4 text for other IPv6.
    private static func format(_ address: [UInt8]) -> String {
        if address.count == 4 {
            return "\(address[0]).\(address[1]).\(address[2]).\(address[3])"
        }
        if address[0..<10].allSatisfy({ $0 == 0 }), address[10] == 0xFF, address[11] == 0xFF {
            return "\(address[12]).\(address[13]).\(address[14]).\(address[15])"
        }
        let groups = (0..<8).map { UInt16(address[2 * $0]) << 8 | UInt16(address[2 * $0 + 1]) }
        // The longest run of at least two zero groups; the first one on a tie (RFC 5952 §4.2).
        var bestStart = -1
        var bestLength = 1
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else {
                index += 1
                continue
            }
            var end = index
            while end < 8, groups[end] == 0 { end += 1 }
            if end - index > bestLength {
                bestStart = index
                bestLength = end - index
            }
            index = end
        }
        func hex(_ range: Range<Int>) -> String {
            range.map { String(groups[$0], radix: 16) }.joined(separator: ":")
        }
        guard bestStart >= 0 else { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }
}
