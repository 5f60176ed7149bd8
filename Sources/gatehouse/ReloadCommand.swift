import ArgumentParser
import GatehouseCore

#if canImport(Glibc)
import Glibc
#endif

/// `gatehouse reload -c FILE`: checks the configuration and its route files, then sends SIGHUP to the
/// running `serve` named by `server.pid_file`. The running process reloads (or refuses, keeping the
/// old configuration) and logs the outcome. Under systemd, `systemctl reload gatehouse` does the
/// same through the unit's `ExecReload`.
struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload", abstract: "Make the running Gatehouse re-read its configuration, routes and certificates.")

    @OptionGroup var options: ConfigOption

    func run() throws {
        // A file that does not load is reported here, before anything is signalled.
        let bundle = try options.load()
        guard let pidFile = bundle.configuration.server.pidFile else {
            printError(
                "server.pid_file is not set, so the running process cannot be found.\n"
                    + "Set `server: {pid_file: /run/gatehouse/gatehouse.pid}` (and restart once), or under systemd run `systemctl reload gatehouse`.")
            throw ExitCode(1)
        }
        guard let pid = PIDFile.read(pidFile) else {
            printError("no process id in \(pidFile): is `gatehouse serve -c \(options.config)` running?")
            throw ExitCode(1)
        }
        guard PIDFile.isGatehouseServe(pid) else {
            printError("process \(pid) from \(pidFile) is not a running `gatehouse serve` (a stale file?); nothing was signalled")
            throw ExitCode(1)
        }
        guard kill(pid, SIGHUP) == 0 else {
            printError("cannot signal process \(pid): \(String(cString: strerror(errno)))")
            throw ExitCode(1)
        }
        print("sent SIGHUP to gatehouse (pid \(pid)); its log says whether the reload was applied")
    }
}
