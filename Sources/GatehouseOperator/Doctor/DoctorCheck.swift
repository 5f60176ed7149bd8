/// One finding of `gatehouse doctor`: what was checked, how it went, what was seen and, when it is
/// not fine, what to change. The `name` is stable (scripts and the `--json` output key on it); the
/// texts are for people.
public struct DoctorCheck: Sendable, Equatable, Encodable {
    /// How a check went. Only ``fail`` makes `doctor` exit non-zero.
    public enum Status: String, Sendable, Encodable {
        /// Works as it should.
        case ok
        /// Works, but will hurt later or only suits a development setup (a self-signed certificate,
        /// one that expires soon).
        case warn
        /// Broken: clients or Synapse will fail.
        case fail
        /// Not run, because a check it depends on failed (named in `detail`).
        case skip
    }

    /// A stable identifier, e.g. `synapse_secret`.
    public var name: String
    /// What the check establishes, e.g. "Synapse accepts the shared secret".
    public var title: String
    public var status: Status
    /// What was observed (status codes, versions, names), without secrets or tokens.
    public var detail: String
    /// What to change; `nil` when there is nothing to do.
    public var fix: String?

    /// - Parameters:
    ///   - name: the stable identifier.
    ///   - title: what the check establishes.
    ///   - status: the outcome.
    ///   - detail: what was observed.
    ///   - fix: what to change, if anything.
    public init(name: String, title: String, status: Status, detail: String, fix: String? = nil) {
        self.name = name
        self.title = title
        self.status = status
        self.detail = detail
        self.fix = fix
    }
}
