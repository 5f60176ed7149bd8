#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The byte-level primitives the HTTP/1 head parsers share: searches with `memchr`, byte classes as
/// bit masks, ASCII case folding and decimal/hex numbers, all on raw bytes, so a head is judged
/// without building a `String` or running a generic collection algorithm per request.
enum HTTP1Bytes {
    static let cr = UInt8(ascii: "\r")
    static let lf = UInt8(ascii: "\n")
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let colon = UInt8(ascii: ":")
    static let comma = UInt8(ascii: ",")

    /// The offset of the first `byte` in `bytes[from..<to]`, or `nil`.
    @inline(__always)
    static func find(_ byte: UInt8, in bytes: UnsafeRawBufferPointer, from: Int, to: Int) -> Int? {
        guard from < to, let base = bytes.baseAddress else { return nil }
        guard let hit = memchr(base + from, Int32(byte), to - from) else { return nil }
        return UnsafeRawPointer(hit) - base
    }

    // MARK: Byte classes

    /// `tchar` of RFC 9110 §5.6.2 (methods, field names, chunk extension names) as two masks.
    private static let tokenLow: UInt64 = 0x03ff_6cfa_0000_0000
    private static let tokenHigh: UInt64 = 0x57ff_ffff_c7ff_fffe

    @inline(__always)
    static func isToken(_ byte: UInt8) -> Bool {
        let mask = byte < 64 ? tokenLow : byte < 128 ? tokenHigh : 0
        return mask >> UInt64(byte & 63) & 1 == 1
    }

    /// Whether `bytes[from..<to]` is a non-empty token.
    static func isToken(_ bytes: UnsafeRawBufferPointer, from: Int, to: Int) -> Bool {
        guard from < to else { return false }
        for index in from..<to where !isToken(bytes[index]) { return false }
        return true
    }

    /// Where a non-empty token that starts at `from` ends with `terminator` (not a token byte): the
    /// offset of the terminator, or `nil` when a byte before it is not a token byte, the token is
    /// empty, or there is no terminator before `to`. One pass: the name of a header line and its colon.
    static func tokenEnd(_ bytes: UnsafeRawBufferPointer, from: Int, to: Int, at terminator: UInt8) -> Int? {
        var index = from
        while index < to {
            let byte = bytes[index]
            if byte == terminator { return index > from ? index : nil }
            if !isToken(byte) { return nil }
            index += 1
        }
        return nil
    }

    /// Field-value bytes (RFC 9110 §5.5): HTAB, SP, VCHAR and obs-text; never NUL, CR, LF, DEL or
    /// another control byte.
    @inline(__always)
    static func isFieldValueByte(_ byte: UInt8) -> Bool {
        byte >= 0x20 ? byte != 0x7F : byte == 0x09
    }

    /// Whether every byte of `bytes[from..<to]` is a field-value byte (``isFieldValueByte(_:)``),
    /// looked at eight at a time: a word is checked byte by byte only when it may hold a byte below
    /// 0x20 (HTAB included, which is allowed) or a DEL. Values are most of a head's bytes (tokens,
    /// cookies), so this is where the parser spends its time per byte.
    static func allFieldValueBytes(_ bytes: UnsafeRawBufferPointer, from: Int, to: Int) -> Bool {
        allBytes(bytes, from: from, to: to, suspicious: { bytesBelow(0x20, in: $0) | deletes(in: $0) != 0 }, allowed: isFieldValueByte)
    }

