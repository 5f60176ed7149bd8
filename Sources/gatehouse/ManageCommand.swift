import ArgumentParser
import Foundation
import GatehouseIdentity
import GatehouseStorage

/// `gatehouse manage ...`: user and session administration. Each command keeps Synapse in step and
/// says whether Synapse was updated or the change is queued for the running server to retry.
struct ManageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "manage", abstract: "Manage users and sessions.",
        subcommands: [
            RegisterUser.self, SetPassword.self, LockUser.self, UnlockUser.self, DeactivateUser.self, ReactivateUser.self,
            ListUsers.self, KillSessions.self, ListSessions.self, EndSession.self, IssueCompatibilityToken.self, IssueLoginToken.self,
        ])

    struct RegisterUser: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "register-user", abstract: "Create a user and provision it in Synapse.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The username (localpart) or full Matrix ID.") var username: String
        @OptionGroup var password: PasswordOptions
        @Flag(help: "Allow the user to obtain Synapse admin rights.") var admin = false
        @Option(help: "Display name to set in Synapse.") var displayName: String?
        @Option(help: "Email address to set in Synapse (repeatable).") var email: [String] = []

        func run() async throws {
            let secret = try password.read(required: false)
            try await IdentityContext.open(options).run { context in
                let (user, outcome) = try await context.accounts.registerUser(
                    username: username, password: secret, admin: admin, displayName: displayName, emails: email)
                print("created user \(user.username) (\(user.id))\(admin ? ", admin" : "")\(secret == nil ? ", no password" : "")")
                print(outcome.summary)
            }
        }
    }

    struct SetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-password", abstract: "Set a user's password.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The username.") var username: String
        @OptionGroup var password: PasswordOptions

        func run() async throws {
            guard let secret = try password.read(required: true) else { return }
            try await IdentityContext.open(options).run { context in
                try await context.accounts.setPassword(username: username, password: secret)
                print("password of \(username) updated")
            }
        }
    }

    struct LockUser: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "lock-user", abstract: "Lock a user: every session ends and no login is possible until unlocked.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The username.") var username: String

        func run() async throws {
            try await IdentityContext.open(options).run { context in
                let (sessions, outcome) = try await context.accounts.lockUser(username: username)
                print("locked \(username); ended \(sessions.count) session(s)")
                print(outcome.summary)
            }
        }
    }

    struct UnlockUser: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "unlock-user", abstract: "Unlock a user.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The username.") var username: String

        func run() async throws {
            try await IdentityContext.open(options).run { context in
                let outcome = try await context.accounts.unlockUser(username: username)
                print("unlocked \(username)")
                print(outcome.summary)
            }
        }
    }

    struct DeactivateUser: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "deactivate-user", abstract: "Deactivate a user: sessions end and Synapse deactivates the account.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The username.") var username: String
        @Flag(help: "Also erase the user's data in Synapse (GDPR erasure).") var erase = false

        func run() async throws {
            try await IdentityContext.open(options).run { context in
                let outcome = try await context.accounts.deactivateUser(username: username, erase: erase)
                print("deactivated \(username)\(erase ? " (erase requested)" : "")")
                print(outcome.summary)
            }
        }
    }

    struct ReactivateUser: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "reactivate-user", abstract: "Reactivate a deactivated user.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The username.") var username: String

        func run() async throws {
            try await IdentityContext.open(options).run { context in
                let outcome = try await context.accounts.reactivateUser(username: username)
                print("reactivated \(username)")
                print(outcome.summary)
            }
        }
    }

    struct ListUsers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list-users", abstract: "List users.")
        @OptionGroup var options: ConfigOption

        func run() async throws {
            try await IdentityContext.open(options).run { context in
                let formatter = ISO8601DateFormatter()
                for user in try await context.accounts.listUsers() {
                    var state: [String] = []
                    if user.isAdmin { state.append("admin") }
                    if user.lockedAt != nil { state.append("locked") }
                    if user.deactivatedAt != nil { state.append("deactivated") }
                    print("\(user.username)\t\(user.id)\tcreated \(formatter.string(from: user.createdAt))\t\(state.isEmpty ? "active" : state.joined(separator: ","))")
                }
            }
        }
    }

    struct KillSessions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "kill-sessions", abstract: "End every session of a user.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The username.") var username: String

        func run() async throws {
            try await IdentityContext.open(options).run { context in
                let (sessions, outcome) = try await context.accounts.killSessions(username: username)
                print("ended \(sessions.count) session(s) of \(username): \(sessions.map { $0.deviceId ?? $0.id }.joined(separator: ", "))")
                print(outcome.summary)
            }
        }
    }

    struct ListSessions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list-sessions",
            abstract: "List a user's sessions, oldest first: id, kind (compat, oauth2), device, client, created, last active, state.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The username.") var username: String
        @Flag(help: "Print a JSON array of objects instead (keys: id, kind, device_id, client_id, created_at, last_active_at, finished_at, state).")
        var json = false

        func run() async throws {
            try await IdentityContext.open(options).run { context in
                let sessions = try await context.accounts.listSessions(username: username)
                if json {
                    print(try SessionListing.json(sessions))
                } else {
                    sessions.forEach { print(SessionListing.line($0)) }
                }
            }
        }
    }

    struct EndSession: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "end-session", abstract: "End one session: its tokens stop working at once and its device is removed from Synapse.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The session id (from list-sessions).") var sessionId: String

        func run() async throws {
            try await IdentityContext.open(options).run { context in
                let (session, outcome) = try await context.accounts.endSession(id: sessionId)
                print("ended \(session.kind.rawValue) session \(session.id) (device \(session.deviceId ?? "-"))")
                print(outcome.summary)
            }
        }
    }

    struct IssueCompatibilityToken: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "issue-compatibility-token",
            abstract: "Create a device and an access token for a user (printed on standard output).")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The username.") var username: String
        @Option(help: "The device ID (default: a new random one). An existing session on it is replaced.") var deviceId: String?
        @Flag(name: .customLong("yes-i-want-to-grant-synapse-admin-privileges"), help: "Give the token Synapse admin rights.")
        var synapseAdmin = false

        func run() async throws {
            try await IdentityContext.open(options).run { context in
                let (token, device) = try await context.accounts.issueCompatibilityToken(
                    username: username, deviceId: deviceId, synapseAdmin: synapseAdmin)
                printError("issued a token for \(username) on device \(device)\(synapseAdmin ? " with Synapse admin rights" : "")")
                print(token)
            }
        }
    }

    struct IssueLoginToken: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "issue-login-token",
            abstract: "Create a single-use m.login.token for a user, valid for 30 seconds (printed on standard output).")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The username.") var username: String

        func run() async throws {
            try await IdentityContext.open(options).run { context in
                print(try await context.accounts.issueLoginToken(username: username))
            }
        }
    }
}

/// `--password` or `--password-file`.
struct PasswordOptions: ParsableArguments {
    @Option(help: "The password (visible in the process list; prefer --password-file).") var password: String?
    @Option(help: "A file whose first line is the password.") var passwordFile: String?

    func read(required: Bool) throws -> String? {
        if password != nil && passwordFile != nil {
            throw ValidationError("give --password or --password-file, not both")
        }
        if let passwordFile {
            guard let data = FileManager.default.contents(atPath: passwordFile) else {
                throw ValidationError("cannot read \(passwordFile)")
            }
            let line = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
            guard !line.isEmpty else { throw ValidationError("\(passwordFile) is empty") }
            return line
        }
        if required && password == nil { throw ValidationError("give --password or --password-file") }
        return password
    }
}
