import Testing

@testable import GatehouseCore

/// Replays a fixed byte sequence, so generated tokens are predictable.
private struct CountingRandom: RandomSource {
    func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8($0 % 62) }
    }
}

struct TokenFormatTests {
    /// Tokens taken from MAS (`compat/login.rs` snapshots).
    static let masVectors = [
        "mct_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz43",
        "mcr_LoYqtrtBUBcWlE4RX6o47chBCGkadB_9gzpc1",
        "mct_fNbm5KAQovodfVQz7IvDc44woP66fR_fsaiD1",
    ]

    @Test(arguments: masVectors)
    func masTokensAreValid(token: String) {
        let expected: TokenKind = token.hasPrefix("mct") ? .compatAccessToken : .compatRefreshToken
        #expect(TokenFormat.check(token) == .success(expected))
    }

    @Test func checksumEncodingIsLeastSignificantDigitFirst() {
        let body = "mct_cxG6gZXyvelQWW9XqfNbm5KAQovodf"
        #expect(CRC32.checksum(body.utf8) == 2_822_118_451)
        #expect(TokenFormat.encodeChecksum(2_822_118_451) == "XvJz43", "big-endian base62 would be 34zJvX")
        #expect(TokenFormat.checksum(of: body.utf8) == "XvJz43")
    }

    @Test func checksumEncodingPadsOnTheLeft() {
        #expect(TokenFormat.encodeChecksum(0) == "000000")
        #expect(TokenFormat.encodeChecksum(61) == "00000z")
        #expect(TokenFormat.encodeChecksum(62) == "000001", "LSB first: 62 = digits [0, 1]")
        #expect(TokenFormat.encodeChecksum(UInt32.max) == "3CFfg4")
    }

    @Test func crc32MatchesZlib() {
        #expect(CRC32.checksum("123456789".utf8) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
    }

    /// Changing any single character of a valid token is caught: by the checksum in the random and
    /// checksum parts, by the prefix or checksum check in the prefix.
    @Test(arguments: masVectors)
    func everyOneCharacterChangeIsRejected(token: String) {
        let bytes = Array(token.utf8)
        for index in bytes.indices where bytes[index] != UInt8(ascii: "_") {
            var changed = bytes
            changed[index] = bytes[index] == UInt8(ascii: "a") ? UInt8(ascii: "b") : UInt8(ascii: "a")
            let result = TokenFormat.check(String(decoding: changed, as: UTF8.self))
            if index < 3 {
                // `mct` → `mat` is another known prefix, so the checksum catches it instead.
                #expect(result == .failure(.unknownPrefix) || result == .failure(.invalidChecksum), "position \(index)")
            } else {
                #expect(result == .failure(.invalidChecksum), "position \(index)")
            }
        }
    }

    @Test func unknownPrefixIsRejected() {
        #expect(TokenFormat.check("syt_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz43") == .failure(.unknownPrefix))
        #expect(TokenFormat.check("MCT_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz43") == .failure(.unknownPrefix))
    }

    @Test(arguments: [
        "",
        "mct",
        "mct_cxG6gZXyvelQWW9XqfNbm5KAQovodf",
        "mct_cxG6gZXyvelQWW9XqfNbm5KAQovod_XvJz43",
        "mct_cxG6gZXyvelQWW9XqfNbm5KAQovodfx_XvJz43",
        "mct_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz4",
        "mct_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz433",
        "mctx_xG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz43",
        "mct_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz43_",
        "mct_cxG6gZXyvelQWW9XqfNbm5KAQovodf-XvJz43",
        "mct_cxG6gZXyvelQWW9XqfNbm5KAQovo_f_XvJz43",
        "mct_cxG6gZXyvelQWW9XqfNbm5KAQovod+_XvJz43",
        "mct_cxG6gZXyvelQWW9XqfNbm5KAQovodé_XvJz4",
        "mct_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz4=",
        " mct_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz4",
    ])
    func wrongShapesAreInvalidFormat(token: String) {
        #expect(TokenFormat.check(token) == .failure(.invalidFormat))
    }

    @Test(arguments: TokenKind.allCases)
    func generatedTokensRoundTrip(kind: TokenKind) {
        let token = TokenFormat.generate(kind, random: CountingRandom())
        #expect(token.utf8.count == TokenFormat.tokenLength)
        #expect(token.hasPrefix("\(kind.rawValue)_0123456789ABCDEFGHIJKLMNOPQRST_"))
        #expect(TokenFormat.check(token) == .success(kind))
        #expect(TokenFormat.generate(kind, random: CountingRandom()) == token, "deterministic with a fixed source")
    }

    @Test func generatedTokensDiffer() {
        let first = TokenFormat.generate(.accessToken, random: SystemRandom())
        let second = TokenFormat.generate(.accessToken, random: SystemRandom())
        #expect(first != second)
        #expect(TokenFormat.check(first) == .success(.accessToken))
    }

    @Test func errorsHaveStableLabels() {
        #expect(TokenFormatError.invalidFormat.shortDescription == "invalid_format")
        #expect(TokenFormatError.unknownPrefix.shortDescription == "unknown_prefix")
        #expect(TokenFormatError.invalidChecksum.shortDescription == "invalid_checksum")
        #expect(TokenFormatError.invalidChecksum != .invalidFormat)
    }

