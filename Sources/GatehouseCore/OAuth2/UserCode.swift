/// The code a user types to approve a device (RFC 8628 §3.2 `user_code`, §6.1 on its entropy).
///
/// Eight letters from an alphabet without vowels (no words, no 0/O or 1/I confusion), shown as
/// `XXXX-XXXX` and stored without the dash. 20⁸ ≈ 2.6·10¹⁰ codes; a grant lives 20 minutes and the
/// page that takes codes is rate limited, so guessing one live code is hopeless.
///
/// The `/link` page accepts a code however it is typed: lower or upper case, with or without the
/// dash or spaces (``normalized(_:)``).
public enum UserCode {
    /// Consonants only (RFC 8628 §6.1's example alphabet).
    public static let alphabet: [UInt8] = Array("BCDFGHJKLMNPQRSTVWXZ".utf8)
    /// Letters in a code.
    public static let length = 8

    /// A new code in its stored form (8 letters, no dash).
    /// - Parameter random: the randomness source.
    public static func generate(random: some RandomSource) -> String {
        random.string(length: length, alphabet: alphabet)
    }

    /// The code as shown to the user and put in `verification_uri_complete`: `XXXX-XXXX`.
    /// - Parameter code: a stored code.
    public static func display(_ code: String) -> String {
        guard code.count == length else { return code }
        return String(code.prefix(length / 2)) + "-" + String(code.suffix(length / 2))
    }

    /// The stored form of what a user typed: upper-cased, dashes and white space removed; `nil` when
    /// the rest is not a code of this alphabet and length (no lookup is needed then).
    /// - Parameter input: the text from the form or the `code` query parameter.
    public static func normalized(_ input: String) -> String? {
        var letters: [UInt8] = []
        for byte in input.utf8 {
            switch byte {
            case UInt8(ascii: "-"), UInt8(ascii: " "), UInt8(ascii: "\t"): continue
            case UInt8(ascii: "a")...UInt8(ascii: "z"): letters.append(byte - 32)
            default: letters.append(byte)
            }
            if letters.count > length { return nil }
        }
        guard letters.count == length, letters.allSatisfy(alphabet.contains) else { return nil }
        return String(decoding: letters, as: UTF8.self)
    }
}
