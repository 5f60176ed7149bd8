import ArgumentParser
import GatehouseCore
import GatehouseOperator
import GatehouseServer
import NIOCore
import NIOPosix

/// `gatehouse doctor -c FILE [--json]`: checks the whole chain a login and a request take, with
/// real requests to the public URL and to Synapse, and explains each failure with its fix. Exits 1
/// when any check failed.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the configuration, the public URL's TLS, Synapse and the wiring between them.",
        discussion: """
            Checks, in order: the configuration is valid; the issuer is https; the public URL answers over TLS \
            with a certificate valid for its name (and days to expiry); Synapse answers at matrix.endpoint with \
            version 1.136 or later; Synapse's /_synapse/mas/ API accepts the shared secret (400 right, 403 wrong, \
            404 integration off); Synapse reaches Gatehouse for introspection (whoami with an unknown token through \
            the public URL gives 401, not 503); /_matrix/client/v3/login is answered by Gatehouse, not Synapse; and \
            the issuer in Synapse's auth_metadata is Gatehouse's, byte for byte. Run it on a host that reaches \
            both the public URL and Synapse's listener.
            """)

    @OptionGroup var options: ConfigOption

    @Flag(name: .long, help: "Print the report as JSON.")
    var json = false

    @Option(name: .long, help: "A PEM file of extra trusted CA certificates, or of the exact certificate to accept (e.g. the development self-signed one).")
    var caFile: String?

    func run() async throws {
        var checks: [DoctorCheck] = []
        let bundle: ConfigurationBundle
        do {
            bundle = try ConfigurationBundle.load(path: options.config)
            try checkListenersAndTemplates(bundle.configuration)
        } catch {
            checks.append(
                DoctorCheck(
                    name: "config", title: "the configuration is valid", status: .fail, detail: "\(options.config): \(error)",
                    fix: "Fix the keys named above (docs/configuration.md); `gatehouse config check -c \(options.config)` shows the same"))
            try finish(checks)
            return
        }
        let configuration = bundle.configuration
        let warnings = configuration.warnings.map { "\($0)" }
        checks.append(
            DoctorCheck(
                name: "config", title: "the configuration is valid", status: warnings.isEmpty ? .ok : .warn,
                detail: warnings.isEmpty ? configuration.sourceFile : "\(configuration.sourceFile), with warnings: \(warnings.joined(separator: "; "))",
                fix: warnings.isEmpty ? nil : "See the warnings; `gatehouse config check` prints them too"))

        let group = MultiThreadedEventLoopGroup.singleton
        let probe = AsyncHTTPProbe(group: group)
        let doctor = Doctor(
            probe: probe, tls: TLSInspector(group: group, caFile: caFile), clock: SystemClock(), random: SystemRandom(), caFile: caFile)
        checks += await doctor.run(
            DoctorTarget(
                publicBase: configuration.http.publicBase, synapseEndpoint: configuration.matrix.endpoint, secret: configuration.matrix.secret))
        await probe.shutdown()
        try finish(checks)
    }

    /// What `config check` verifies beyond loading: the TLS files make a context, the templates parse.
    private func checkListenersAndTemplates(_ configuration: GatehouseConfiguration) throws {
        for (index, listener) in configuration.http.listeners.enumerated() {
            guard let tls = listener.tls else { continue }
            do {
                _ = try TLSContextFactory.makeServerContext(tls)
            } catch {
                throw DoctorConfigurationProblem(
                    description: "http.listeners[\(index)].tls: cannot use \(tls.certificateFile) / \(tls.keyFile): \(error)")
            }
        }
        try PagesService.checkTemplates(configuration)
    }

    private func finish(_ checks: [DoctorCheck]) throws {
        let report = DoctorReport(checks: checks)
        print(json ? report.json() : report.text())
        if !report.passed { throw ExitCode(1) }
    }
}

/// A configuration problem found after loading (TLS files, templates).
struct DoctorConfigurationProblem: Error, CustomStringConvertible {
    var description: String
}