    /// Synapse's own tokens, as `gatehouse import-synapse` carries them over: classified as compat
    /// tokens by prefix (no checksum, as MAS), never by ``TokenFormat/check(_:)``.
    @Test func synapseTokensAreClassifiedAsCompatTokens() {
        // The shape Synapse mints: syt_<unpadded URL-safe base64 localpart>_<20 letters>_<base62 crc>.
        let access = "syt_YWxpY2U_TGhbGTLXNnRmOYvkjodM_1mCNv7"
        let refresh = "syr_YWxpY2U_pQkQUbJxWqbGydNhCBsf_2Lq0Tm"
        #expect(TokenFormat.classify(access) == .success(.compatAccessToken))
        #expect(TokenFormat.classify(refresh) == .success(.compatRefreshToken))
        #expect(TokenFormat.classify("syt_Zm9vLWJhcg-_x_y") == .success(.compatAccessToken), "URL-safe base64 in the localpart")
        #expect(TokenFormat.check(access) == .failure(.invalidFormat), "not Gatehouse's own format")

        let mct = TokenFormat.generate(.compatAccessToken, random: CountingRandom())
        #expect(TokenFormat.classify(mct) == .success(.compatAccessToken), "Gatehouse's tokens classify as before")
        #expect(TokenFormat.classify("mct_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz44") == .failure(.invalidChecksum))

        for refused in ["syt_", "syt", "sys_YWxpY2U_abc", "syt_YWxp Y2U", "syt_YWxp/Y2U", "syt_YWxp.Y2U", "SYT_YWxpY2U_abc",
                        "syt_" + String(repeating: "a", count: 600)] {
            #expect(TokenFormat.synapseKind(of: refused) == nil, "\(refused.prefix(20))")
        }
    }

    /// The edge skips building a `String` of a token that `mayBeAccessToken` rules out, so it must
    /// never rule out one that ``TokenFormat/classify(_:)`` takes for an access token.
    @Test func mayBeAccessTokenRulesOutOnlyWhatClassifyRefusesAsAnAccessToken() {
        var candidates = ["syt_YWxpY2U_TGhbGTLXNnRmOYvkjodM_1mCNv7", "syt_Zm9vLWJhcg-_x_y", "syr_YWxpY2U_pQkQUbJxWqbGydNhCBsf_2Lq0Tm",
                          "as_YWxpY2U_TGhbGTLXNnRmOYvkjodM_1mCNv7", "as_token_of_a_bridge", "mct_", "mct", "syt_", "", "MCT_x_y", "mat-x"]
        for kind in TokenKind.allCases {
            candidates.append(TokenFormat.generate(kind, random: SystemRandom()))
            candidates.append(TokenFormat.generate(kind, random: CountingRandom()))
        }
        // Every token with one byte changed, dropped or added, at every position.
        for token in candidates where token.utf8.count > 30 {
            let bytes = Array(token.utf8)
            for index in bytes.indices {
                var changed = bytes
                changed[index] = changed[index] == UInt8(ascii: "_") ? UInt8(ascii: "a") : UInt8(ascii: "_")
                var dropped = bytes
                dropped.remove(at: index)
                var added = bytes
                added.insert(UInt8(ascii: "t"), at: index)
                candidates += [changed, dropped, added].map { String(decoding: $0, as: UTF8.self) }
            }
        }
        var accessTokens = 0
        var ruledOut = 0
        for token in candidates {
            let may = Array(token.utf8).withUnsafeBytes { TokenFormat.mayBeAccessToken($0) }
            switch TokenFormat.classify(token) {
            case .success(.accessToken), .success(.compatAccessToken):
                accessTokens += 1
                #expect(may, "\(token) is an access token")
            default:
                if !may { ruledOut += 1 }
            }
        }
        #expect(accessTokens >= 5 && ruledOut >= 100, "both sides are exercised: \(accessTokens) access tokens, \(ruledOut) ruled out")
        for foreign in ["as_token_of_a_bridge", "syr_YWxpY2U_pQkQUbJxWqbGydNhCBsf_2Lq0Tm", TokenFormat.generate(.refreshToken, random: SystemRandom()),
                        TokenFormat.generate(.compatRefreshToken, random: SystemRandom()), "mct_"] {
            #expect(!Array(foreign.utf8).withUnsafeBytes { TokenFormat.mayBeAccessToken($0) }, "\(foreign)")
        }
    }

    @Test func everyPrefixIsReadFromItsBytesAsItsKind() {
        for kind in TokenKind.allCases {
            let bytes = Array(kind.rawValue.utf8)
            #expect(bytes.withUnsafeBufferPointer { TokenKind(prefix: $0) } == kind)
        }
        for other in ["mxt", "Mat", "mat_", "ma", "nat", "mcx", "mpr"] {
            let bytes = Array(other.utf8)
            #expect(bytes.withUnsafeBufferPointer { TokenKind(prefix: $0) } == nil, "\(other)")
        }
    }
}
