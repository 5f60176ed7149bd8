import Testing

@testable import GatehouseServer

/// ``ProxyHeaderParser`` against https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt: every
/// valid form is read with its exact length, every strict prefix of one waits for more, and each way
/// of breaking the grammar is refused for its own reason.
struct ProxyHeaderParserTests {
    static let signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

    /// A v2 header: signature, version/command, family/transport, big-endian length, then `block`.
    static func v2(_ versionCommand: UInt8, _ family: UInt8, _ block: [UInt8], length: Int? = nil) -> [UInt8] {
        let length = length ?? block.count
        return signature + [versionCommand, family, UInt8(length >> 8), UInt8(length & 0xFF)] + block
    }

    /// TCP over IPv4 from 203.0.113.7:51000 to 10.0.0.21:8443.
    static let ipv4Block: [UInt8] = [203, 0, 113, 7, 10, 0, 0, 21, 0xC7, 0x38, 0x20, 0xFB]
    /// TCP over IPv6 from 2001:db8::7 to 2001:db8::21.
    static let ipv6Block: [UInt8] =
        [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [7]
        + [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [0x21] + [0xC7, 0x38, 0x20, 0xFB]

    static func parse(_ text: String) -> ProxyHeaderParse { ProxyHeaderParser.parse(Array(text.utf8)) }

    // MARK: valid headers

    @Test(arguments: [
        ("PROXY TCP4 203.0.113.7 10.0.0.21 51000 8443\r\n", "203.0.113.7"),
        ("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n", "0.0.0.0"),
        ("PROXY TCP6 2001:db8::7 2001:db8::21 51000 8443\r\n", "2001:db8::7"),
        ("PROXY TCP6 2001:0DB8:0000:0000:0000:0000:0000:0007 ::1 1 2\r\n", "2001:db8::7"),
        ("PROXY TCP6 ::ffff:cb00:7107 ::1 1 2\r\n", "203.0.113.7"),
    ])
    func v1TCP(line: String, client: String) {
        #expect(Self.parse(line + "\u{16}\u{03}\u{01}") == .header(ProxyHeader(clientAddress: client, version: 1), length: line.utf8.count))
    }

    @Test(arguments: [
        "PROXY UNKNOWN\r\n",
        "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
        "PROXY UNKNOWN whatever follows is ignored\r\n",
    ])
    func v1UnknownKeepsThePeer(line: String) {
        #expect(Self.parse(line + "GET /") == .header(ProxyHeader(clientAddress: nil, version: 1), length: line.utf8.count))
    }

    @Test func v1TheLongestLineIsAccepted() {
        let line = "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"
        #expect(line.utf8.count == 107)
        #expect(Self.parse(line) == .header(ProxyHeader(clientAddress: nil, version: 1), length: 107))
    }

    @Test func v2ProxyOverIPv4AndIPv6() {
        let v4 = Self.v2(0x21, 0x11, Self.ipv4Block)
        #expect(ProxyHeaderParser.parse(v4 + [0x16, 0x03]) == .header(ProxyHeader(clientAddress: "203.0.113.7", version: 2), length: 28))
        let v6 = Self.v2(0x21, 0x21, Self.ipv6Block)
        #expect(ProxyHeaderParser.parse(v6 + [0x16]) == .header(ProxyHeader(clientAddress: "2001:db8::7", version: 2), length: 52))
    }

    @Test func v2LocalKeepsThePeerWhateverTheBlock() {
        #expect(ProxyHeaderParser.parse(Self.v2(0x20, 0x00, [])) == .header(ProxyHeader(clientAddress: nil, version: 2), length: 16))
        // Receivers "must not assume zero is presented for LOCAL connections": the block is skipped.
        #expect(ProxyHeaderParser.parse(Self.v2(0x20, 0x11, Self.ipv4Block) + [0x16])
            == .header(ProxyHeader(clientAddress: nil, version: 2), length: 28))
    }

    @Test func v2FamiliesWithoutAnIPClientFallBackToThePeer() {
        // AF_UNSPEC, UDP over IPv4, UNIX stream: valid, but no TCP client address to take.
        #expect(ProxyHeaderParser.parse(Self.v2(0x21, 0x00, [1, 2, 3])) == .header(ProxyHeader(clientAddress: nil, version: 2), length: 19))
        #expect(ProxyHeaderParser.parse(Self.v2(0x21, 0x12, Self.ipv4Block)) == .header(ProxyHeader(clientAddress: nil, version: 2), length: 28))
        let unix = [UInt8](repeating: 0x61, count: 216)
        #expect(ProxyHeaderParser.parse(Self.v2(0x21, 0x31, unix)) == .header(ProxyHeader(clientAddress: nil, version: 2), length: 232))
    }

    @Test func v2TLVsAreSkipped() {
        // ALPN "h2", authority "matrix.example.org", an empty NOOP, a unique id.
        let tlvs: [UInt8] = [0x01, 0, 2] + Array("h2".utf8) + [0x02, 0, 18] + Array("matrix.example.org".utf8) + [0x04, 0, 0]
            + [0x05, 0, 4, 1, 2, 3, 4]
        let header = Self.v2(0x21, 0x11, Self.ipv4Block + tlvs)
        #expect(ProxyHeaderParser.parse(header + Array("GET".utf8))
            == .header(ProxyHeader(clientAddress: "203.0.113.7", version: 2), length: header.count))
    }

