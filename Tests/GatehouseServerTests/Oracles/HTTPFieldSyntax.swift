@testable import GatehouseServer

// A reference implementation kept for the differential tests: production code no longer uses it
// (issue 9 moved both protocols onto the byte-level head; see docs/architecture.md).
/// The byte classes of HTTP/1.1 message syntax that decide where a request line or a header line
/// ends, as the reference serializer (``UpstreamRequestWriter/serialize(_:into:)``) checks them.
enum HTTPFieldSyntax {
    /// `tchar` of RFC 9110 §5.6.2 (methods and field names).
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
            UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
            UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// Request-target bytes: anything visible, including what nginx forwards in queries (`{`, `"`,
    /// `|`, UTF-8), but no control byte and no space, which would end or split the request line.
    static func isTargetByte(_ byte: UInt8) -> Bool {
        byte > 0x20 && byte != 0x7F
    }

    /// Field-value bytes: spaces, tabs and obs-text, never CR, LF, NUL or another control byte.
    static func isFieldValueByte(_ byte: UInt8) -> Bool {
        byte >= 0x20 ? byte != 0x7F : byte == 0x09
    }

    /// `isTokenByte` as two 64-bit masks (bytes 0-63, 64-127), for loops over many bytes.
    private static let tokenMaskLow: UInt64 = 0x03ff_6cfa_0000_0000
    private static let tokenMaskHigh: UInt64 = 0x57ff_ffff_c7ff_fffe

    /// Whether `bytes` is a non-empty token (a method or a field name).
    static func isToken(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !bytes.isEmpty else { return false }
        for byte in bytes {
            let mask = byte < 64 ? tokenMaskLow : byte < 128 ? tokenMaskHigh : 0
            if mask >> UInt64(byte & 63) & 1 == 0 { return false }
        }
        return true
    }

    /// Whether every byte of `bytes` may appear in a request target (see ``isTargetByte(_:)``).
    static func isTarget(_ bytes: UnsafeRawBufferPointer) -> Bool {
        for byte in bytes where byte <= 0x20 || byte == 0x7F { return false }
        return true
    }

    /// Whether every byte of `bytes` may appear in a field value (see ``isFieldValueByte(_:)``).
    static func isFieldValue(_ bytes: UnsafeRawBufferPointer) -> Bool {
        for byte in bytes where byte < 0x20 ? byte != 0x09 : byte == 0x7F { return false }
        return true
    }

    /// Whether every header name is a token and every value free of control bytes.
    static func headersAreValid(_ headers: some Sequence<(name: String, value: String)>) -> Bool {
        headers.allSatisfy { field in
            !field.name.isEmpty && field.name.utf8.allSatisfy(isTokenByte) && field.value.utf8.allSatisfy(isFieldValueByte)
        }
    }
}
