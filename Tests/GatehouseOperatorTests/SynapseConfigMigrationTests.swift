import Testing
import Yams

@testable import GatehouseOperator

/// `gatehouse synapse migrate-config`: the line edit keeps everything but msc3861, carries the
/// secret, and refuses files it should not touch.
struct SynapseConfigMigrationTests {
    static let endpoint = "http://127.0.0.1:8081/"

    /// A homeserver.yaml as MAS's documentation had admins write it, with comments everywhere.
    static let withMSC3861 = """
        # Synapse configuration
        server_name: "example.org"
        public_baseurl: https://matrix.example.org/
        listeners:
          - port: 8008
            tls: false
            type: http
            x_forwarded: true
            bind_addresses: ['::1', '127.0.0.1']
            resources:
              - names: [client, federation]
                compress: false

        # Features still in testing
        experimental_features:
          # Sliding sync
          msc3575_enabled: true

          # Delegate auth to MAS
          msc3861:
            enabled: true
            issuer: https://auth.example.org/
            client_id: 0000000000000000000SYNAPSE
            client_auth_method: client_secret_basic
            client_secret: "SomeRandomSecret"
            admin_token: "AnotherRandomSecretThatIsLongEnough0123456789"   # shared with MAS
            account_management_url: "https://auth.example.org/account"

          # End of features
        report_stats: false   # anonymous statistics

        """

