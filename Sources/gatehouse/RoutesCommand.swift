import ArgumentParser
import GatehouseCore

/// `gatehouse routes test -c FILE METHOD PATH`: shows how a request would be routed and why.
struct RoutesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "routes", abstract: "Inspect the route table.", subcommands: [Test.self])

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the rule that wins for a request, and why.")

        @OptionGroup var options: ConfigOption

        @Argument(help: "The request method, e.g. GET.")
        var method: String

        @Argument(help: "The request target as a client would send it, e.g. /_matrix/client/v3/login or /_synapse/%6Das/x.")
        var path: String

        func run() throws {
            let bundle = try options.load()
            let method = self.method.uppercased()
            print("request:   \(method) \(path)")
            let target: RequestTarget
            switch CanonicalPath.parse(path) {
            case .success(let value): target = value
            case .failure(let error):
                print("refused:   400 before routing: \(error.message)")
                return
            }
            print("canonical: \(target.canonicalPath)")
            let trail = bundle.routes.explain(method: method, path: String(target.canonicalPath))
            for step in trail {
                let rule = step.route.rule
                let where_ = "\(rule.source)"
                switch step.outcome {
                case .noMatch:
                    continue
                case .failed(let error) where step.methodAllowed:
                    print("failed:    \(where_)  \(rule.source.text)")
                    print("error:     the pattern could not be evaluated on this path (\(error.shortDescription): \(error))")
                    print("why:       rule \(step.route.index + 1) applies to \(method); a pattern error is never taken for \"no match\",")
                    print("           so Gatehouse answers 500 M_UNKNOWN and tries no later rule")
                    return
                case .failed(let error):
                    let methods = rule.methods.map { $0.sorted().joined(separator: ",") } ?? "*"
                    print("skipped:   \(where_)  pattern could not be evaluated (\(error.shortDescription)), but the rule is for \(methods) only")
                case .matched where step.methodAllowed:
                    print("winner:    \(where_)  \(rule.source.text)")
                    print("action:    \(rule.action)")
                    print("why:       rule \(step.route.index + 1) is the first whose methods include \(method) and whose pattern \(rule.pattern) matches the canonical path")
                    return
                case .matched:
                    print("skipped:   \(where_)  pattern matches but the rule is for \(rule.methods.map { $0.sorted().joined(separator: ",") } ?? "*") only")
                }
            }
            print("winner:    none; no rule matches, so Gatehouse answers 404 M_UNRECOGNIZED")
        }
    }
}
