import Testing

@testable import GatehouseOperator

/// The line edits and the unified diff printed for them.
struct LineEditTests {
    static let lines = (1...12).map { "line \($0)" }

    @Test func applyReplacesDeletesAndInserts() {
        let edits = [
            LineEdit(range: 10..<10, replacement: ["inserted"]),
            LineEdit(range: 1..<3, replacement: ["two-three"]),
            LineEdit(range: 5..<6, replacement: []),
        ]
        #expect(
            LineEdit.apply(edits, to: Self.lines) == [
                "line 1", "two-three", "line 4", "line 5", "line 7", "line 8", "line 9", "line 10", "inserted", "line 11", "line 12",
            ])
    }

    @Test func diffNumbersHunksLikeDiffU() {
        let edits = [LineEdit(range: 1..<2, replacement: ["TWO"]), LineEdit(range: 11..<11, replacement: ["after 11"])]
        #expect(
            LineEdit.unifiedDiff(edits, of: Self.lines, oldName: "a", newName: "b", context: 1) == """
                --- a
                +++ b
                @@ -1,3 +1,3 @@
                 line 1
                -line 2
                +TWO
                 line 3
                @@ -11,2 +11,3 @@
                 line 11
                +after 11
                 line 12

                """)
        #expect(LineEdit.unifiedDiff([], of: Self.lines, oldName: "a", newName: "b") == "")
    }
}