    /// Whether `allowed` holds for every byte of `bytes[from..<to]`, eight bytes at a time: a word is
    /// looked at byte by byte only when `suspicious` says it may hold a byte `allowed` refuses.
    @inline(__always)
    private static func allBytes(
        _ bytes: UnsafeRawBufferPointer, from: Int, to: Int, suspicious: (UInt64) -> Bool, allowed: (UInt8) -> Bool
    ) -> Bool {
        var index = from
        while index + 8 <= to {
            if suspicious(bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)) {
                for offset in index..<(index + 8) where !allowed(bytes[offset]) { return false }
            }
            index += 8
        }
        while index < to {
            if !allowed(bytes[index]) { return false }
            index += 1
        }
        return true
    }

    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    // The word tests of "Bit Twiddling Hacks" (hasless, haszero): not zero exactly when some byte of
    // the word is below `limit` (at most 0x80; a byte of 0x80 or more never counts), or is DEL. They
    // return masks rather than `Bool`s so that callers combine them with `|`, without a branch each.

    @inline(__always)
    private static func bytesBelow(_ limit: UInt64, in word: UInt64) -> UInt64 {
        (word &- ones &* limit) & ~word & highBits
    }

    @inline(__always)
    private static func deletes(in word: UInt64) -> UInt64 {
        let delete = word ^ (ones &* 0x7F)
        return (delete &- ones) & ~delete & highBits
    }

    /// Request-target bytes as llhttp accepts them on a request line: visible ASCII only (no space,
    /// no control byte, no DEL, no raw UTF-8).
    @inline(__always)
    static func isTargetByte(_ byte: UInt8) -> Bool {
        byte > 0x20 && byte < 0x7F
    }

    /// Whether every byte of `bytes[from..<to]` is a request-target byte (``isTargetByte(_:)``), or
    /// with `allowingNonASCII` also raw UTF-8 (0x80 and up, which HTTP/2 clients put in `:path`).
    /// Eight at a time, as ``allFieldValueBytes(_:from:to:)``: a word is checked byte by byte only
    /// when it may hold a byte up to 0x20, a DEL, or (without `allowingNonASCII`) a byte above 0x7F.
    static func allTargetBytes(_ bytes: UnsafeRawBufferPointer, from: Int, to: Int, allowingNonASCII: Bool) -> Bool {
        let nonASCII = allowingNonASCII ? 0 : highBits
        return allBytes(
            bytes, from: from, to: to,
            suspicious: { bytesBelow(0x21, in: $0) | deletes(in: $0) | ($0 & nonASCII) != 0 },
            allowed: { isTargetByte($0) || (allowingNonASCII && $0 >= 0x80) })
    }

    /// `uri-host [":" port]` bytes: reg-name, IPv4 or bracketed IPv6 characters (RFC 3986 §3.2.2),
    /// the bytes a `Host` value may have.
    static func isHostByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "%"), UInt8(ascii: "!"),
            UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "*"),
            UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="), UInt8(ascii: ":"), UInt8(ascii: "["),
            UInt8(ascii: "]"):
            return true
        default:
            return false
        }
    }

    @inline(__always)
    static func isBlank(_ byte: UInt8) -> Bool { byte == space || byte == tab }

    // MARK: Case and comparison

    @inline(__always)
    static func lowered(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    /// Whether `bytes[from..<to]` equals the lower-case ASCII `literal`, ignoring ASCII case.
    @inline(__always)
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, from: Int, to: Int, _ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard to - from == count else { return false }
        let expected = literal.utf8Start
        for index in 0..<count where lowered(bytes[from + index]) != expected[index] { return false }
        return true
    }

    /// Whether `bytes[from..<to]` equals `literal` byte for byte.
    @inline(__always)
    static func equals(_ bytes: UnsafeRawBufferPointer, from: Int, to: Int, _ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard to - from == count else { return false }
        return memcmp(bytes.baseAddress! + from, literal.utf8Start, count) == 0
    }

    /// Whether the token `bytes[from..<to]` equals `literal` ignoring ASCII case, eight bytes at a
    /// time. Only for a token (``isToken(_:)`` bytes) and a literal of lower-case letters, digits and
    /// `-`: setting bit 0x20 of a token byte then gives the literal's byte only for that byte itself
    /// or its upper-case letter (the other byte with the same bits, CR or a control byte for `-` and
    /// the digits, is never in a token).
    @inline(__always)
    static func tokenEqualsIgnoringCase(_ bytes: UnsafeRawBufferPointer, from: Int, to: Int, _ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard to - from == count else { return false }
        let expected = UnsafeRawPointer(literal.utf8Start)
        let fold: UInt64 = 0x2020_2020_2020_2020
        var offset = 0
        while offset + 8 <= count {
            let word = bytes.loadUnaligned(fromByteOffset: from + offset, as: UInt64.self)
            if word | fold != expected.loadUnaligned(fromByteOffset: offset, as: UInt64.self) { return false }
            offset += 8
        }
        while offset < count {
            if bytes[from + offset] | 0x20 != expected.load(fromByteOffset: offset, as: UInt8.self) { return false }
            offset += 1
        }
        return true
    }

    /// Whether two byte ranges are equal ignoring ASCII case.
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lhs: Range<Int>, _ rhs: Range<Int>) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for offset in 0..<lhs.count where lowered(bytes[lhs.lowerBound + offset]) != lowered(bytes[rhs.lowerBound + offset]) {
            return false
        }
        return true
    }

    /// Whether `bytes[from..<to]` contains the lower-case ASCII `needle`, ignoring case.
    static func containsIgnoringCase(_ bytes: UnsafeRawBufferPointer, from: Int, to: Int, _ needle: StaticString) -> Bool {
        let count = needle.utf8CodeUnitCount
        guard count > 0, to - from >= count else { return count == 0 }
        let first = needle.utf8Start[0]
        var index = from
        while index <= to - count {
            if lowered(bytes[index]) == first, equalsIgnoringCase(bytes, from: index, to: index + count, needle) { return true }
            index += 1
        }
        return false
    }

    // MARK: Numbers

    /// A decimal `1*DIGIT` that fits in an `Int`, or `nil`.
    static func decimal(_ bytes: UnsafeRawBufferPointer, from: Int, to: Int) -> Int? {
        guard from < to else { return nil }
        var value = 0
        for index in from..<to {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(Int(digit))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        return value
    }

    /// The value of a hex digit, or `nil`.
    @inline(__always)
    static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}
