import Foundation
import GatehouseCore
import Yams

/// `gatehouse synapse migrate-config`: the seed's "Migrating from the experimental MSC3861 feature"
/// carried out on a Synapse `homeserver.yaml`. `experimental_features.msc3861` is removed (and
/// `experimental_features` with it when nothing else is left in it), and a
/// `matrix_authentication_service` section is added with `enabled: true`, Gatehouse's internal URL
/// as `endpoint`, and the old `admin_token` as `secret` (or `admin_token_path` as `secret_path`).
///
/// The change is a line edit of the text, located by indentation, so every other line and comment
/// stays byte for byte; the result is then parsed again and compared with the original, setting
/// by setting, and refused if anything else changed.
public struct SynapseConfigMigration {
    /// Where the shared secret comes from.
    public enum Secret: Sendable, Equatable {
        /// `admin_token`, written inline as `secret`.
        case inline(String)
        /// `admin_token_path`, written as `secret_path`.
        case file(String)
    }

    /// The old lines, without line terminators.
    public let oldLines: [String]
    /// The change.
    public let edits: [LineEdit]
    /// The shared secret carried over.
    public let secret: Secret
    /// `msc3861.client_id`: the static client the old setup provisioned for Synapse in MAS, now unused.
    public let oldClientID: String?
    /// `msc3861.client_auth_method`, for the `clients` entry shown.
    public let oldClientAuthMethod: String?
    /// `msc3861.issuer`, for the report.
    public let oldIssuer: String?
    /// The parsed original file.
    public let homeserver: HomeserverConfig
    private let trailingNewline: Bool

    /// Plans the migration of `text`; throws a refusal when the file cannot or need not be migrated.
    /// - Parameters:
    ///   - text: the content of `homeserver.yaml`.
    ///   - endpoint: Gatehouse's URL as Synapse reaches it (an internal listener).
    public init(text: String, endpoint: String) throws(HomeserverConfigError) {
        let homeserver = try HomeserverConfig(text: text)
        guard let msc3861 = homeserver.msc3861 else { throw .noMSC3861 }
        if homeserver.hasMatrixAuthenticationService { throw .alreadyMigrated }
        guard msc3861["enabled"]?.bool == true else { throw .msc3861Disabled }
        let secret: Secret
        if let path = msc3861["admin_token_path"]?.string, !path.isEmpty {
            secret = .file(path)
        } else if let token = msc3861["admin_token"]?.string, !token.isEmpty {
            secret = .inline(token)
        } else {
            throw .noAdminToken
        }

        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let trailingNewline = lines.last == ""
        if trailingNewline { lines.removeLast() }

        // experimental_features, a top-level block mapping.
        let parents = YAMLLines.keyLines(lines, key: "experimental_features", indent: 0, in: 0..<lines.count)
        guard let parent = parents.first else { throw .flowStyle("the file") }
        guard parents.count == 1 else { throw .duplicateKey("experimental_features") }
        guard YAMLLines.valueIsEmpty(lines[parent], key: "experimental_features") else { throw .flowStyle("experimental_features") }
        let parentEnd = YAMLLines.blockEnd(lines, from: parent, parentIndent: 0)
        guard let childIndent = YAMLLines.firstContentIndent(lines, in: (parent + 1)..<parentEnd) else { throw .noMSC3861 }

        // msc3861 inside it, with the comment lines directly above it (they describe it).
        let entries = YAMLLines.keyLines(lines, key: "msc3861", indent: childIndent, in: (parent + 1)..<parentEnd)
        guard let entry = entries.first else { throw .flowStyle("experimental_features.msc3861") }
        guard entries.count == 1 else { throw .duplicateKey("experimental_features.msc3861") }
        let entryEnd = YAMLLines.blockEnd(lines, from: entry, parentIndent: childIndent)
        var entryStart = entry
        while entryStart - 1 > parent, YAMLLines.isComment(lines[entryStart - 1]), YAMLLines.indent(lines[entryStart - 1]) == childIndent {
            entryStart -= 1
        }
        let othersRemain = ((parent + 1)..<parentEnd).contains { index in
            !(entryStart..<entryEnd).contains(index) && !YAMLLines.isBlankOrComment(lines[index])
        }

        let unit = String(repeating: " ", count: childIndent)
        var section = [
            "# Authentication is delegated to Gatehouse (migrated from experimental_features.msc3861 by `gatehouse synapse migrate-config`).",
            "matrix_authentication_service:",
            "\(unit)enabled: true",
            "\(unit)endpoint: \(JSONText.quote(endpoint))",
        ]
        switch secret {
        case .inline(let token): section.append("\(unit)secret: \(JSONText.quote(token))")
        case .file(let path): section.append("\(unit)secret_path: \(JSONText.quote(path))")
        }
        var edits = [LineEdit(range: entryStart..<entryEnd, replacement: [])]
        if othersRemain {
            // One blank line on each side of the new section, counting those already there.
            let previousKept = entryEnd == parentEnd ? entryStart - 1 : parentEnd - 1
            let previousBlank = YAMLLines.isBlank(lines[previousKept])
            let nextBlank = parentEnd >= lines.count || YAMLLines.isBlank(lines[parentEnd])
            edits.append(LineEdit(range: parentEnd..<parentEnd, replacement: (previousBlank ? [] : [""]) + section + (nextBlank ? [] : [""])))
        } else {
            // Nothing but comments would be left under experimental_features: the new section takes its place.
            edits.append(LineEdit(range: parent..<(parent + 1), replacement: section))
        }

        self.oldLines = lines
        self.edits = LineEdit.normalized(edits)
        self.secret = secret
        self.oldClientID = msc3861["client_id"]?.string
        self.oldClientAuthMethod = msc3861["client_auth_method"]?.string
        self.oldIssuer = msc3861["issuer"]?.string
        self.homeserver = homeserver
        self.trailingNewline = trailingNewline
        try verify(endpoint: endpoint)
    }

