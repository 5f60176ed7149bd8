/// One header line of a parsed head, as offsets into the buffer it was parsed from: 16 bytes, no
/// reference, so a list of them costs no retain/release.
struct HTTP1Field: Sendable, Equatable {
    /// Where the name starts.
    var nameStart: UInt32
    /// Where the value starts (after the optional whitespace that follows the colon).
    var valueStart: UInt32
    /// The value's length up to the line's CR. Whitespace at its end is kept, as llhttp reported it
    /// (RFC 9110 §5.5 leaves it out of the value): comparisons of values see it, as they did.
    var valueLength: UInt32
    var nameLength: UInt16
    /// The name, when it is one Gatehouse acts on.
    var name: HTTP1FieldName
    /// Named in a `Connection` header of the same message: hop-by-hop for this message only
    /// (RFC 9110 §7.6.1), so never forwarded.
    var isConnectionListed: Bool

    var nameRange: Range<Int> { Int(nameStart)..<(Int(nameStart) + Int(nameLength)) }
    var valueRange: Range<Int> { Int(valueStart)..<(Int(valueStart) + Int(valueLength)) }

    /// The whole line from the name to the end of the value, as it is copied when re-emitted.
    var lineRange: Range<Int> { Int(nameStart)..<(Int(valueStart) + Int(valueLength)) }

    /// Whether the request sent upstream leaves this field out (see ``HTTP1FieldName/isDroppedUpstream``).
    var isDroppedUpstream: Bool { name.isDroppedUpstream || isConnectionListed }
}