    @Test func v2UpToTheSegmentLimitIsAccepted() {
        let padding: [UInt8] = [0x04, 0x01, 0xF9] + [UInt8](repeating: 0, count: 505)   // NOOP TLV of 505 bytes
        let header = Self.v2(0x21, 0x11, Self.ipv4Block + padding)
        #expect(header.count == 536)
        #expect(ProxyHeaderParser.parse(header) == .header(ProxyHeader(clientAddress: "203.0.113.7", version: 2), length: 536))
    }

    // MARK: partial headers

    @Test(arguments: [
        Array("PROXY TCP4 203.0.113.7 10.0.0.21 51000 8443\r\n".utf8),
        Array("PROXY TCP6 2001:db8::7 2001:db8::21 51000 8443\r\n".utf8),
        Array("PROXY UNKNOWN\r\n".utf8),
        ProxyHeaderParserTests.v2(0x21, 0x11, ProxyHeaderParserTests.ipv4Block),
        ProxyHeaderParserTests.v2(0x21, 0x21, ProxyHeaderParserTests.ipv6Block + [0x01, 0, 2, 0x68, 0x32]),
        ProxyHeaderParserTests.v2(0x20, 0x00, []),
    ])
    func everyStrictPrefixWaitsForMore(header: [UInt8]) {
        for length in 0..<header.count {
            #expect(ProxyHeaderParser.parse(Array(header.prefix(length))) == .incomplete, "prefix of \(length) bytes")
        }
        guard case .header(_, let length) = ProxyHeaderParser.parse(header) else {
            Issue.record("the whole header is not read")
            return
        }
        #expect(length == header.count)
    }

    // MARK: refusals

    @Test(arguments: [
        ([0x16, 0x03, 0x01, 0x00] as [UInt8], ProxyHeaderError.notAProxyHeader),    // a TLS ClientHello
        (Array("GET / HTTP/1.1\r\n".utf8), .notAProxyHeader),
        (Array("PRI * HTTP/2.0".utf8), .notAProxyHeader),
        (Array("proxy TCP4".utf8), .notAProxyHeader),
        (Array("PROXY\tTCP4".utf8), .notAProxyHeader),
        ([0x0D, 0x0A, 0x0D, 0x0A, 0x01] as [UInt8], .notAProxyHeader),             // bad signature
        ([0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0D] as [UInt8], .notAProxyHeader),
    ])
    func notAHeaderIsRefusedFromItsFirstWrongByte(bytes: [UInt8], error: ProxyHeaderError) {
        #expect(ProxyHeaderParser.parse(bytes) == .refused(error))
    }

    @Test(arguments: [
        ("PROXY TCP4 203.0.113.7 10.0.0.21 51000 8443\n", ProxyHeaderError.v1BadLineEnding),
        ("PROXY TCP4 203.0.113.7 10.0.0.21 51000 8443\rX", .v1BadLineEnding),
        ("PROXY TCP4 203.0.113.7\r10.0.0.21 51000 8443\r\n", .v1BadLineEnding),
        ("PROXY TCP5 203.0.113.7 10.0.0.21 51000 8443\r\n", .v1UnknownProtocol),
        ("PROXY UDP4 203.0.113.7 10.0.0.21 51000 8443\r\n", .v1UnknownProtocol),
        ("PROXY UNKNOWNX\r\n", .v1UnknownProtocol),
        ("PROXY \r\n", .v1UnknownProtocol),
        ("PROXY  TCP4 203.0.113.7 10.0.0.21 51000 8443\r\n", .v1UnknownProtocol),
        ("PROXY TCP4 203.0.113.7 10.0.0.21 51000\r\n", .v1Malformed),
        ("PROXY TCP4 203.0.113.7 10.0.0.21 51000 8443 \r\n", .v1Malformed),
        ("PROXY TCP4 203.0.113.7  10.0.0.21 51000 8443\r\n", .v1Malformed),
        ("PROXY TCP4 203.0.113.7 10.0.0.21 51000 8443\u{7F}\r\n", .v1Malformed),
        ("PROXY TCP4 203.0.113.07 10.0.0.21 51000 8443\r\n", .v1BadAddress),
        ("PROXY TCP4 203.0.113.256 10.0.0.21 51000 8443\r\n", .v1BadAddress),
        ("PROXY TCP4 203.0.113 10.0.0.21 51000 8443\r\n", .v1BadAddress),
        ("PROXY TCP4 203.0.113.7 10.0.0.x 51000 8443\r\n", .v1BadAddress),
        ("PROXY TCP4 2001:db8::7 2001:db8::21 51000 8443\r\n", .v1BadAddress),
        ("PROXY TCP6 203.0.113.7 10.0.0.21 51000 8443\r\n", .v1BadAddress),
        ("PROXY TCP6 2001:db8::7%eth0 2001:db8::21 51000 8443\r\n", .v1BadAddress),
        ("PROXY TCP6 ::ffff:203.0.113.7 ::1 51000 8443\r\n", .v1BadAddress),
        ("PROXY TCP6 2001:db8:::7 ::1 51000 8443\r\n", .v1BadAddress),
        ("PROXY TCP4 203.0.113.7 10.0.0.21 051000 8443\r\n", .v1BadPort),
        ("PROXY TCP4 203.0.113.7 10.0.0.21 65536 8443\r\n", .v1BadPort),
        ("PROXY TCP4 203.0.113.7 10.0.0.21 51000 -1\r\n", .v1BadPort),
        ("PROXY TCP4 203.0.113.7 10.0.0.21 51000 08443\r\n", .v1BadPort),
    ])
    func v1Refusals(line: String, error: ProxyHeaderError) {
        #expect(Self.parse(line) == .refused(error))
    }

