import NIOCore

/// Appends bytes to the writable memory of a `ByteBuffer` through one pointer, for the head writers
/// that copy a few dozen pieces per request: each `ByteBuffer.write…` call is a uniqueness check and
/// a dynamic exclusivity check, one `writeWithUnsafeMutableBytes` around a cursor is one of each.
///
/// Every append checks that it fits (a precondition, never an overrun); the writers size the
/// buffer's writable bytes beforehand from an upper bound of what they write.
struct ByteCursor: ~Copyable {
    private let base: UnsafeMutableRawBufferPointer
    /// Bytes written so far.
    private(set) var count = 0

    init(_ base: UnsafeMutableRawBufferPointer) {
        self.base = base
    }

    /// Writes what `body` appends at the buffer's writer index, within `capacity` bytes.
    /// - Returns: the number of bytes written.
    @discardableResult
    static func write(into buffer: inout ByteBuffer, capacity: Int, _ body: (inout ByteCursor) -> Void) -> Int {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: capacity) { memory in
            var cursor = ByteCursor(memory)
            body(&cursor)
            return cursor.count
        }
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count <= base.count - count, "ByteCursor: the writer's capacity bound is wrong")
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        (base.baseAddress! + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    mutating func append(_ literal: StaticString) {
        append(UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// A `String`'s UTF-8. Labelled, so that a literal argument (`out.append("\r\n")`) resolves to the
    /// `StaticString` overload: unlabelled, Swift picked this one for every literal, a `String` and
    /// its retain and release per call (28 calls per proxied request).
    mutating func append(string: String) {
        var string = string
        string.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    mutating func append(byte: UInt8) {
        precondition(count < base.count, "ByteCursor: the writer's capacity bound is wrong")
        base[count] = byte
        count += 1
    }

    /// A non-negative integer in decimal, without building a `String`.
    mutating func append(decimal value: Int) {
        precondition(value >= 0)
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for 24 digits
        var length = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { scratch in
            repeat {
                scratch[23 - length] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                length += 1
            } while rest > 0
            append(UnsafeRawBufferPointer(rebasing: scratch[(24 - length)...]))
        }
    }
}
