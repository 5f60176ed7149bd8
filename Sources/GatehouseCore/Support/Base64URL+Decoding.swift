extension Base64URL {
    /// Whether `byte` is one of base64url's 64 characters (`A-Z a-z 0-9 - _`).
    public static func isAlphabet(_ byte: UInt8) -> Bool {
        value(of: byte) != nil
    }

    /// The bytes of unpadded base64url text, or `nil` when it is not that (padding, other
    /// characters, a length no encoding has, or leftover bits that are not zero).
    /// - Parameter text: the encoded text.
    public static func decode(_ text: String) -> [UInt8]? {
        let characters = text.utf8
        guard characters.count % 4 != 1 else { return nil }
        var result: [UInt8] = []
        result.reserveCapacity(characters.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for character in characters {
            guard let value = value(of: character) else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                result.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        // Canonical encodings leave only zero bits behind (RFC 4648 §3.5).
        guard accumulator == 0 else { return nil }
        return result
    }

    /// The 6-bit value of a base64url character.
    private static func value(of byte: UInt8) -> UInt8? {
        switch byte {
        case 0x41...0x5A: byte - 0x41
        case 0x61...0x7A: byte - 0x61 + 26
        case 0x30...0x39: byte - 0x30 + 52
        case 0x2D: 62
        case 0x5F: 63
        default: nil
        }
    }
}
