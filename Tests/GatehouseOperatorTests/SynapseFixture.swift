import Foundation
import GRDB
import GatehouseAuth
import GatehouseCore

/// A small Synapse database on SQLite, with the tables and columns of Synapse 1.163 (schema 94)
/// that an import reads, filled with one row for every case the importer decides about.
struct SynapseFixture {
    static let serverName = "example.test"
    static let pepper = "synapse-pepper"
    static let alicePassword = "correct horse battery staple"

    // Tokens in Synapse's own shape.
    static let aliceAccess = "syt_YWxpY2U_TGhbGTLXNnRmOYvkjodM_1mCNv7"
    static let aliceRefresh = "syr_YWxpY2U_pQkQUbJxWqbGydNhCBsf_2Lq0Tm"
    static let aliceRefreshAccess = "syt_YWxpY2U_refreshableAccessTok_2b3C4d"
    static let aliceOldRefresh = "syr_YWxpY2U_usedAndReplacedToken_0a1B2c"
    static let aliceOldRefreshAccess = "syt_YWxpY2U_oldRefreshedAccessTo_9z8Y7x"
    static let bobAccess = "syt_Ym9i_bobsAccessTokenAbcdefg_1a2B3c"
    static let expired = "syt_YWxpY2U_expiredAccessTokenAbcd_5e6F7g"
    static let puppet = "syt_YWxpY2U_puppetTokenOfAnAdminAb_3d4E5f"
    static let macaroon = "MDAxN2xvY2F0aW9uIGV4YW1wbGUudGVzdAowMDEzaWRlbnRpZmllciBrZXkK"

    let directory: String
    let path: String
    /// `alice`'s bcrypt hash, peppered as Synapse does.
    let aliceHash: String

