/// The kinds of bearer token Gatehouse issues, named by the three-letter prefix MAS puts in front of
/// each token (`crates/data-model/src/tokens.rs`, `TokenType`).
///
/// The prefix lets a token be classified, and rejected when malformed, before any database lookup.
public enum TokenKind: String, Sendable, CaseIterable {
    /// An OAuth 2.0 access token (`mat_…`).
    case accessToken = "mat"
    /// An OAuth 2.0 refresh token (`mar_…`).
    case refreshToken = "mar"
    /// An access token from the Matrix compatibility layer, i.e. legacy `/login` (`mct_…`).
    case compatAccessToken = "mct"
    /// A refresh token from the Matrix compatibility layer (`mcr_…`).
    case compatRefreshToken = "mcr"
    /// A personal access token issued by an administrator (`mpt_…`); reserved, not issued yet.
    case personalAccessToken = "mpt"
}

extension TokenKind {
    /// The kind whose prefix is `bytes` (three ASCII bytes), compared without building a `String`:
    /// the edge check reads the prefix of the token of every request that carries one.
    init?(prefix bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count == 3, bytes[0] == UInt8(ascii: "m") else { return nil }
        switch (bytes[1], bytes[2]) {
        case (UInt8(ascii: "a"), UInt8(ascii: "t")): self = .accessToken
        case (UInt8(ascii: "a"), UInt8(ascii: "r")): self = .refreshToken
        case (UInt8(ascii: "c"), UInt8(ascii: "t")): self = .compatAccessToken
        case (UInt8(ascii: "c"), UInt8(ascii: "r")): self = .compatRefreshToken
        case (UInt8(ascii: "p"), UInt8(ascii: "t")): self = .personalAccessToken
        default: return nil
        }
    }
}
