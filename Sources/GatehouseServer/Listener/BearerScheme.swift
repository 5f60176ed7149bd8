/// The `Bearer ` authentication scheme prefix, matched case-insensitively (RFC 9110 §11.1) without
/// allocating.
enum BearerScheme {
    private static let lowercased = Array("bearer ".utf8)

    static func hasPrefix(_ header: String) -> Bool {
        var index = 0
        for byte in header.utf8 {
            if index == lowercased.count { return true }
            // ASCII letters fold to lower case with 0x20; the space compares as itself.
            guard byte | (byte >= 0x41 && byte <= 0x5A ? 0x20 : 0) == lowercased[index] else { return false }
            index += 1
        }
        return false
    }
}
