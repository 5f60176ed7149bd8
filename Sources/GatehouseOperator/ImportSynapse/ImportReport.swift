/// What an import did (or, for a dry run, would do), table by table: rows imported, and rows skipped
/// with the reason for each group.
public struct ImportReport: Sendable, Equatable {
    /// One line of the report.
    public enum Row: String, Sendable, CaseIterable {
        case users
        case passwords
        case emails
        case devices
        case accessTokens = "access tokens"
        case refreshTokens = "refresh tokens"
    }

    /// The counts of one ``Row``.
    public struct Counts: Sendable, Equatable {
        public var imported = 0
        /// Rows skipped, by reason (a ``SkipReason`` sentence).
        public var skipped: [String: Int] = [:]

        public init() {}

        /// Rows skipped in total.
        public var skippedTotal: Int { skipped.values.reduce(0, +) }
    }

    public private(set) var counts: [Row: Counts] = [:]

    public init() {}

    /// Counts one imported row.
    mutating func imported(_ row: Row) {
        counts[row, default: Counts()].imported += 1
    }

    /// Counts one skipped row.
    mutating func skipped(_ row: Row, _ reason: SkipReason) {
        counts[row, default: Counts()].skipped[reason.rawValue, default: 0] += 1
    }

    /// The counts of `row` (zero when nothing was counted).
    public subscript(row: Row) -> Counts { counts[row] ?? Counts() }

    /// Rows imported in total.
    public var importedTotal: Int { counts.values.reduce(0) { $0 + $1.imported } }

    /// The report as the CLI prints it.
    /// - Parameters:
    ///   - source: where the rows came from (``SynapseDatabaseSettings/summary``).
    ///   - dryRun: whether nothing was written.
    public func rendered(source: String, dryRun: Bool) -> String {
        var lines = [dryRun ? "Dry run from \(source): nothing was written; a real run would import:" : "Imported from \(source):"]
        for row in Row.allCases {
            let counts = self[row]
            var line = "  \(row.rawValue): \(counts.imported) imported"
            if counts.skippedTotal > 0 { line += ", \(counts.skippedTotal) skipped" }
            lines.append(line)
            for (reason, count) in counts.skipped.sorted(by: { $0.key < $1.key }) {
                lines.append("    \(count) skipped: \(reason)")
            }
        }
        if importedTotal == 0 {
            lines.append("Nothing new to import: every account, device and token of this database is in Gatehouse already (or skipped as above).")
        }
        return lines.joined(separator: "\n")
    }
}

/// Why a Synapse row is not imported; the raw value is the sentence of the report.
public enum SkipReason: String, Error, Sendable, CaseIterable {
    case alreadyImported = "already in Gatehouse"
    case existingUser = "the user already exists in Gatehouse (its password, admin flag and lock state are kept as they are there)"
    case guest = "guest account (Gatehouse has no guest access)"
    case appservice = "registered by an application service (it keeps authenticating with its as_token)"
    case otherServer = "user ID of another server"
    case noPassword = "no password (an SSO-only account, or none ever set)"
    case notBcrypt = "not a bcrypt hash"
    case userNotImported = "its user is not imported"
    case notEmail = "not an email address (phone numbers are not carried over)"
    case hiddenDevice = "hidden device (holds cross-signing keys, not a login)"
    case puppet = "an admin's \"log in as\" token"
    case noDevice = "token without a device"
    case deviceNotImported = "its device is not imported"
    case notSynapseToken = "not in Synapse's syt_/syr_ format (a pre-2021 macaroon token)"
    case expired = "expired"
    case superseded = "replaced by a later refresh that was used"
    case pairNotImported = "the other token of its refresh pair is not imported"
}
