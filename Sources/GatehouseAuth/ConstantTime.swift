/// Comparisons whose running time does not depend on where two secrets first differ.
public enum ConstantTime {
    /// Whether `a` and `b` hold the same bytes.
    ///
    /// Every byte position up to the longer length is visited, and differences (including a length
    /// difference) are OR-accumulated without branching on the data, so the time depends only on the
    /// lengths, never on the content. Callers compare values of public, fixed length (hash outputs,
    /// 60-character bcrypt strings), so the length is not a secret.
    /// - Parameters:
    ///   - a: one value.
    ///   - b: the other.
    public static func equals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        // No copies when both sides are contiguous already (the common case: strings and arrays).
        if let result = a.withContiguousStorageIfAvailable({ left in
            b.withContiguousStorageIfAvailable { right in compare(left, right) }
        }), let result {
            return result
        }
        return Array(a).withUnsafeBufferPointer { left in Array(b).withUnsafeBufferPointer { right in compare(left, right) } }
    }

    private static func compare(_ left: UnsafeBufferPointer<UInt8>, _ right: UnsafeBufferPointer<UInt8>) -> Bool {
        // Equal lengths (every caller's usual case; the edge check's token memo on every request with a
        // Gatehouse token): eight bytes a step, every one of them still visited.
        if left.count == right.count { return compareWords(UnsafeRawBufferPointer(left), UnsafeRawBufferPointer(right)) }
        var difference = UInt(bitPattern: left.count ^ right.count)
        for index in 0..<max(left.count, right.count) {
            let x = index < left.count ? left[index] : 0
            let y = index < right.count ? right[index] : 0
            difference |= UInt(x ^ y)
        }
        return difference == 0
    }

    private static func compareWords(_ left: UnsafeRawBufferPointer, _ right: UnsafeRawBufferPointer) -> Bool {
        var difference: UInt64 = 0
        var index = 0
        while index + 8 <= left.count {
            difference |= left.loadUnaligned(fromByteOffset: index, as: UInt64.self) ^ right.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            index += 8
        }
        while index < left.count {
            difference |= UInt64(left[index] ^ right[index])
            index += 1
        }
        return difference == 0
    }
}
