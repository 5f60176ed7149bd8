#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseAuth
import GatehouseCore
import GatehouseStorage

/// Turns what was read from Synapse into the rows Gatehouse stores, deciding row by row what is
/// imported and why the rest is not. Pure: no I/O, time and randomness injected; a dry run and a real
/// run plan exactly the same.
///
/// The rules (MAS's `syn2mas` where it has one):
/// - Users of this server are imported with their admin flag, and locked or deactivated from the
///   moment of the import when Synapse had them so. Guests and application-service users are not.
/// - A user that already exists in Gatehouse is the same Matrix account (Gatehouse provisions its
///   users into Synapse): its row, password, admin flag and lock state stay as they are in Gatehouse;
///   its email addresses, devices and tokens not yet in Gatehouse are added. So a second run adds only
///   what appeared in Synapse since the first, and nothing when nothing did.
/// - bcrypt hashes are stored with the version of the configured bcrypt scheme, so they verify with
///   Synapse's pepper and are rehashed with argon2id at the next login.
/// - Every visible device becomes a compat session, with or without a token, so Gatehouse's device
///   sync keeps it in Synapse.
/// - `syt_` access tokens become compat access tokens expiring at `valid_until_ms`; `syr_` refresh
///   tokens become compat refresh tokens paired with their access token. Only SHA-256 hashes are
///   kept. A token whose hash the store already holds (whatever its state there) is not imported
///   again, so a token revoked in Gatehouse never comes back.
public struct SynapseImportPlanner: Sendable {
    /// Gatehouse's `matrix.homeserver` (= Synapse's `server_name`).
    public let serverName: String
    /// The `version` of the bcrypt scheme in `passwords.schemes`; `nil` when there is none (hashes are
    /// then skipped; the importer refuses earlier when any user has one).
    public let bcryptVersion: Int?
    /// The import time (lock and deactivation times, token creation).
    public let clock: any WallClock
    /// For the ULIDs of new rows.
    public let random: any RandomSource

    /// - Parameters:
    ///   - serverName: the homeserver's name.
    ///   - bcryptVersion: the bcrypt scheme's version.
    ///   - clock: the import time (lock and deactivation times, token creation).
    ///   - random: for the ULIDs of new rows.
    public init(serverName: String, bcryptVersion: Int?, clock: any WallClock, random: any RandomSource) {
        self.serverName = serverName
        self.bcryptVersion = bcryptVersion
        self.clock = clock
        self.random = random
    }

