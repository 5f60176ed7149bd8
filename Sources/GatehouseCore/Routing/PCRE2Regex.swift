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
    public init(_ pattern: String) throws(CompileError) {
        var errorCode: Int32 = 0
        var errorOffset = 0
        let compiled: OpaquePointer? = pattern.withCString { cString in
            cString.withMemoryRebound(to: UInt8.self, capacity: pattern.utf8.count) { bytes in
                pcre2_compile_8(bytes, pattern.utf8.count, PCRE2_UTF, &errorCode, &errorOffset, nil)
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
        self.isJITCompiled = pcre2_jit_compile_8(compiled, PCRE2_JIT_COMPLETE) == 0
    }

    deinit {
        pcre2_code_free_8(code)
    }

    /// Whether the pattern matches anywhere in `subject` (anchor it with `^` to match from the start).
    /// - Parameters:
    ///   - subject: UTF-8 bytes to search.
    ///   - scratch: per-thread match data (see ``MatchScratch``).
    @inlinable
    public func matches(_ subject: UnsafeRawBufferPointer, scratch: MatchScratch) -> Bool {
        firstMatch(subject, scratch: scratch) != nil
    }

    /// The byte range of the first match, or `nil`.
    /// - Parameters:
    ///   - subject: UTF-8 bytes to search.
    ///   - scratch: per-thread match data.
    public func firstMatch(_ subject: UnsafeRawBufferPointer, scratch: MatchScratch) -> Range<Int>? {
        let base = subject.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(bitPattern: 1)!
        let result: Int32
        if isJITCompiled {
            result = pcre2_jit_match_8(code, base, subject.count, 0, 0, scratch.matchData, nil)
        } else {
            result = pcre2_match_8(code, base, subject.count, 0, 0, scratch.matchData, nil)
        }
        // 0 means "matched, but the ovector was too small for every group": still a match.
        guard result >= 0 else { return nil }
        let ovector = pcre2_get_ovector_pointer_8(scratch.matchData)!
        return ovector[0]..<ovector[1]
    }

    /// Convenience for tests and the CLI: matches a Swift string.
    /// - Parameter subject: the text to search.
    public func matches(_ subject: String) -> Bool {
        let scratch = MatchScratch()
        var copy = subject
        return copy.withUTF8 { matches(UnsafeRawBufferPointer($0), scratch: scratch) }
    }
}

/// PCRE2 match data: owned by one thread at a time (one per event loop), never shared concurrently.
public final class MatchScratch {
    let matchData: OpaquePointer

    public init() {
        // Only the whole-match pair is read, so one ovector pair is enough.
        self.matchData = pcre2_match_data_create_8(1, nil)!
    }

    deinit {
        pcre2_match_data_free_8(matchData)
    }
}
