import CPCRE2

/// A PCRE2 pattern compiled (and JIT-compiled when the platform allows) once, at configuration load.
///
/// PCRE2 documents compiled code, JIT code included, as safe to share between threads; only match data
/// is per call, so the type is `@unchecked Sendable` with an immutable pointer.
public final class PCRE2Regex: @unchecked Sendable {
    private let code: OpaquePointer
    /// The pattern as written.
    public let pattern: String
    /// Whether the JIT compiler accepted the pattern (matching falls back to the interpreter otherwise).
    public let isJITCompiled: Bool

    /// A compile failure, with the byte offset PCRE2 points at.
    public struct CompileError: Error, CustomStringConvertible, Sendable {
        public var message: String
        public var offset: Int
        public var description: String { "\(message) at offset \(offset)" }
    }

    /// - Parameter pattern: a PCRE2 pattern; it is compiled in UTF mode.
    public convenience init(_ pattern: String) throws(CompileError) {
        try self.init(pattern, extraOptions: 0)
    }

    /// - Parameters:
    ///   - pattern: a PCRE2 pattern; it is compiled in UTF mode.
    ///   - extraOptions: compile options besides `PCRE2_UTF` (``CombinedRoutePattern`` adds `PCRE2_ANCHORED`).
    ///   - jit: whether to JIT-compile it (not for a pattern that is only inspected).
    init(_ pattern: String, extraOptions: UInt32, jit: Bool = true) throws(CompileError) {
        var errorCode: Int32 = 0
        var errorOffset = 0
        let compiled: OpaquePointer? = pattern.withCString { cString in
            cString.withMemoryRebound(to: UInt8.self, capacity: pattern.utf8.count) { bytes in
                pcre2_compile_8(bytes, pattern.utf8.count, PCRE2_UTF | extraOptions, &errorCode, &errorOffset, nil)
            }
        }
        guard let compiled else {
            var buffer = [UInt8](repeating: 0, count: 256)
            let length = pcre2_get_error_message_8(errorCode, &buffer, buffer.count)
            let message = length > 0 ? String(decoding: buffer.prefix(Int(length)), as: UTF8.self) : "error \(errorCode)"
            throw CompileError(message: message, offset: errorOffset)
        }
        self.code = compiled
        self.pattern = pattern
        self.isJITCompiled = jit && pcre2_jit_compile_8(compiled, PCRE2_JIT_COMPLETE) == 0
    }

    deinit {
        pcre2_code_free_8(code)
    }

    /// Whether the pattern can only match at the start of the subject: PCRE2 found every top-level
    /// alternative to begin with `^` (not multi-line), `\A`, `\G` or a dot-all `.*`.
    var isAnchored: Bool {
        var options: UInt32 = 0
        guard pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_ALLOPTIONS), &options) == 0 else { return false }
        return options & PCRE2_ANCHORED != 0
    }

    /// How many capture groups the pattern has.
    var captureCount: Int {
        var count: UInt32 = 0
        guard pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_CAPTURECOUNT), &count) == 0 else { return -1 }
        return Int(count)
    }

    /// The name of the last `(*MARK:NAME)` passed on the way to the match that `scratch` holds, read as
    /// a decimal number; `nil` when there is none or it is not a number. Only meaningful right after
    /// ``match(_:scratch:)-(UnsafeRawBufferPointer,_)`` returned `.matched` with the same scratch.
    /// - Parameter scratch: the match data of that match.
    func numericMark(in scratch: MatchScratch) -> Int? {
        // The name is zero-terminated and lives in the compiled pattern: no copy, no allocation.
        guard var byte = pcre2_get_mark_8(scratch.matchData), byte.pointee != 0 else { return nil }
        var value = 0
        while byte.pointee != 0 {
            let digit = Int(byte.pointee) &- 48
            guard digit >= 0, digit <= 9, value < Int.max / 10 - 9 else { return nil }
            value = value * 10 + digit
            byte += 1
        }
        return value
    }

    /// What matching `subject` gave: a match (its byte range), no match, or an error (a limit was hit),
    /// which is neither and must never be taken for "no match".
    /// - Parameters:
    ///   - subject: UTF-8 bytes to search (anchor the pattern with `^` to match from the start).
    ///   - scratch: per-thread match data, carrying the limits (see ``MatchScratch``).
    public func match(_ subject: UnsafeRawBufferPointer, scratch: MatchScratch) -> MatchOutcome {
        let base = subject.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(bitPattern: 1)!
        let result: Int32
        if isJITCompiled {
            result = pcre2_jit_match_8(code, base, subject.count, 0, 0, scratch.matchData, scratch.matchContext)
        } else {
            result = pcre2_match_8(code, base, subject.count, 0, 0, scratch.matchData, scratch.matchContext)
        }
        // 0 means "matched, but the ovector was too small for every group": still a match.
        if result >= 0 {
            let ovector = pcre2_get_ovector_pointer_8(scratch.matchData)!
            return .matched(ovector[0]..<ovector[1])
        }
        return result == PCRE2_ERROR_NOMATCH ? .noMatch : .failed(MatchError(code: result))
    }

    /// Convenience for tests, the CLI and load-time work: matches a Swift string.
    /// - Parameters:
    ///   - subject: the text to search.
    ///   - scratch: match data with the limits to apply.
    public func match(_ subject: String, scratch: MatchScratch) -> MatchOutcome {
        var copy = subject
        return copy.withUTF8 { match(UnsafeRawBufferPointer($0), scratch: scratch) }
    }

    /// The result of one match.
    public enum MatchOutcome: Sendable, Equatable {
        /// The byte range of the first match.
        case matched(Range<Int>)
        case noMatch
        /// Matching stopped before an answer (see ``MatchError``).
        case failed(MatchError)

        /// Whether this is a match (`false` for an error as well as for no match).
        public var isMatch: Bool {
            if case .matched = self { return true }
            return false
        }
    }

    /// A match that ended in an error instead of an answer: a limit of ``MatchLimits`` was hit
    /// (catastrophic backtracking), or PCRE2 failed otherwise (memory).
    public struct MatchError: Error, Sendable, Equatable, CustomStringConvertible {
        /// PCRE2's (negative) error code.
        public var code: Int32

        /// A stable short name, for logs and metrics: `match_limit`, `depth_limit`, `heap_limit`,
        /// `jit_stack_limit`, or `pcre2_error_N`.
        public var shortDescription: String {
            switch code {
            case PCRE2_ERROR_MATCHLIMIT: "match_limit"
            case PCRE2_ERROR_DEPTHLIMIT: "depth_limit"
            case PCRE2_ERROR_HEAPLIMIT: "heap_limit"
            case PCRE2_ERROR_JIT_STACKLIMIT: "jit_stack_limit"
            default: "pcre2_error_\(-code)"
            }
        }

        /// PCRE2's own message.
        public var description: String {
            var buffer = [UInt8](repeating: 0, count: 256)
            let length = pcre2_get_error_message_8(code, &buffer, buffer.count)
            return length > 0 ? String(decoding: buffer.prefix(Int(length)), as: UTF8.self) : "PCRE2 error \(code)"
        }
    }
}

