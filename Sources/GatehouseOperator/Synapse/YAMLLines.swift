/// Reading a YAML file's structure from its lines, for edits that keep everything else as written:
/// block mappings are found by indentation, the way a person reads them. Only the subset
/// `homeserver.yaml` files use is understood; the caller re-parses the result to be sure.
enum YAMLLines {
    /// Leading spaces (YAML forbids tabs in indentation).
    static func indent(_ line: String) -> Int {
        line.prefix { $0 == " " }.count
    }

    static func isComment(_ line: String) -> Bool {
        line.drop { $0 == " " }.hasPrefix("#")
    }

    static func isBlank(_ line: String) -> Bool {
        line.allSatisfy { $0 == " " || $0 == "\t" }
    }

    static func isBlankOrComment(_ line: String) -> Bool {
        let content = line.drop { $0 == " " || $0 == "\t" }
        return content.isEmpty || content.hasPrefix("#")
    }

    /// The indexes in `range` of lines `key:` at exactly `indent` (the key bare or quoted).
    static func keyLines(_ lines: [String], key: String, indent: Int, in range: Range<Int>) -> [Int] {
        range.filter { index in
            let line = lines[index]
            guard self.indent(line) == indent else { return false }
            return valueAfterKey(line, key: key) != nil
        }
    }

    /// The text after `key:` on a line that starts with the key (after its indentation); `nil`
    /// when the line is not that key.
    static func valueAfterKey(_ line: String, key: String) -> Substring? {
        let content = line.drop { $0 == " " }
        for spelling in [key, "\"\(key)\"", "'\(key)'"] where content.hasPrefix(spelling) {
            var rest = content.dropFirst(spelling.count)
            rest = rest.drop { $0 == " " }
            guard rest.first == ":" else { continue }
            rest = rest.dropFirst()
            // `key:value` is not a key unless followed by a space or the end.
            guard rest.isEmpty || rest.first == " " || rest.first == "\t" else { continue }
            return rest
        }
        return nil
    }

    /// Whether `key:` has nothing after it but a comment: a block follows.
    static func valueIsEmpty(_ line: String, key: String) -> Bool {
        guard let rest = valueAfterKey(line, key: key) else { return false }
        let value = rest.drop { $0 == " " || $0 == "\t" }
        return value.isEmpty || value.hasPrefix("#")
    }

    /// The end (exclusive) of the block that starts at `start`: the lines after it indented deeper
    /// than `parentIndent`. Blank and comment lines after the block's last line belong to what
    /// follows, not to the block.
    static func blockEnd(_ lines: [String], from start: Int, parentIndent: Int) -> Int {
        var last = start
        var index = start + 1
        while index < lines.count {
            let line = lines[index]
            if isBlankOrComment(line) {
                index += 1
                continue
            }
            guard indent(line) > parentIndent else { break }
            last = index
            index += 1
        }
        return last + 1
    }

    /// The indentation of the first line in `range` that is not blank or a comment.
    static func firstContentIndent(_ lines: [String], in range: Range<Int>) -> Int? {
        range.first { !isBlankOrComment(lines[$0]) }.map { indent(lines[$0]) }
    }
}
