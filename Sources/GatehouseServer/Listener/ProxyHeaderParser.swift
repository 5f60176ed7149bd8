import GatehouseCore

/// Reads a PROXY protocol header, v1 (text) or v2 (binary), exactly as
/// https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt describes it, from the first bytes of
/// a connection. Pure: it sees bytes and says ``ProxyHeaderParse/incomplete``, a header and its
/// length, or why it is refused.
///
/// Strict where the spec allows a choice: both formats must fit the 536-byte segment the spec
/// designs them for, a v1 line must end in CRLF within 107 bytes, anything not matching the grammar
/// is refused (the spec: "must be discarded and cause the receiver to abort the connection"), and a
/// partial header is never refused for being partial (a byte-at-a-time sender is slow, not wrong;
/// the listener's timeout deals with one that stops). swift-nio-extras has no PROXY protocol decoder,
/// hence this one.
enum ProxyHeaderParser {
    /// The 12 bytes every v2 header starts with (§2.2).
    static let v2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]
    /// The longest v1 line, CRLF included: `PROXY UNKNOWN` with two full IPv6 addresses and ports (§2.1).
    static let maxV1LineBytes = 107
    /// The longest v2 header accepted: the smallest TCP segment every host must take (576 − 40), which
    /// the spec designs both formats to fit in so that the header arrives at once. HAProxy's own
    /// headers (addresses, ALPN, authority, unique id, SSL details) stay well below it.
    static let maxV2HeaderBytes = 536
    /// More bytes than this are never needed to decide.
    static let maxHeaderBytes = max(maxV1LineBytes, maxV2HeaderBytes)

    private static let v1Prefix = Array("PROXY ".utf8)
    private static let cr: UInt8 = 0x0D
    private static let lf: UInt8 = 0x0A

    /// Reads a header from the start of `bytes`.
    /// - Parameter bytes: the connection's first bytes (at most ``maxHeaderBytes`` are looked at).
    static func parse(_ bytes: ArraySlice<UInt8>) -> ProxyHeaderParse {
        guard let first = bytes.first else { return .incomplete }
        switch first {
        case v2Signature[0]: return parseV2(bytes)
        case v1Prefix[0]: return parseV1(bytes)
        default: return .refused(.notAProxyHeader)
        }
    }

    /// Reads a header from the start of a whole array.
    static func parse(_ bytes: [UInt8]) -> ProxyHeaderParse {
        parse(bytes[...])
    }

    // MARK: - v2

    private static func parseV2(_ bytes: ArraySlice<UInt8>) -> ProxyHeaderParse {
        let b = Array(bytes.prefix(maxV2HeaderBytes))
        guard b.prefix(v2Signature.count).elementsEqual(v2Signature.prefix(b.count)) else { return .refused(.notAProxyHeader) }
        // Refuse a bad version, command or family as soon as its byte is there.
        if b.count > 12 {
            guard b[12] >> 4 == 2 else { return .refused(.v2UnsupportedVersion) }
            guard b[12] & 0x0F <= 1 else { return .refused(.v2UnknownCommand) }
        }
        if b.count > 13 {
            guard b[13] >> 4 <= 3, b[13] & 0x0F <= 2 else { return .refused(.v2UnknownFamily) }
        }
        guard b.count >= 16 else { return .incomplete }
        let isProxy = b[12] & 0x0F == 1
        let family = b[13] >> 4
        let transport = b[13] & 0x0F
        let length = 16 + (Int(b[14]) << 8 | Int(b[15]))
        guard length <= maxV2HeaderBytes else { return .refused(.v2TooLong) }
        // LOCAL: the block (and the family) is ignored whole. PROXY over an unspecified transport
        // carries no address to skip; otherwise the family fixes the address block's size.
        let addressBytes = isProxy && transport != 0 ? [0, 12, 36, 216][Int(family)] : 0
        guard length - 16 >= addressBytes else { return .refused(.v2AddressBlockTooShort) }
        guard b.count >= length else { return .incomplete }
        if isProxy && family != 0 && transport != 0 {
            guard tlvsFit(b[(16 + addressBytes)..<length]) else { return .refused(.v2BadTLV) }
        }
        var client: String?
        if isProxy && transport == 1 {
            switch family {
            case 1: client = ClientAddress.normalize(bytes: Array(b[16..<20]))
            case 2: client = ClientAddress.normalize(bytes: Array(b[16..<32]))
            default: client = nil
            }
        }
        return .header(ProxyHeader(clientAddress: client, version: 2), length: length)
    }

    /// Whether `tlvs` is a sequence of type (1 byte), length (2 bytes, big-endian), value that ends
    /// exactly at the end of the header. Their contents are skipped: Gatehouse uses none of them.
    private static func tlvsFit(_ tlvs: ArraySlice<UInt8>) -> Bool {
        var index = tlvs.startIndex
        while index < tlvs.endIndex {
            guard tlvs.endIndex - index >= 3 else { return false }
            let valueLength = Int(tlvs[index + 1]) << 8 | Int(tlvs[index + 2])
            guard tlvs.endIndex - (index + 3) >= valueLength else { return false }
            index += 3 + valueLength
        }
        return true
    }

    // MARK: - v1

    private static func parseV1(_ bytes: ArraySlice<UInt8>) -> ProxyHeaderParse {
        let b = Array(bytes.prefix(maxV1LineBytes))
        guard b.prefix(v1Prefix.count).elementsEqual(v1Prefix.prefix(b.count)) else { return .refused(.notAProxyHeader) }
        var end: Int?
        for index in b.indices {
            if b[index] == lf {
                guard index > 0, b[index - 1] == cr else { return .refused(.v1BadLineEnding) }
                end = index - 1
                break
            }
            if b[index] == cr, index + 1 < b.count, b[index + 1] != lf { return .refused(.v1BadLineEnding) }
        }
        guard let end else {
            return b.count >= maxV1LineBytes ? .refused(.v1LineTooLong) : .incomplete
        }
        let line = b[..<end]
        let fields = line.split(separator: 0x20, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        // fields[0] is "PROXY" (the prefix was checked with its space).
        switch fields[1] {
        case "UNKNOWN":
            // The rest of the line is ignored (§2.1).
            return .header(ProxyHeader(clientAddress: nil, version: 1), length: end + 2)
        case "TCP4", "TCP6":
            guard line.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }), fields.count == 6 else { return .refused(.v1Malformed) }
            let isV6 = fields[1] == "TCP6"
            guard let source = v1Address(fields[2], v6: isV6), v1Address(fields[3], v6: isV6) != nil else {
                return .refused(.v1BadAddress)
            }
            guard isPort(fields[4]), isPort(fields[5]) else { return .refused(.v1BadPort) }
            return .header(ProxyHeader(clientAddress: ClientAddress.normalize(bytes: source), version: 1), length: end + 2)
        default:
            return .refused(.v1UnknownProtocol)
        }
    }

    /// The bytes of a v1 address in the family's canonical text: four decimal numbers 0-255 without
    /// leading zeros, or IPv6 as hexadecimal groups with at most one `::` (no zone, no dotted tail).
    private static func v1Address(_ text: String, v6: Bool) -> [UInt8]? {
        if v6 {
            guard (2...39).contains(text.utf8.count), text.utf8.allSatisfy({ $0 == UInt8(ascii: ":") || $0.isHexDigit }) else { return nil }
            guard let bytes = IPNetwork.parseAddress(text), bytes.count == 16 else { return nil }
            return bytes
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard let value = decimal(part), value <= 255 else { return nil }
            bytes.append(UInt8(value))
        }
        return bytes
    }

    private static func isPort(_ text: String) -> Bool {
        guard let value = decimal(Substring(text)) else { return false }
        return value <= 65535
    }

    /// A decimal number of 1 to 5 digits without a leading zero (`0` itself is fine).
    private static func decimal(_ text: Substring) -> Int? {
        guard (1...5).contains(text.utf8.count), text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        guard text.utf8.count == 1 || text.utf8.first != UInt8(ascii: "0") else { return nil }
        return Int(text)
    }
}

extension UInt8 {
    fileprivate var isHexDigit: Bool {
        (0x30...0x39).contains(self) || (0x41...0x46).contains(self) || (0x61...0x66).contains(self)
    }
}
