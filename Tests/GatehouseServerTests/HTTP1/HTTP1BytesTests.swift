import Testing

@testable import GatehouseServer

/// The word-at-a-time field-value and target checks answer exactly as the byte-by-byte ones.
struct HTTP1BytesTests {
    static func byteByByte(_ bytes: [UInt8], from: Int, to: Int) -> Bool {
        bytes[from..<to].allSatisfy(HTTP1Bytes.isFieldValueByte)
    }

    static func wordAtATime(_ bytes: [UInt8], from: Int, to: Int) -> Bool {
        bytes.withUnsafeBytes { HTTP1Bytes.allFieldValueBytes($0, from: from, to: to) }
    }

    @Test func everyByteAtEveryPositionOfAValueIsJudgedAsByteByByte() {
        for length in 0..<20 {
            for position in 0..<max(length, 1) where length > 0 {
                for byte in 0...255 {
                    var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length + 3)
                    bytes[1 + position] = UInt8(byte)
                    let expected = Self.byteByByte(bytes, from: 1, to: 1 + length)
                    #expect(Self.wordAtATime(bytes, from: 1, to: 1 + length) == expected, "byte \(byte) at \(position) of \(length)")
                }
            }
        }
    }

    @Test func seededRandomValuesAreJudgedAsByteByByte() {
        var generator = SeededGenerator(seed: 0x5eed_0f_fa1e)
        // Mostly visible bytes, now and then a control byte, HTAB, DEL or obs-text.
        let palette: [UInt8] = Array(0x20...0x7E) + [0x09, 0x00, 0x0D, 0x0A, 0x7F, 0x80, 0xC3, 0xFF, 0x1F]
        for _ in 0..<5000 {
            let length = Int(generator.next() % 64)
            let bytes = (0..<(length + 2)).map { _ in palette[Int(generator.next() % UInt64(palette.count))] }
            let from = Int(generator.next() % 2)
            #expect(Self.wordAtATime(bytes, from: from, to: from + length) == Self.byteByByte(bytes, from: from, to: from + length))
        }
    }

    static func targetByteByByte(_ bytes: [UInt8], from: Int, to: Int, allowingNonASCII: Bool) -> Bool {
        bytes[from..<to].allSatisfy { HTTP1Bytes.isTargetByte($0) || (allowingNonASCII && $0 >= 0x80) }
    }

    static func targetWordAtATime(_ bytes: [UInt8], from: Int, to: Int, allowingNonASCII: Bool) -> Bool {
        bytes.withUnsafeBytes { HTTP1Bytes.allTargetBytes($0, from: from, to: to, allowingNonASCII: allowingNonASCII) }
    }

    @Test(arguments: [false, true])
    func everyByteAtEveryPositionOfATargetIsJudgedAsByteByByte(allowingNonASCII: Bool) {
        for length in 1..<20 {
            for position in 0..<length {
                for byte in 0...255 {
                    var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length + 3)
                    bytes[1 + position] = UInt8(byte)
                    let expected = Self.targetByteByByte(bytes, from: 1, to: 1 + length, allowingNonASCII: allowingNonASCII)
                    #expect(
                        Self.targetWordAtATime(bytes, from: 1, to: 1 + length, allowingNonASCII: allowingNonASCII) == expected,
                        "byte \(byte) at \(position) of \(length)")
                }
            }
        }
    }

    @Test(arguments: [false, true])
    func seededRandomTargetsAreJudgedAsByteByByte(allowingNonASCII: Bool) {
        var generator = SeededGenerator(seed: 0x7a9_e75)
        // Mostly visible bytes, now and then a space, a control byte, DEL or raw UTF-8.
        let palette: [UInt8] = Array(0x21...0x7E) + [0x20, 0x09, 0x00, 0x0D, 0x0A, 0x7F, 0x80, 0xC3, 0xFF, 0x1F]
        for _ in 0..<5000 {
            let length = Int(generator.next() % 64)
            let bytes = (0..<(length + 2)).map { _ in palette[Int(generator.next() % UInt64(palette.count))] }
            let from = Int(generator.next() % 2)
            #expect(
                Self.targetWordAtATime(bytes, from: from, to: from + length, allowingNonASCII: allowingNonASCII)
                    == Self.targetByteByByte(bytes, from: from, to: from + length, allowingNonASCII: allowingNonASCII))
        }
    }

    /// What `tokenEnd` replaced: the first colon, then every byte before it a token byte.
    static func nameEndTwoPasses(_ bytes: [UInt8], from: Int, to: Int) -> Int? {
        bytes.withUnsafeBytes { raw in
            guard let colon = HTTP1Bytes.find(HTTP1Bytes.colon, in: raw, from: from, to: to),
                HTTP1Bytes.isToken(raw, from: from, to: colon)
            else { return nil }
            return colon
        }
    }

    @Test func aFieldNameEndsAtItsColonExactlyAsFindingTheColonAndCheckingTheTokenDid() {
        var generator = SeededGenerator(seed: 0x70_ce_4e4d)
        // Token bytes, the colon, and now and then a byte that is not a token (space, tab, `@`, DEL, UTF-8).
        let palette: [UInt8] = Array("abcXYZ-_.!~09".utf8) + [UInt8(ascii: ":"), UInt8(ascii: ":"), 0x20, 0x09, 0x40, 0x7F, 0xC3, 0x00]
        for byte in 0...255 {
            for bytes in [[UInt8(byte), UInt8(ascii: ":")], [UInt8(ascii: "a"), UInt8(byte), UInt8(ascii: ":"), UInt8(ascii: "v")], [UInt8(byte)]] {
                let new = bytes.withUnsafeBytes { HTTP1Bytes.tokenEnd($0, from: 0, to: bytes.count, at: HTTP1Bytes.colon) }
                #expect(new == Self.nameEndTwoPasses(bytes, from: 0, to: bytes.count), "byte \(byte) in \(bytes)")
            }
        }
        for _ in 0..<5000 {
            let length = Int(generator.next() % 24)
            let bytes = (0..<(length + 1)).map { _ in palette[Int(generator.next() % UInt64(palette.count))] }
            let new = bytes.withUnsafeBytes { HTTP1Bytes.tokenEnd($0, from: 0, to: bytes.count, at: HTTP1Bytes.colon) }
            #expect(new == Self.nameEndTwoPasses(bytes, from: 0, to: bytes.count), "\(bytes)")
        }
    }

    /// The names `HTTP1FieldName.classify` compares with, all lower-case letters and `-`.
    static let classifiedNames = [
        "te", "host", "expect", "trailer", "upgrade", "forwarded", "x-real-ip", "connection", "keep-alive", "content-type",
        "authorization", "content-length", "x-forwarded-for", "proxy-connection", "x-forwarded-host", "x-forwarded-port",
        "transfer-encoding", "x-forwarded-proto", "proxy-authenticate", "proxy-authorization", "strict-transport-security",
        "set-cookie",
    ]

    @Test func tokensCompareWithTheClassifiedNamesAsByteByByteIgnoringCase() {
        var generator = SeededGenerator(seed: 0xc1a5_5e5)
        let tokenBytes = (0...255).map(UInt8.init).filter(HTTP1Bytes.isToken)
        for literal in Self.classifiedNames {
            #expect(literal.utf8.allSatisfy { ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || $0 == UInt8(ascii: "-") })
        }
        for _ in 0..<20000 {
            let literal = Self.classifiedNames[Int(generator.next() % UInt64(Self.classifiedNames.count))]
            // The name in a random letter case, with now and then one byte swapped for another token byte.
            var bytes = literal.utf8.map { generator.next() % 2 == 0 ? HTTP1Bytes.lowered($0) : ($0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0) }
            if generator.next() % 3 == 0 {
                bytes[Int(generator.next() % UInt64(bytes.count))] = tokenBytes[Int(generator.next() % UInt64(tokenBytes.count))]
            }
            #expect(Self.classify(bytes) == Self.classifyByteByByte(bytes), "\(literal) as \(bytes)")
        }
    }

    static func classify(_ bytes: [UInt8]) -> HTTP1FieldName {
        bytes.withUnsafeBytes { HTTP1FieldName.classify($0, from: 0, to: $0.count) }
    }

    /// The classification by comparing the lower-cased name with each literal as strings (the
    /// literal itself then classifies as what it names).
    static func classifyByteByByte(_ bytes: [UInt8]) -> HTTP1FieldName {
        let lowered = String(decoding: bytes.map(HTTP1Bytes.lowered), as: UTF8.self)
        guard let literal = classifiedNames.first(where: { $0 == lowered }) else { return .other }
        return literal.utf8.withContiguousStorageIfAvailable { HTTP1FieldName.classify(UnsafeRawBufferPointer($0), from: 0, to: $0.count) }!
    }
}