    /// The rows to write and the report.
    /// - Parameters:
    ///   - snapshot: Synapse's tables.
    ///   - baseline: what Gatehouse holds already.
    public func plan(_ snapshot: SynapseSnapshot, baseline: ImportBaseline) -> (AccountImportBatch, ImportReport) {
        let now = clock.now()
        var batch = AccountImportBatch()
        var report = ImportReport()
        var state = baseline
        /// Gatehouse user (id, admin) of each imported or existing Synapse user ID.
        var users: [String: (id: String, isAdmin: Bool)] = [:]
        /// Compat session of each `"<Synapse user ID> <device>"`.
        var sessions: [String: String] = [:]

        for row in snapshot.users {
            guard let localpart = localpart(of: row.name) else {
                report.skipped(.users, .otherServer)
                report.skipped(.passwords, .userNotImported)
                continue
            }
            if row.isGuest || row.appserviceId != nil {
                report.skipped(.users, row.isGuest ? .guest : .appservice)
                report.skipped(.passwords, .userNotImported)
                continue
            }
            if let existing = state.users[localpart] {
                users[row.name] = (existing.id, existing.isAdmin)
                report.skipped(.users, .existingUser)
                report.skipped(.passwords, .existingUser)
                continue
            }
            let createdAt = row.createdAt ?? now
            let user = User(
                id: ULID.make(at: createdAt, random: random), username: localpart, createdAt: createdAt,
                lockedAt: row.isLocked ? now : nil, deactivatedAt: row.isDeactivated ? now : nil, isAdmin: row.isAdmin)
            batch.users.append(user)
            state.users[localpart] = ImportBaseline.ExistingUser(id: user.id, isAdmin: user.isAdmin)
            users[row.name] = (user.id, user.isAdmin)
            report.imported(.users)
            switch (row.passwordHash, bcryptVersion) {
            case (let hash?, let version?) where hash.hasPrefix("$2"):
                batch.passwords.append(PasswordRecord(
                    id: ULID.make(at: now, random: random), userId: user.id, version: version, hash: hash, createdAt: now))
                report.imported(.passwords)
            case (let hash?, _) where !hash.isEmpty:
                report.skipped(.passwords, .notBcrypt)
            default:
                report.skipped(.passwords, .noPassword)
            }
        }

        for row in snapshot.threepids {
            guard let user = users[row.userId] else {
                report.skipped(.emails, .userNotImported)
                continue
            }
            guard row.medium == "email" else {
                report.skipped(.emails, .notEmail)
                continue
            }
            guard state.emails.insert(ImportBaseline.emailKey(userId: user.id, email: row.address)).inserted else {
                report.skipped(.emails, .alreadyImported)
                continue
            }
            batch.emails.append(UserEmail(
                id: ULID.make(at: now, random: random), userId: user.id, email: row.address, createdAt: row.addedAt ?? now))
            report.imported(.emails)
        }

        for row in snapshot.devices {
            guard let user = users[row.userId] else {
                report.skipped(.devices, .userNotImported)
                continue
            }
            guard !row.isHidden else {
                report.skipped(.devices, .hiddenDevice)
                continue
            }
            let key = ImportBaseline.deviceKey(userId: user.id, deviceId: row.deviceId)
            if let existing = state.activeSessions[key] {
                sessions[Self.deviceKey(row.userId, row.deviceId)] = existing
                report.skipped(.devices, .alreadyImported)
                continue
            }
            let session = CompatSession(
                id: ULID.make(at: row.lastSeen ?? now, random: random), userId: user.id, deviceId: row.deviceId,
                displayName: row.displayName, isSynapseAdmin: user.isAdmin, createdAt: row.lastSeen ?? now, lastActiveAt: row.lastSeen)
            batch.sessions.append(session)
            state.activeSessions[key] = session.id
            sessions[Self.deviceKey(row.userId, row.deviceId)] = session.id
            report.imported(.devices)
        }

        let refreshTokens = Dictionary(snapshot.refreshTokens.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var accessByRefresh: [Int64: SynapseAccessTokenRow] = [:]
        for row in snapshot.accessTokens {
            guard let refreshId = row.refreshTokenId, refreshTokens[refreshId] != nil else { continue }
            accessByRefresh[refreshId] = row
        }

        // Access tokens without a refresh token; the others are imported (or not) with their pair below.
        for row in snapshot.accessTokens where row.refreshTokenId.map({ refreshTokens[$0] == nil }) ?? true {
            switch session(for: row, sessions: sessions, users: users, tokens: [(row.token, .compatAccessToken)], state: state) {
            case .failure(let reason):
                report.skipped(.accessTokens, reason)
            case .success where row.validUntil.map({ $0 <= now }) == true:
                report.skipped(.accessTokens, .expired)
            case .success(let sessionId):
                let token = CompatAccessToken(
                    id: ULID.make(at: now, random: random), sessionId: sessionId, tokenHash: TokenHasher.sha256Hex(row.token),
                    createdAt: now, expiresAt: row.validUntil)
                state.tokenHashes.insert(token.tokenHash)
                batch.accessTokens.append(token)
                report.imported(.accessTokens)
            }
        }

        for row in snapshot.refreshTokens {
            guard let access = accessByRefresh[row.id] else {
                report.skipped(.refreshTokens, .pairNotImported)
                continue
            }
            if let next = row.nextTokenId, accessByRefresh[next]?.used == true {
                report.skipped(.refreshTokens, .superseded)
                report.skipped(.accessTokens, .superseded)
                continue
            }
            let tokens: [(String, TokenKind)] = [(row.token, .compatRefreshToken), (access.token, .compatAccessToken)]
            switch session(for: access, sessions: sessions, users: users, tokens: tokens, state: state) {
            case .failure(let reason):
                report.skipped(.refreshTokens, reason)
                report.skipped(.accessTokens, reason)
            case .success(let sessionId):
                let accessToken = CompatAccessToken(
                    id: ULID.make(at: now, random: random), sessionId: sessionId, tokenHash: TokenHasher.sha256Hex(access.token),
                    createdAt: now, expiresAt: access.validUntil)
                let refreshToken = CompatRefreshToken(
                    id: ULID.make(at: now, random: random), sessionId: sessionId, accessTokenId: accessToken.id,
                    tokenHash: TokenHasher.sha256Hex(row.token), createdAt: now)
                state.tokenHashes.insert(accessToken.tokenHash)
                state.tokenHashes.insert(refreshToken.tokenHash)
                batch.accessTokens.append(accessToken)
                batch.refreshTokens.append(refreshToken)
                report.imported(.accessTokens)
                report.imported(.refreshTokens)
            }
        }
        return (batch, report)
    }

    /// The localpart of `@localpart:serverName`, or `nil` for a user of another server.
    func localpart(of userId: String) -> String? {
        let suffix = ":" + serverName
        guard userId.hasPrefix("@"), userId.hasSuffix(suffix), userId.count > suffix.count + 1 else { return nil }
        return String(userId.dropFirst().dropLast(suffix.count))
    }

    /// The compat session the tokens of `row` go into, or why they are not imported: the user, the
    /// kind of token and the device come first, then each token's format and whether the store has it.
    /// - Parameters:
    ///   - row: the access token row (of a pair, for refresh tokens).
    ///   - sessions: the sessions by Synapse user and device.
    ///   - users: the imported or existing users.
    ///   - tokens: the token texts to import with the kind each must be.
    ///   - state: what the store holds, with what this run added so far.
    private func session(
        for row: SynapseAccessTokenRow, sessions: [String: String], users: [String: (id: String, isAdmin: Bool)],
        tokens: [(String, TokenKind)], state: ImportBaseline
    ) -> Result<String, SkipReason> {
        guard users[row.userId] != nil else { return .failure(.userNotImported) }
        guard row.puppetsUserId == nil else { return .failure(.puppet) }
        guard let deviceId = row.deviceId else { return .failure(.noDevice) }
        guard let session = sessions[Self.deviceKey(row.userId, deviceId)] else { return .failure(.deviceNotImported) }
        for (token, kind) in tokens {
            guard TokenFormat.synapseKind(of: token) == kind else { return .failure(.notSynapseToken) }
            guard !state.tokenHashes.contains(TokenHasher.sha256Hex(token)) else { return .failure(.alreadyImported) }
        }
        return .success(session)
    }

    private static func deviceKey(_ userId: String, _ deviceId: String) -> String { "\(userId) \(deviceId)" }
}