    @Test func v1WithoutCRLFWithin107BytesIsRefused() {
        let line = "PROXY UNKNOWN " + String(repeating: "f", count: 92) + "\r\n"
        #expect(line.utf8.count == 108)
        let bytes = Array(line.utf8)
        // 107 bytes ending in CR: the LF would be the 108th.
        #expect(ProxyHeaderParser.parse(bytes.dropLast(1)) == .refused(.v1LineTooLong))
        #expect(ProxyHeaderParser.parse(bytes) == .refused(.v1LineTooLong))
        // At 106 bytes it still waits, since the CRLF may come as the 106th and 107th.
        #expect(ProxyHeaderParser.parse(bytes.prefix(106)) == .incomplete)
    }

    @Test(arguments: [
        (ProxyHeaderParserTests.v2(0x11, 0x11, ProxyHeaderParserTests.ipv4Block), ProxyHeaderError.v2UnsupportedVersion),
        (ProxyHeaderParserTests.v2(0x31, 0x11, ProxyHeaderParserTests.ipv4Block), .v2UnsupportedVersion),
        (ProxyHeaderParserTests.v2(0x22, 0x11, ProxyHeaderParserTests.ipv4Block), .v2UnknownCommand),
        (ProxyHeaderParserTests.v2(0x2F, 0x11, ProxyHeaderParserTests.ipv4Block), .v2UnknownCommand),
        (ProxyHeaderParserTests.v2(0x21, 0x41, ProxyHeaderParserTests.ipv4Block), .v2UnknownFamily),
        (ProxyHeaderParserTests.v2(0x21, 0x13, ProxyHeaderParserTests.ipv4Block), .v2UnknownFamily),
        (ProxyHeaderParserTests.v2(0x20, 0xF0, []), .v2UnknownFamily),
        (ProxyHeaderParserTests.v2(0x21, 0x11, Array(ProxyHeaderParserTests.ipv4Block.prefix(11))), .v2AddressBlockTooShort),
        (ProxyHeaderParserTests.v2(0x21, 0x21, ProxyHeaderParserTests.ipv4Block), .v2AddressBlockTooShort),
        (ProxyHeaderParserTests.v2(0x21, 0x31, ProxyHeaderParserTests.ipv6Block), .v2AddressBlockTooShort),
        (ProxyHeaderParserTests.v2(0x21, 0x11, ProxyHeaderParserTests.ipv4Block + [0x01, 0]), .v2BadTLV),
        (ProxyHeaderParserTests.v2(0x21, 0x11, ProxyHeaderParserTests.ipv4Block + [0x01, 0, 3, 0x68, 0x32]), .v2BadTLV),
        (ProxyHeaderParserTests.v2(0x21, 0x11, ProxyHeaderParserTests.ipv4Block + [0x04, 0, 0, 0x05]), .v2BadTLV),
    ])
    func v2Refusals(header: [UInt8], error: ProxyHeaderError) {
        #expect(ProxyHeaderParser.parse(header) == .refused(error))
    }

    @Test func v2BadVersionCommandAndFamilyAreRefusedBeforeTheLength() {
        #expect(ProxyHeaderParser.parse(Self.signature + [0x11]) == .refused(.v2UnsupportedVersion))
        #expect(ProxyHeaderParser.parse(Self.signature + [0x23]) == .refused(.v2UnknownCommand))
        #expect(ProxyHeaderParser.parse(Self.signature + [0x21, 0x14]) == .refused(.v2UnknownFamily))
    }

    @Test func v2LongerThanTheSegmentLimitIsRefusedAsSoonAsTheLengthIsRead() {
        // 16 + 521 = 537 bytes announced; refused from the first 16, without waiting for the rest.
        let header = Self.v2(0x21, 0x11, Self.ipv4Block, length: 521)
        #expect(ProxyHeaderParser.parse(header) == .refused(.v2TooLong))
        #expect(ProxyHeaderParser.parse(Self.v2(0x20, 0x00, [], length: 0xFFFF)) == .refused(.v2TooLong))
    }

    @Test func refusalsSayWhyWithoutTheBytes() {
        #expect(ProxyHeaderError.v2TooLong.shortDescription == "v2 header longer than 536 bytes")
        #expect("\(ProxyHeaderError.notAProxyHeader)" == "not a PROXY protocol header")
    }
}
