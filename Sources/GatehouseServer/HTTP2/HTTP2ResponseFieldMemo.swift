#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The strings of the last relayed response heads' fields on one HTTP/2 connection, by position
/// among the relayed fields.
///
/// HPACK takes a header block as strings, so every relayed field becomes a name and a value `String`
/// (a heap allocation each over 15 bytes: `application/json`, a `date`). Responses of one upstream
/// repeat most of their fields in the same order (`server`, `content-type`, a `date` that changes once
/// a second), so a field whose raw line is byte for byte the line at the same position last time
/// reuses that line's strings: the same bytes always give the same strings.
final class HTTP2ResponseFieldMemo {
    private struct Entry {
        /// The raw bytes the strings were made from (name through the value's end).
        var line: [UInt8]
        var name: String
        var value: String
    }

    /// Fields past this position are always made anew.
    static let capacity = 16

    private var entries: [Entry] = []

    /// Where a response's field strings are gathered before they become its header block; kept so
    /// that its storage is reused.
    private var fieldScratch: [(String, String)] = []

    /// Runs `body` with the (empty) gathering array, emptied again afterwards, its storage kept.
    func withFieldScratch<Result>(_ body: (inout [(String, String)]) -> Result) -> Result {
        defer { fieldScratch.removeAll(keepingCapacity: true) }
        return body(&fieldScratch)
    }

    /// The strings of the field at `position`, whose raw bytes are `line`: remembered ones when `line`
    /// is what that position held last time, else those `make` builds (then remembered).
    func strings(at position: Int, line: UnsafeRawBufferPointer, make: () -> (name: String, value: String)) -> (name: String, value: String) {
        guard position < Self.capacity else { return make() }
        if position < entries.count {
            let same = entries[position].line.withUnsafeBytes { remembered in
                remembered.count == line.count && (line.isEmpty || memcmp(remembered.baseAddress!, line.baseAddress!, line.count) == 0)
            }
            if same {
                return (entries[position].name, entries[position].value)
            }
            let made = make()
            // In place: the array keeps its storage when the new line fits.
            entries[position].line.removeAll(keepingCapacity: true)
            entries[position].line.append(contentsOf: line)
            entries[position].name = made.name
            entries[position].value = made.value
            return made
        }
        let made = make()
        if position == entries.count { entries.append(Entry(line: Array(line), name: made.name, value: made.value)) }
        return made
    }
}

@available(*, unavailable)
extension HTTP2ResponseFieldMemo: Sendable {}