    @Test func removesOnlyMSC3861AndAddsTheSectionKeepingComments() throws {
        let migration = try SynapseConfigMigration(text: Self.withMSC3861, endpoint: Self.endpoint)
        #expect(
            migration.newText == """
                # Synapse configuration
                server_name: "example.org"
                public_baseurl: https://matrix.example.org/
                listeners:
                  - port: 8008
                    tls: false
                    type: http
                    x_forwarded: true
                    bind_addresses: ['::1', '127.0.0.1']
                    resources:
                      - names: [client, federation]
                        compress: false

                # Features still in testing
                experimental_features:
                  # Sliding sync
                  msc3575_enabled: true

                # Authentication is delegated to Gatehouse (migrated from experimental_features.msc3861 by `gatehouse synapse migrate-config`).
                matrix_authentication_service:
                  enabled: true
                  endpoint: "http://127.0.0.1:8081/"
                  secret: "AnotherRandomSecretThatIsLongEnough0123456789"

                  # End of features
                report_stats: false   # anonymous statistics

                """)
        #expect(migration.secret == .inline("AnotherRandomSecretThatIsLongEnough0123456789"))
        #expect(migration.oldClientID == "0000000000000000000SYNAPSE")
        #expect(migration.oldClientAuthMethod == "client_secret_basic")
        #expect(migration.oldIssuer == "https://auth.example.org/")
        // What Synapse will read.
        let migrated = try #require(try Yams.load(yaml: migration.newText) as? [String: Any])
        #expect((migrated["experimental_features"] as? [String: Any])?.keys.sorted() == ["msc3575_enabled"])
        let section = try #require(migrated["matrix_authentication_service"] as? [String: Any])
        #expect(section["enabled"] as? Bool == true)
        #expect(section["endpoint"] as? String == Self.endpoint)
    }

    @Test func theDiffShowsExactlyTheChange() throws {
        let migration = try SynapseConfigMigration(text: Self.withMSC3861, endpoint: Self.endpoint)
        #expect(
            migration.diff(path: "homeserver.yaml") == """
                --- homeserver.yaml
                +++ homeserver.yaml (migrated)
                @@ -16,15 +16,11 @@
                   # Sliding sync
                   msc3575_enabled: true
                 
                -  # Delegate auth to MAS
                -  msc3861:
                -    enabled: true
                -    issuer: https://auth.example.org/
                -    client_id: 0000000000000000000SYNAPSE
                -    client_auth_method: client_secret_basic
                -    client_secret: "SomeRandomSecret"
                -    admin_token: "AnotherRandomSecretThatIsLongEnough0123456789"   # shared with MAS
                -    account_management_url: "https://auth.example.org/account"
                +# Authentication is delegated to Gatehouse (migrated from experimental_features.msc3861 by `gatehouse synapse migrate-config`).
                +matrix_authentication_service:
                +  enabled: true
                +  endpoint: "http://127.0.0.1:8081/"
                +  secret: "AnotherRandomSecretThatIsLongEnough0123456789"
                 
                   # End of features
                 report_stats: false   # anonymous statistics

                """)
    }

    @Test func anExperimentalSectionLeftEmptyIsReplacedAndATokenFileBecomesSecretPath() throws {
        let text = """
            server_name: example.org
            experimental_features:
                msc3861:
                    enabled: true
                    issuer: "https://auth.example.org/"
                    admin_token_path: /etc/synapse/mas_admin_token
            # Database
            database: {name: sqlite3}
            """
        let migration = try SynapseConfigMigration(text: text, endpoint: "http://[::1]:8081/")
        #expect(migration.secret == .file("/etc/synapse/mas_admin_token"))
        #expect(migration.oldClientID == nil)
        #expect(
            migration.newText == """
                server_name: example.org
                # Authentication is delegated to Gatehouse (migrated from experimental_features.msc3861 by `gatehouse synapse migrate-config`).
                matrix_authentication_service:
                    enabled: true
                    endpoint: "http://[::1]:8081/"
                    secret_path: "/etc/synapse/mas_admin_token"
                # Database
                database: {name: sqlite3}
                """, "no trailing newline added; the file's own indentation step is used")
    }

    @Test func aFlowStyleMSC3861EntryIsRemovedWhole() throws {
        let text = """
            experimental_features:
              msc3861: {enabled: true, issuer: "https://auth.example.org/",
                admin_token: "0123456789abcdef0123456789abcdef"}
              msc4108_enabled: true
            server_name: example.org

            """
        let migration = try SynapseConfigMigration(text: text, endpoint: Self.endpoint)
        #expect(
            migration.newText == """
                experimental_features:
                  msc4108_enabled: true

                # Authentication is delegated to Gatehouse (migrated from experimental_features.msc3861 by `gatehouse synapse migrate-config`).
                matrix_authentication_service:
                  enabled: true
                  endpoint: "http://127.0.0.1:8081/"
                  secret: "0123456789abcdef0123456789abcdef"

                server_name: example.org

                """)
    }

    static let refusals: [(String, HomeserverConfigError)] = [
        ("server_name: example.org\nexperimental_features:\n  msc3575_enabled: true\n", .noMSC3861),
        ("server_name: example.org\n", .noMSC3861),
        (
            "experimental_features:\n  msc3861:\n    enabled: true\n    admin_token: abc\nmatrix_authentication_service:\n  enabled: false\n",
            .alreadyMigrated
        ),
        ("experimental_features:\n  msc3861:\n    enabled: true\n    issuer: https://auth.example.org/\n", .noAdminToken),
        ("experimental_features:\n  msc3861:\n    enabled: false\n    admin_token: abc\n", .msc3861Disabled),
        ("experimental_features: {msc3861: {enabled: true, admin_token: abc}}\n", .flowStyle("experimental_features")),
        ("server_name: [unclosed\n", .notYAML("")),
    ]

    @Test(arguments: refusals)
    func refusesWithAReason(text: String, expected: HomeserverConfigError) {
        #expect(throws: expected) { try SynapseConfigMigration(text: text, endpoint: Self.endpoint) }
    }

    @Test func refusalsSayWhatToDo() {
        #expect(HomeserverConfigError.noAdminToken.description.contains("admin_token"))
        #expect(HomeserverConfigError.alreadyMigrated.description.contains("already has a matrix_authentication_service"))
        #expect(HomeserverConfigError.noMSC3861.description.contains("no experimental_features.msc3861"))
    }
}
