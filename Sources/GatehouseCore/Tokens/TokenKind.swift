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
