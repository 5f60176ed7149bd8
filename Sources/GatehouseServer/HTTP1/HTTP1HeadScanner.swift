/// Finds where an HTTP/1 head ends in bytes that arrive over several reads, looking at each byte
/// once for LF and once for CR: every LF must follow a CR and no other CR may appear in a line (no
/// bare LF or CR), the first line is the start line, and the first empty line after it ends the head. The lines themselves are checked by the parser afterwards.
struct HTTP1HeadScanner: Sendable {
    enum Progress: Equatable {
        case needMore
        /// The head ends at `headEnd` (after its blank line); its start line is
        /// `startLineStart..<startLineEnd` (without CRLF).
        case complete(startLineStart: Int, startLineEnd: Int, headEnd: Int)
        case refused(HTTP1Refusal)
    }

    /// `limits.max_header_bytes` or the upstream response head limit.
    let maxHeadBytes: Int
    /// Whether empty lines before the start line are skipped (requests: RFC 9112 §2.2).
    let skipsLeadingEmptyLines: Bool

    private var scanned = 0
    private var lineStart = 0
    /// Where the start line begins (after skipped empty lines).
    private(set) var headStart = 0
    /// Where the start line ends (its CR), once its LF has arrived.
    private(set) var startLineEnd: Int?

    init(maxHeadBytes: Int, skipsLeadingEmptyLines: Bool) {
        self.maxHeadBytes = maxHeadBytes
        self.skipsLeadingEmptyLines = skipsLeadingEmptyLines
    }

    /// Continues the search in `bytes`, the same bytes as on the previous call plus any new ones.
    mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Progress {
        if bytes.count < scanned { self = HTTP1HeadScanner(maxHeadBytes: maxHeadBytes, skipsLeadingEmptyLines: skipsLeadingEmptyLines) }
        while let lf = HTTP1Bytes.find(HTTP1Bytes.lf, in: bytes, from: scanned, to: bytes.count) {
            guard lf > lineStart, bytes[lf - 1] == HTTP1Bytes.cr,
                HTTP1Bytes.find(HTTP1Bytes.cr, in: bytes, from: lineStart, to: lf - 1) == nil
            else { return .refused(.bareLineBreak) }
            let next = lf + 1
            guard next <= maxHeadBytes else { return .refused(.headTooLarge) }
            if lf - 1 == lineStart {
                guard let startLineEnd else {
                    guard skipsLeadingEmptyLines else { return .refused(.malformedStartLine) }
                    headStart = next
                    lineStart = next
                    scanned = next
                    continue
                }
                return .complete(startLineStart: headStart, startLineEnd: startLineEnd, headEnd: next)
            }
            if startLineEnd == nil { startLineEnd = lf - 1 }
            lineStart = next
            scanned = next
        }
        scanned = bytes.count
        if bytes.count > maxHeadBytes { return .refused(.headTooLarge) }
        return .needMore
    }

    /// Iterates the header lines of a complete head: `body(lineStart, lineEnd)` for each, without CRLF.
    static func forEachFieldLine(
        _ bytes: UnsafeRawBufferPointer, startLineEnd: Int, headEnd: Int, _ body: (Int, Int) -> HTTP1Refusal?
    ) -> HTTP1Refusal? {
        var position = startLineEnd + 2
        while position < headEnd - 2 {
            // Every LF before `headEnd` was checked to follow a CR.
            let lf = HTTP1Bytes.find(HTTP1Bytes.lf, in: bytes, from: position, to: headEnd)!
            if let refusal = body(position, lf - 1) { return refusal }
            position = lf + 1
        }
        return nil
    }
}