    /// Creates the database with the standard rows.
    /// - Parameters:
    ///   - schemaVersion: `schema_version.version`.
    ///   - now: the fixture's "now" in milliseconds (expiry is relative to it).
    init(schemaVersion: Int = 94, now: Date) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-synapse-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = directory + "/homeserver.db"
        aliceHash = try Bcrypt.hash(Array((Self.alicePassword + Self.pepper).utf8), cost: 4, salt: Array(repeating: 7, count: 16))
        let queue = try DatabaseQueue(path: path)
        let ms = Int64(now.timeIntervalSince1970 * 1000)
        try queue.write { db in
            try db.execute(sql: Self.schema)
            try db.execute(sql: "INSERT INTO schema_version (version, upgraded) VALUES (?, 1)", arguments: [schemaVersion])
            let users: [[DatabaseValueConvertible?]] = [
                ["@alice:example.test", aliceHash, 1_700_000_000, 1, 0, 0, nil, 0],
                ["@bob:example.test", nil, 1_700_000_100, 0, 0, 0, nil, 1],
                ["@carol:example.test", "$2b$04$" + String(repeating: "a", count: 53), 1_700_000_200, 0, 0, 1, nil, 0],
                ["@42:example.test", nil, 1_700_000_300, 0, 1, 0, nil, 0],
                ["@_bridge_x:example.test", nil, 1_700_000_400, 0, 0, 0, "bridge", 0],
                ["@mallory:elsewhere.test", nil, 1_700_000_500, 0, 0, 0, nil, 0],
                ["@dave:example.test", "pbkdf2-not-bcrypt", 1_700_000_600, 0, 0, 0, nil, 0],
            ]
            for user in users {
                try db.execute(
                    sql: "INSERT INTO users (name, password_hash, creation_ts, admin, is_guest, deactivated, appservice_id, locked) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    arguments: StatementArguments(user))
            }
            for (user, medium, address) in [
                ("@alice:example.test", "email", "alice@example.test"), ("@alice:example.test", "msisdn", "441234567890"),
                ("@42:example.test", "email", "guest@example.test"),
            ] {
                try db.execute(
                    sql: "INSERT INTO user_threepids (user_id, medium, address, validated_at, added_at) VALUES (?, ?, ?, ?, ?)",
                    arguments: [user, medium, address, ms - 1000, ms - 1000])
            }
            for (user, device, name, hidden) in [
                ("@alice:example.test", "PHONE", "Alice's phone", 0), ("@alice:example.test", "LAPTOP", nil, 0),
                ("@alice:example.test", "MASTERKEY", nil, 1), ("@bob:example.test", "BOBDEV", "bob", 0), ("@42:example.test", "guest_device", nil, 0),
            ] as [(String, String, String?, Int)] {
                try db.execute(
                    sql: "INSERT INTO devices (user_id, device_id, display_name, last_seen, hidden) VALUES (?, ?, ?, ?, ?)",
                    arguments: [user, device, name, ms - 5000, hidden])
            }
            // Refresh pair 2 replaced pair 1, and pair 2's access token was used: pair 1 is dead.
            try db.execute(sql: "INSERT INTO refresh_tokens (id, user_id, device_id, token, next_token_id) VALUES (2, '@alice:example.test', 'LAPTOP', ?, NULL)", arguments: [Self.aliceRefresh])
            try db.execute(sql: "INSERT INTO refresh_tokens (id, user_id, device_id, token, next_token_id) VALUES (1, '@alice:example.test', 'LAPTOP', ?, 2)", arguments: [Self.aliceOldRefresh])
            let tokens: [[DatabaseValueConvertible?]] = [
                [10, "@alice:example.test", "PHONE", Self.aliceAccess, nil, nil, nil, 0],
                [11, "@alice:example.test", "LAPTOP", Self.aliceOldRefreshAccess, ms - 60_000, nil, 1, 1],
                [12, "@alice:example.test", "LAPTOP", Self.aliceRefreshAccess, ms + 300_000, nil, 2, 1],
                [13, "@alice:example.test", "PHONE", Self.expired, ms - 1, nil, nil, 0],
                [14, "@alice:example.test", "PHONE", Self.puppet, nil, "@bob:example.test", nil, 0],
                [15, "@alice:example.test", "PHONE", Self.macaroon, nil, nil, nil, 0],
                [16, "@alice:example.test", nil, "syt_YWxpY2U_noDeviceTokenAbcdefgh_1q2w3e", nil, nil, nil, 0],
                [17, "@bob:example.test", "BOBDEV", Self.bobAccess, nil, nil, nil, 0],
                [18, "@42:example.test", "guest_device", "syt_NDI_guestTokenAbcdefghijk_0p9o8i", nil, nil, nil, 0],
                [19, "@alice:example.test", "GONE", "syt_YWxpY2U_deletedDeviceTokenAb_7u6y5t", nil, nil, nil, 0],
            ]
            for token in tokens {
                try db.execute(
                    sql: "INSERT INTO access_tokens (id, user_id, device_id, token, valid_until_ms, puppets_user_id, refresh_token_id, used) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    arguments: StatementArguments(token))
            }
        }
        try queue.close()
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Synapse's DDL for these tables (as `synapse/storage/schema/main/full_schemas` and deltas leave them
    /// on SQLite), without the columns an import does not read where they have defaults.
    static let schema = """
        CREATE TABLE schema_version (
            Lock CHAR(1) NOT NULL DEFAULT 'X' UNIQUE, version INTEGER NOT NULL, upgraded BOOL NOT NULL, CHECK (Lock='X'));
        CREATE TABLE users (
            name TEXT, password_hash TEXT, creation_ts BIGINT, admin SMALLINT DEFAULT 0 NOT NULL, upgrade_ts BIGINT,
            is_guest SMALLINT DEFAULT 0 NOT NULL, appservice_id TEXT, consent_version TEXT, consent_server_notice_sent TEXT,
            user_type TEXT DEFAULT NULL, deactivated SMALLINT DEFAULT 0 NOT NULL, shadow_banned BOOLEAN, consent_ts bigint,
            approved BOOLEAN, locked BOOLEAN DEFAULT false NOT NULL, suspended BOOLEAN DEFAULT false NOT NULL, UNIQUE(name));
        CREATE TABLE user_threepids (
            user_id TEXT NOT NULL, medium TEXT NOT NULL, address TEXT NOT NULL, validated_at BIGINT NOT NULL, added_at BIGINT NOT NULL,
            CONSTRAINT medium_address UNIQUE (medium, address));
        CREATE TABLE devices (
            user_id TEXT NOT NULL, device_id TEXT NOT NULL, display_name TEXT, last_seen BIGINT, ip TEXT, user_agent TEXT,
            hidden BOOLEAN DEFAULT 0, CONSTRAINT device_uniqueness UNIQUE (user_id, device_id));
        CREATE TABLE refresh_tokens (
            id BIGINT PRIMARY KEY, user_id TEXT NOT NULL, device_id TEXT NOT NULL, token TEXT NOT NULL,
            next_token_id BIGINT REFERENCES refresh_tokens (id) ON DELETE CASCADE, expiry_ts BIGINT DEFAULT NULL,
            ultimate_session_expiry_ts BIGINT DEFAULT NULL, UNIQUE(token));
        CREATE TABLE access_tokens (
            id BIGINT PRIMARY KEY, user_id TEXT NOT NULL, device_id TEXT, token TEXT NOT NULL, valid_until_ms BIGINT,
            puppets_user_id TEXT, last_validated BIGINT, refresh_token_id BIGINT REFERENCES refresh_tokens (id) ON DELETE CASCADE,
            used BOOLEAN, UNIQUE(token));
        """
}