    /// The migrated file.
    public var newText: String {
        LineEdit.apply(edits, to: oldLines).joined(separator: "\n") + (trailingNewline ? "\n" : "")
    }

    /// `diff -u` of the change.
    /// - Parameter path: the file's name for the diff header.
    public func diff(path: String) -> String {
        LineEdit.unifiedDiff(edits, of: oldLines, oldName: path, newName: "\(path) (migrated)")
    }

    /// Parses the result and checks that exactly the intended settings changed.
    private func verify(endpoint: String) throws(HomeserverConfigError) {
        let migrated = try HomeserverConfig(text: newText)
        guard let old = homeserver.root.mapping, let new = migrated.root.mapping else { throw .notYAML("the top level is not a mapping") }
        var changed: [String] = []
        let oldKeys = Set(old.keys.compactMap(\.string))
        let newKeys = Set(new.keys.compactMap(\.string))
        for key in oldKeys.union(newKeys).sorted() where key != "experimental_features" && key != "matrix_authentication_service" {
            if old[key] != new[key] { changed.append(key) }
        }
        // experimental_features loses msc3861 and nothing else.
        var oldExperimental = old["experimental_features"]?.mapping ?? [:]
        oldExperimental["msc3861"] = nil
        let newExperimental = new["experimental_features"]?.mapping ?? [:]
        let experimentalKept = Array(oldExperimental.keys) == Array(newExperimental.keys) && Array(oldExperimental.values) == Array(newExperimental.values)
        if !experimentalKept || new["experimental_features"]?["msc3861"] != nil { changed.append("experimental_features") }
        let section = new["matrix_authentication_service"]
        var expected = section?["enabled"]?.bool == true && section?["endpoint"]?.string == endpoint
        switch secret {
        case .inline(let token): expected = expected && section?["secret"]?.string == token
        case .file(let path): expected = expected && section?["secret_path"]?.string == path
        }
        if !expected { changed.append("matrix_authentication_service") }
        if !changed.isEmpty { throw .editChangedOtherSettings(changed) }
    }
}
