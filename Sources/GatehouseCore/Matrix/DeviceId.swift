/// Matrix device IDs as Gatehouse accepts them from clients (`device_id` at `POST /login`) and admins
/// (`gatehouse manage issue-compatibility-token --device-id`).
///
/// The Client-Server API leaves a device ID opaque, and MAS does not check the ones compat clients
/// send. Gatehouse does, before anything is looked up or sent to Synapse, because the ID travels far:
/// it is stored (where SQLite would cut a string at a NUL), sent to Synapse's `upsert_device`, and
/// returned by introspection inside the space-separated OAuth 2.0 `scope`
/// (`urn:matrix:client:device:<id>`). So a device ID must be a valid part of a scope token
/// (RFC 6749 §3.3, `NQCHAR`: printable ASCII other than space, `"` and `\`), and at most
/// ``maximumBytes`` long. Every ID a client generates in practice (Element's ten capitals, bridges'
/// `name_XYZ`) passes; MAS's own rule for device scopes (`[A-Za-z0-9._~!$&'()*+,;=:@/-]`) is stricter.
public enum DeviceId {
    /// The longest device ID accepted, in bytes.
    public static let maximumBytes = 255

    /// Why a device ID is refused.
    public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        case empty
        case tooLong
        /// A control character (NUL included), a space, `"`, `\` or anything outside ASCII.
        case invalidCharacter

        public var description: String {
            switch self {
            case .empty: "the device ID is empty"
            case .tooLong: "the device ID is longer than \(DeviceId.maximumBytes) bytes"
            case .invalidCharacter: "device IDs may only contain printable ASCII other than space, '\"' and '\\'"
            }
        }
    }

    /// Length of the device IDs Gatehouse generates.
    public static let generatedLength = 10

    /// A new device ID, for compat logins, compatibility tokens and OAuth 2.0 grants alike: ten
    /// characters of `A-Za-z0-9`, as MAS generates them (`Device::generate`, rand's `Alphanumeric`).
    /// - Parameter random: the randomness source.
    public static func generate(random: some RandomSource) -> String {
        random.string(length: generatedLength, alphabet: Alphabet.base62)
    }

    /// Checks a device ID.
    /// - Parameter deviceId: the candidate.
    /// - Returns: why it is refused, or `nil` when it is fine.
    public static func validate(_ deviceId: String) -> Problem? {
        if deviceId.isEmpty { return .empty }
        if deviceId.utf8.count > maximumBytes { return .tooLong }
        return MatrixScope.isValidToken(deviceId) ? nil : .invalidCharacter
    }
}

/// Device display names (`initial_device_display_name`): free text, but without control characters.
public enum DeviceDisplayName {
    /// Whether `name` may be sent to Synapse: it has no C0 or C1 control character (NUL included) and
    /// no DEL. Such characters have no business in a name shown to people, and a NUL makes Synapse on
    /// PostgreSQL fail with an internal error that the client would see as the homeserver being down.
    /// - Parameter name: the candidate.
    public static func isAcceptable(_ name: String) -> Bool {
        !name.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }
    }
}
