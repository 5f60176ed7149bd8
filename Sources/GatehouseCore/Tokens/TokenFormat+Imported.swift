extension TokenFormat {
    /// Synapse's own access-token prefix (`syt_<base64 localpart>_<random>_<crc>`).
    public static let synapseAccessPrefix = "syt_"
    /// Synapse's own refresh-token prefix (`syr_…`).
    public static let synapseRefreshPrefix = "syr_"
    /// The longest Synapse token accepted: a 255-byte localpart in unpadded base64 plus the prefix,
    /// random part and checksum stays well under this.
    static let synapseMaxLength = 512

    /// What kind of token `token` is, counting the compat tokens `gatehouse import-synapse` carried
    /// over from Synapse: ``check(_:)``, except that `syt_…` is a compat access token and `syr_…` a
    /// compat refresh token, as MAS accepts them after `syn2mas`.
    ///
    /// Synapse's tokens are not checked further than their prefix and alphabet (MAS does no CRC check
    /// on them either): Gatehouse never mints one, so such a token is only ever valid when the store
    /// holds its hash from an import. Use this wherever a presented compat token is looked up, and
    /// ``check(_:)`` where only Gatehouse's own format can be right (OAuth 2.0 tokens).
    /// - Parameter token: the bearer token as received.
    public static func classify(_ token: String) -> Result<TokenKind, TokenFormatError> {
        if let kind = synapseKind(of: token) { return .success(kind) }
        return check(token)
    }

    /// Whether `token` starts as an access token that ``classify(_:)`` could accept: `mat_`, `mct_` or
    /// Synapse's `syt_`. `false` means it is none of them whatever follows, so a caller that only acts
    /// on access tokens (the edge check, on every proxied request) need not build a `String` of it.
    /// - Parameter token: the token's bytes.
    public static func mayBeAccessToken(_ token: UnsafeRawBufferPointer) -> Bool {
        guard token.count > 4, token[3] == UInt8(ascii: "_") else { return false }
        let bytes = token.assumingMemoryBound(to: UInt8.self)
        switch TokenKind(prefix: UnsafeBufferPointer(rebasing: bytes[0..<3])) {
        case .accessToken?, .compatAccessToken?: return true
        default: return synapseAccessPrefix.utf8.elementsEqual(bytes[0..<4])
        }
    }

    /// `.compatAccessToken` for a well-shaped `syt_` token, `.compatRefreshToken` for `syr_`, else `nil`.
    /// - Parameter token: the bearer token as received.
    public static func synapseKind(of token: String) -> TokenKind? {
        let bytes = token.utf8
        guard bytes.count > 4, bytes.count <= synapseMaxLength,
            bytes.starts(with: "sy".utf8), bytes.dropFirst(3).first == UInt8(ascii: "_")
        else { return nil }
        let kind: TokenKind
        switch bytes.dropFirst(2).first {
        case UInt8(ascii: "t"): kind = .compatAccessToken
        case UInt8(ascii: "r"): kind = .compatRefreshToken
        default: return nil
        }
        // Synapse writes URL-safe base64 (`-`, `_`) for the localpart, letters and digits elsewhere.
        guard bytes.dropFirst(4).allSatisfy({ isBase62Byte($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }) else { return nil }
        return kind
    }

    static func isBase62Byte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"): true
        default: false
        }
    }
}
