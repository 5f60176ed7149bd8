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
}