/// Bounds on a single match, so that no pattern spends unbounded time or memory on a request path.
///
/// PCRE2's own defaults (10 million for both counters, a 32 KiB JIT stack on the machine stack) let a
/// pattern with nested quantifiers run for a long time on a crafted path; these are set explicitly on
/// every match instead (configuration: `routes.match_limit`, `routes.depth_limit`,
/// `routes.jit_stack_size`).
public struct MatchLimits: Sendable, Equatable {
    /// `pcre2_set_match_limit`: how much backtracking one match may do (interpreter and JIT).
    public var matchLimit: UInt32
    /// `pcre2_set_depth_limit`: how deeply backtracking may nest, which also bounds the interpreter's
    /// heap (ignored by JIT code, which the JIT stack bounds instead).
    public var depthLimit: UInt32
    /// The most memory the JIT stack of one event loop may grow to, in bytes.
    public var jitStackBytes: Int

    /// - Parameters:
    ///   - matchLimit: backtracking steps per match.
    ///   - depthLimit: nesting of backtracking per match.
    ///   - jitStackBytes: largest JIT stack per thread.
    public init(matchLimit: UInt32, depthLimit: UInt32, jitStackBytes: Int) {
        self.matchLimit = matchLimit
        self.depthLimit = depthLimit
        self.jitStackBytes = jitStackBytes
    }

    /// 100,000 steps (milliseconds at worst), depth 10,000 and a 1 MiB JIT stack: far more
    /// than any path of the default table needs, far less than a runaway pattern would take.
    public static let `default` = MatchLimits(matchLimit: 100_000, depthLimit: 10_000, jitStackBytes: 1 << 20)
}

/// PCRE2 match data, a match context with the ``MatchLimits`` and a JIT stack: owned by one thread at a
/// time (one per event loop), never shared concurrently (PCRE2 forbids using a JIT stack from two
/// threads at once).
public final class MatchScratch {
    let matchData: OpaquePointer
    let matchContext: OpaquePointer
    private var jitStack: OpaquePointer?
    /// The limits the context applies now.
    public private(set) var limits: MatchLimits

    /// - Parameter limits: the limits to start with (``use(_:)`` changes them).
    public init(limits: MatchLimits = .default) {
        // Only the whole-match pair is read, so one ovector pair is enough.
        self.matchData = pcre2_match_data_create_8(1, nil)!
        self.matchContext = pcre2_match_context_create_8(nil)!
        self.limits = limits
        apply(limits)
    }

    deinit {
        if let jitStack { pcre2_jit_stack_free_8(jitStack) }
        pcre2_match_context_free_8(matchContext)
        pcre2_match_data_free_8(matchData)
    }

    /// Makes the following matches use `limits`; a comparison when they are already in force.
    /// - Parameter limits: the limits of the table about to be matched.
    public func use(_ limits: MatchLimits) {
        guard limits != self.limits else { return }
        self.limits = limits
        apply(limits)
    }

    private func apply(_ limits: MatchLimits) {
        pcre2_set_match_limit_8(matchContext, limits.matchLimit)
        pcre2_set_depth_limit_8(matchContext, limits.depthLimit)
        if let jitStack { pcre2_jit_stack_free_8(jitStack) }
        // The stack starts small and grows on demand up to the limit.
        jitStack = pcre2_jit_stack_create_8(min(32 << 10, limits.jitStackBytes), limits.jitStackBytes, nil)
        // Without a stack (out of memory) PCRE2 falls back to 32 KiB on the machine stack: still bounded.
        pcre2_jit_stack_assign_8(matchContext, nil, jitStack.map { UnsafeMutableRawPointer($0) })
    }
}
