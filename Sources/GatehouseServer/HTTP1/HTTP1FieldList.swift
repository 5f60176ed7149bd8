/// The header lines of a head in arrival order. The first 16 live inline, in the value itself (a
/// Matrix client sends about ten), so parsing the usual head allocates nothing; more spill into an
/// array.
///
/// Hot paths loop over `indices` (`for index in list.indices { let field = list[index] … }`):
/// `for field in list` copies the whole list, 256 bytes inline, into its iterator.
struct HTTP1FieldList: Sendable, RandomAccessCollection {
    static let inlineCapacity = 16  // the InlineArray's count below

    private static let empty = HTTP1Field(nameStart: 0, valueStart: 0, valueLength: 0, nameLength: 0, name: .other, isConnectionListed: false)

    /// An `InlineArray` reads one element in place; a tuple read through `withUnsafeBytes(of:)` was
    /// copied whole (a 256-byte `memcpy`) on every field read.
    private var inline = InlineArray<16, HTTP1Field>(repeating: empty)
    private var overflow: [HTTP1Field] = []
    private(set) var count = 0

    init() {}

    var startIndex: Int { 0 }
    var endIndex: Int { count }

    subscript(index: Int) -> HTTP1Field {
        get {
            precondition(index >= 0 && index < count, "field index out of range")
            if index < Self.inlineCapacity {
                return inline.span[index]
            }
            return overflow[index - Self.inlineCapacity]
        }
        set {
            precondition(index >= 0 && index < count, "field index out of range")
            if index < Self.inlineCapacity {
                inline[index] = newValue
            } else {
                overflow[index - Self.inlineCapacity] = newValue
            }
        }
    }

    mutating func append(_ field: HTTP1Field) {
        count += 1
        if count <= Self.inlineCapacity {
            self[count - 1] = field
        } else {
            overflow.append(field)
        }
    }

    /// Empties the list for the next head. Inline slots past `count` are never read, so they keep
    /// their old values; the overflow keeps its capacity.
    mutating func removeAll() {
        count = 0
        overflow.removeAll(keepingCapacity: true)
    }

    /// The first field with `name`, if any.
    func first(_ name: HTTP1FieldName) -> HTTP1Field? {
        for index in indices where self[index].name == name { return self[index] }
        return nil
    }
}
