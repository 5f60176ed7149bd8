#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The progress line on a terminal's standard error: per table the rows read, the rate and the time
/// left, redrawn in place at most ten times a second; a finished table keeps its final line.
///
/// Time comes from `ContinuousClock` (elapsed time, not the wall clock). Use ``make()``: it gives
/// ``SilentProgress`` when standard error is not a terminal, so logs and pipes get only the report.
public final class TerminalProgress: ImportProgress {
    private struct State {
        var name = ""
        var expected = 0
        var started = ContinuousClock.now
        var lastDrawn: ContinuousClock.Instant?
    }

    private let state = Mutex(State())

    private init() {}

    /// A terminal progress line when standard error is a terminal, else nothing.
    public static func make() -> any ImportProgress {
        isatty(2) == 1 ? TerminalProgress() : SilentProgress()
    }

    public func begin(_ name: String, expected: Int) {
        state.withLock { $0 = State(name: name, expected: expected, started: .now) }
        draw(done: 0, final: false)
    }

    public func advance(to done: Int) {
        draw(done: done, final: false)
    }

    public func end(_ done: Int) {
        draw(done: done, final: true)
    }

    private func draw(done: Int, final: Bool) {
        let line: String? = state.withLock { state in
            let now = ContinuousClock.now
            if !final, let last = state.lastDrawn, now - last < .milliseconds(100) { return nil }
            state.lastDrawn = now
            return Self.line(name: state.name, done: done, expected: state.expected, elapsed: now - state.started, final: final)
        }
        guard let line else { return }
        let text = "\r\u{1B}[K" + line + (final ? "\n" : "")
        _ = text.withCString { write(2, $0, strlen($0)) }
    }

    /// One progress line, e.g. `devices: 12000/40000 rows, 3000 rows/s, about 9 s left`.
    /// - Parameters:
    ///   - name: the table.
    ///   - done: rows so far.
    ///   - expected: the estimate (0: unknown).
    ///   - elapsed: time since the table started.
    ///   - final: the table is done.
    static func line(name: String, done: Int, expected: Int, elapsed: Duration, final: Bool) -> String {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = seconds > 0 ? Double(done) / seconds : 0
        if final {
            return "\(name): \(done) rows in \(String(format1: seconds)) s"
        }
        var line = "\(name): \(done)" + (expected > done ? "/\(expected)" : "") + " rows"
        if rate > 0 { line += ", \(Int(rate)) rows/s" }
        if expected > done, rate > 0 { line += ", about \(Int((Double(expected - done) / rate).rounded(.up))) s left" }
        return line
    }
}

extension String {
    /// `value` with one decimal, without Foundation's formatters.
    fileprivate init(format1 value: Double) {
        let tenths = Int((value * 10).rounded())
        self = "\(tenths / 10).\(tenths % 10)"
    }
}
