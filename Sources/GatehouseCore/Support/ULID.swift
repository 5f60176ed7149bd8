#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A ULID (26 characters of Crockford base32: 48-bit millisecond time, 80 random bits), the
/// identifier MAS uses for users (`sub`), sessions and tokens.
public enum ULID {
    private static let alphabet: [UInt8] = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    /// A new ULID for `time`.
    /// - Parameters:
    ///   - time: the creation time.
    ///   - random: the randomness source.
    public static func make(at time: Date, random: some RandomSource) -> String {
        let milliseconds = UInt64(max(0, time.timeIntervalSince1970 * 1000))
        var value = [UInt8](repeating: 0, count: 16)
        for index in 0..<6 { value[index] = UInt8((milliseconds >> (8 * (5 - UInt64(index)))) & 0xFF) }
        let randomBytes = random.bytes(10)
        for index in 0..<10 { value[6 + index] = randomBytes[index] }
        // 128 bits → 26 base32 digits (the first carries 3 bits).
        var output = [UInt8](repeating: 0, count: 26)
        var bits = 0
        var accumulator: UInt32 = 0
        var position = 25
        for byte in value.reversed() {
            accumulator |= UInt32(byte) << bits
            bits += 8
            while bits >= 5 && position >= 0 {
                output[position] = alphabet[Int(accumulator & 31)]
                accumulator >>= 5
                bits -= 5
                position -= 1
            }
        }
        if position >= 0 { output[position] = alphabet[Int(accumulator & 31)] }
        return String(decoding: output, as: UTF8.self)
    }

    /// Whether `text` has the shape of a ULID.
    /// - Parameter text: candidate.
    public static func isValid(_ text: String) -> Bool {
        text.utf8.count == 26 && text.utf8.allSatisfy { alphabet.contains($0) } && (text.utf8.first.map { $0 <= UInt8(ascii: "7") } ?? false)
    }
}
