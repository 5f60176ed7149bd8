/// MAS's bearer token format, replicated exactly so tokens issued by MAS keep working after a
/// migration and the other way round (`crates/data-model/src/tokens.rs`).
///
/// A token is `<prefix>_<random>_<checksum>`, always 41 ASCII characters:
/// - `prefix`: three letters naming the ``TokenKind`` (`mat`, `mar`, `mct`, `mcr`, `mpt`);
/// - `random`: 30 characters drawn uniformly from `[0-9A-Za-z]` (about 178 bits);
/// - `checksum`: CRC-32/ISO-HDLC (zlib `crc32`) of the ASCII bytes of `"<prefix>_<random>"`, written in
///   base62 over the alphabet `0-9A-Za-z` with the **least significant digit first** and then left-padded
///   with `'0'` to six characters. That is not conventional big-endian base62, and it is deliberate:
///   MAS builds the digit string by pushing `n % 62` and never reverses it.
///
/// The checksum is not a secret; it lets a server reject mistyped or invented tokens without touching
/// the database, and lets secret scanners recognise leaked tokens.
public enum TokenFormat {
    /// Characters in the random part.
    public static let randomLength = 30
    /// Characters in the checksum part.
    public static let checksumLength = 6
    /// Characters in a whole token.
    public static let tokenLength = 3 + 1 + randomLength + 1 + checksumLength

    /// A fresh token of `kind`.
    /// - Parameters:
    ///   - kind: which token this is; gives the prefix.
    ///   - random: where the 30 random characters come from (the system CSPRNG in production).
    public static func generate(_ kind: TokenKind, random: some RandomSource) -> String {
        let body = "\(kind.rawValue)_\(random.string(length: randomLength, alphabet: Alphabet.base62))"
        return "\(body)_\(checksum(of: body.utf8))"
    }

    /// Checks the shape, prefix and checksum of `token` and says what kind it is.
    ///
    /// Checks run in MAS's order: shape first (``TokenFormatError/invalidFormat``), then the prefix
    /// (``TokenFormatError/unknownPrefix``), then the checksum (``TokenFormatError/invalidChecksum``).
    /// A token that passes may still be unknown, expired or revoked; that needs the database.
    /// - Parameter token: the bearer token as received.
    public static func check(_ token: String) -> Result<TokenKind, TokenFormatError> {
        // On the token's own UTF-8: the edge check runs this on every proxied request with a token.
        var token = token
        return token.withUTF8 { check(bytes: $0) }
    }

    private static func check(bytes: UnsafeBufferPointer<UInt8>) -> Result<TokenKind, TokenFormatError> {
        guard bytes.count == tokenLength,
            bytes[3] == UInt8(ascii: "_"), bytes[4 + randomLength] == UInt8(ascii: "_"),
            bytes[0..<3].allSatisfy(isBase62), bytes[4..<(4 + randomLength)].allSatisfy(isBase62),
            bytes[(5 + randomLength)...].allSatisfy(isBase62)
        else {
            return .failure(.invalidFormat)
        }
        guard let kind = TokenKind(prefix: UnsafeBufferPointer(rebasing: bytes[0..<3])) else {
            return .failure(.unknownPrefix)
        }
        let crc = CRC32.checksum(UnsafeBufferPointer(rebasing: bytes[0..<(4 + randomLength)]))
        guard checksum(crc, isEncodedAs: UnsafeBufferPointer(rebasing: bytes[(5 + randomLength)...])) else {
            return .failure(.invalidChecksum)
        }
        return .success(kind)
    }

    /// Whether `encoded` is ``encodeChecksum(_:)`` of `crc`, compared digit by digit without building
    /// the string.
    private static func checksum(_ crc: UInt32, isEncodedAs encoded: UnsafeBufferPointer<UInt8>) -> Bool {
        guard encoded.count == checksumLength else { return false }
        var digits = 0
        var rest = crc
        repeat {
            digits += 1
            rest /= 62
        } while rest > 0
        let padding = checksumLength - digits
        var remaining = crc
        for index in 0..<checksumLength {
            let expected: UInt8
            if index < padding {
                expected = UInt8(ascii: "0")
            } else {
                expected = Alphabet.base62[Int(remaining % 62)]
                remaining /= 62
            }
            if encoded[index] != expected { return false }
        }
        return true
    }

    /// The six-character checksum of `body` (`"<prefix>_<random>"`), encoded as MAS does.
    /// - Parameter body: the ASCII bytes the checksum covers.
    public static func checksum(of body: some Sequence<UInt8>) -> String {
        encodeChecksum(CRC32.checksum(body))
    }

    /// `crc` in MAS's checksum encoding: base62 digits least significant first, left-padded with
    /// `'0'` to six characters (`2822118451` → `"XvJz43"`).
    /// - Parameter crc: a CRC-32 value.
    public static func encodeChecksum(_ crc: UInt32) -> String {
        var digits: [UInt8] = []
        var remaining = crc
        repeat {
            digits.append(Alphabet.base62[Int(remaining % 62)])
            remaining /= 62
        } while remaining > 0
        // 62^6 > 2^32, so there are never more than six digits.
        let padding = [UInt8](repeating: UInt8(ascii: "0"), count: checksumLength - digits.count)
        return String(decoding: padding + digits, as: UTF8.self)
    }

    private static func isBase62(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"): true
        default: false
        }
    }
}
