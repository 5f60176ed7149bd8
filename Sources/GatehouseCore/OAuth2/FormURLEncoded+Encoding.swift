extension FormURLEncoded {
    /// `name=value&…` with every byte outside RFC 3986's unreserved set percent-encoded (space as
    /// `%20`), so the result is safe in a query, a fragment or a `Location` header.
    /// - Parameter pairs: names and values, in order.
    public static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { "\(percentEncode($0.0))=\(percentEncode($0.1))" }.joined(separator: "&")
    }

    /// Percent-encodes every byte but `A-Z a-z 0-9 - . _ ~`.
    /// - Parameter text: the text to encode.
    public static func percentEncode(_ text: String) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                output.append(byte)
            default:
                output.append(UInt8(ascii: "%"))
                output.append(hex[Int(byte >> 4)])
                output.append(hex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// `base` with `pairs` added to its query (after `?`, or after `&` when it has a query already).
    /// - Parameters:
    ///   - base: an absolute URI without a fragment.
    ///   - pairs: the parameters to add.
    public static func appendingQuery(to base: String, _ pairs: [(String, String)]) -> String {
        guard !pairs.isEmpty else { return base }
        let separator = base.contains("?") ? (base.hasSuffix("?") || base.hasSuffix("&") ? "" : "&") : "?"
        return base + separator + encode(pairs)
    }
}
