#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `branding` (MAS's section): how the HTML pages name the service and which documents they link.
public struct BrandingConfiguration: Sendable, Equatable {
    /// `branding.service_name`: shown in every page's title and header.
    public var serviceName: String
    /// `branding.policy_uri`: the privacy policy, linked in every page's footer.
    public var policyURI: String?
    /// `branding.tos_uri`: the terms of service, linked in the footer; registration then requires
    /// ticking "I accept the terms".
    public var tosURI: String?
    /// `branding.imprint`: a line of text in the footer (legal notice).
    public var imprint: String?

    public init(serviceName: String = "Gatehouse", policyURI: String? = nil, tosURI: String? = nil, imprint: String? = nil) {
        self.serviceName = serviceName
        self.policyURI = policyURI
        self.tosURI = tosURI
        self.imprint = imprint
    }
}

/// `templates` (MAS's section): where the page templates come from.
public struct TemplatesConfiguration: Sendable, Equatable {
    /// `templates.path`: a directory whose `NAME.html` files replace the built-in template `NAME`
    /// (absolute; `nil` uses the built-in templates only).
    public var path: String?

    public init(path: String? = nil) {
        self.path = path
    }
}

/// `account` (MAS's section): what users may do on the HTML pages.
public struct AccountConfiguration: Sendable, Equatable {
    /// `account.password_registration_enabled`: the registration page (`prompt=create`) is offered.
    public var passwordRegistrationEnabled: Bool

    public init(passwordRegistrationEnabled: Bool = false) {
        self.passwordRegistrationEnabled = passwordRegistrationEnabled
    }
}

extension BrandingConfiguration {
    /// Reads `branding`; absent gives the defaults.
    static func read(_ node: ConfigNode?) throws -> BrandingConfiguration {
        var branding = BrandingConfiguration()
        guard let node else { return branding }
        let map = try node.mapping(allowed: ["service_name", "policy_uri", "tos_uri", "imprint"])
        if let name = map["service_name"] {
            let text = try name.string()
            guard !text.isEmpty, text.count <= 100, !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw name.error("must be 1–100 characters without control characters")
            }
            branding.serviceName = text
        }
        branding.policyURI = try map["policy_uri"].map(readWebURI)
        branding.tosURI = try map["tos_uri"].map(readWebURI)
        branding.imprint = try map["imprint"]?.string()
        return branding
    }

    /// An absolute `https://` (or `http://`) URL without user info, as the pages link it.
    private static func readWebURI(_ node: ConfigNode) throws -> String {
        let text = try node.string()
        guard case .success(let uri) = URIReference.parse(text), uri.scheme == "https" || uri.scheme == "http", uri.hasAuthority,
            !uri.hasUserInfo
        else {
            throw node.error("'\(text)' is not an http(s) URL", fix: "Use an absolute URL such as https://example.com/terms")
        }
        return text
    }
}

extension TemplatesConfiguration {
    /// Reads `templates`; the directory must exist (its templates are parsed when the pages start).
    static func read(_ node: ConfigNode?, directory: String) throws -> TemplatesConfiguration {
        guard let node else { return TemplatesConfiguration() }
        let map = try node.mapping(allowed: ["path"])
        guard let pathNode = map["path"] else { return TemplatesConfiguration() }
        let path = FilePaths.absolute(try pathNode.string(), relativeTo: directory)
        // Listing it proves a readable directory (a symbolic link to one included).
        guard (try? FileManager.default.contentsOfDirectory(atPath: path)) != nil else {
            throw pathNode.error(
                "\(path) is not a readable directory", fix: "Create it (NAME.html files there replace built-in templates) or remove the key")
        }
        return TemplatesConfiguration(path: path)
    }
}

extension AccountConfiguration {
    /// Reads `account`; only `password_registration_enabled` is supported.
    static func read(_ node: ConfigNode?) throws -> AccountConfiguration {
        guard let node else { return AccountConfiguration() }
        let map = try node.mapping(allowed: ["password_registration_enabled"])
        return AccountConfiguration(passwordRegistrationEnabled: try map["password_registration_enabled"]?.bool() ?? false)
    }
}
