/// A change to a text file as whole lines: the old lines `range` are replaced by `replacement`
/// (an empty range inserts, an empty replacement deletes). The YAML edits are made this way so
/// every other line, comments included, stays exactly as it was, and the diff shown to the admin
/// is exactly the change made.
public struct LineEdit: Sendable, Equatable {
    /// Old line indexes, 0-based.
    public var range: Range<Int>
    public var replacement: [String]

    /// - Parameters:
    ///   - range: the old lines replaced, 0-based.
    ///   - replacement: the new lines.
    public init(range: Range<Int>, replacement: [String]) {
        self.range = range
        self.replacement = replacement
    }

    /// `edits` sorted, with touching or overlapping-free neighbours merged into one.
    /// - Precondition: the ranges do not overlap.
    static func normalized(_ edits: [LineEdit]) -> [LineEdit] {
        var result: [LineEdit] = []
        for edit in edits.sorted(by: { ($0.range.lowerBound, $0.range.upperBound) < ($1.range.lowerBound, $1.range.upperBound) }) {
            if let last = result.last, last.range.upperBound == edit.range.lowerBound {
                result[result.count - 1] = LineEdit(
                    range: last.range.lowerBound..<edit.range.upperBound, replacement: last.replacement + edit.replacement)
            } else {
                result.append(edit)
            }
        }
        return result
    }

    /// The lines after applying `edits` (normalised first).
    public static func apply(_ edits: [LineEdit], to lines: [String]) -> [String] {
        var result: [String] = []
        var position = 0
        for edit in normalized(edits) {
            result += lines[position..<edit.range.lowerBound]
            result += edit.replacement
            position = edit.range.upperBound
        }
        result += lines[position...]
        return result
    }

    /// A unified diff (`diff -u`) of the change, with `context` unchanged lines around each hunk.
    /// - Parameters:
    ///   - edits: the change.
    ///   - lines: the old lines.
    ///   - oldName: the `---` name.
    ///   - newName: the `+++` name.
    ///   - context: unchanged lines shown around each change.
    public static func unifiedDiff(_ edits: [LineEdit], of lines: [String], oldName: String, newName: String, context: Int = 3) -> String {
        let edits = normalized(edits).filter { !($0.range.isEmpty && $0.replacement.isEmpty) }
        guard !edits.isEmpty else { return "" }
        // Group edits whose context windows touch into one hunk.
        var groups: [[LineEdit]] = []
        for edit in edits {
            if let last = groups.last?.last, edit.range.lowerBound - last.range.upperBound <= 2 * context {
                groups[groups.count - 1].append(edit)
            } else {
                groups.append([edit])
            }
        }
        var out = ["--- \(oldName)", "+++ \(newName)"]
        var shift = 0  // new line index minus old line index, before the current group
        for group in groups {
            let oldStart = max(0, group[0].range.lowerBound - context)
            let oldEnd = min(lines.count, group[group.count - 1].range.upperBound + context)
            var body: [String] = []
            var position = oldStart
            var newCount = 0
            var groupShift = 0
            for edit in group {
                for line in lines[position..<edit.range.lowerBound] { body.append(" " + line) }
                newCount += edit.range.lowerBound - position
                for line in lines[edit.range] { body.append("-" + line) }
                for line in edit.replacement { body.append("+" + line) }
                newCount += edit.replacement.count
                groupShift += edit.replacement.count - edit.range.count
                position = edit.range.upperBound
            }
            for line in lines[position..<oldEnd] { body.append(" " + line) }
            newCount += oldEnd - position
            let oldCount = oldEnd - oldStart
            let newStart = oldStart + shift
            // diff -u numbers an empty side by the line before it.
            let oldLabel = oldCount == 0 ? "\(oldStart),0" : "\(oldStart + 1),\(oldCount)"
            let newLabel = newCount == 0 ? "\(newStart),0" : "\(newStart + 1),\(newCount)"
            out.append("@@ -\(oldLabel) +\(newLabel) @@")
            out += body
            shift += groupShift
        }
        return out.joined(separator: "\n") + "\n"
    }
}
