#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Mustache

/// The compiled page templates: the built-in ones (``BuiltinTemplates``), each replaced by
/// `NAME.html` from `templates.path` when that file exists. Parsed once at start, so a template
/// that does not parse stops `serve` (and fails `config check`) instead of breaking a page later.
struct PageTemplates: Sendable {
    private let library: MustacheLibrary
    /// The templates taken from `templates.path`, for the start-up log.
    let overridden: [String]

    /// Why the templates could not be loaded.
    struct LoadError: Error, CustomStringConvertible {
        var description: String
    }

    /// - Parameter directory: `templates.path`, or `nil` for the built-in templates only.
    init(overridesFrom directory: String? = nil) throws(LoadError) {
        var library = MustacheLibrary()
        var overridden: [String] = []
        for (name, builtin) in BuiltinTemplates.all {
            var text = builtin
            var source = "built-in template \(name)"
            if let directory {
                let file = directory.hasSuffix("/") ? "\(directory)\(name).html" : "\(directory)/\(name).html"
                if FileManager.default.fileExists(atPath: file) {
                    guard let data = FileManager.default.contents(atPath: file), let contents = String(data: data, encoding: .utf8) else {
                        throw LoadError(description: "templates.path: cannot read \(file) as UTF-8")
                    }
                    text = contents
                    source = file
                    overridden.append(name)
                }
            }
            do {
                try library.register(text, named: name)
            } catch {
                throw LoadError(description: "templates.path: \(source) does not parse as Mustache: \(error)")
            }
        }
        self.library = library
        self.overridden = overridden.sorted()
    }

    /// Renders template `name` with `context` (values are HTML-escaped unless the template uses
    /// triple braces).
    func render(_ name: String, _ context: [String: Any]) -> String {
        library.render(context, withTemplate: name) ?? ""
    }
}
