import NIOCore

/// Follows the HTTP/2 frames in the bytes a server writes and reports a GOAWAY with a non-zero error
/// code. A server's byte stream is frames from its first byte (only the client sends the connection
/// preface). Only the 9-byte frame headers and a GOAWAY's first 8 payload bytes are read; every other
/// payload byte is skipped by count, so the cost is per frame, not per byte.
struct OutboundFrameScanner {
    private enum State {
        /// Reading the 9 header bytes of the next frame; `value` accumulates length (3 bytes) and type.
        case header(read: Int, value: UInt32)
        /// Skipping `remaining` payload bytes of a frame that is not a GOAWAY.
        case skip(remaining: Int)
        /// Reading the first 8 payload bytes of a GOAWAY (last stream id, error code) of `length` bytes.
        case goAway(read: Int, errorCode: UInt32, length: Int)
    }

    private var state = State.header(read: 0, value: 0)

    /// - Returns: whether a GOAWAY frame with an error code other than NO_ERROR was completed in `buffer`.
    mutating func scan(_ buffer: ByteBuffer) -> Bool {
        var found = false
        buffer.withUnsafeReadableBytes { bytes in
            var index = 0
            while index < bytes.count {
                switch state {
                case .header(var read, var value):
                    while read < 9, index < bytes.count {
                        // Bytes 0-2 are the length and byte 3 the type; flags and stream id are not needed.
                        if read < 4 { value = value << 8 | UInt32(bytes[index]) }
                        read += 1
                        index += 1
                    }
                    guard read == 9 else {
                        state = .header(read: read, value: value)
                        continue
                    }
                    let length = Int(value >> 8)
                    if value & 0xFF == 0x7, length >= 8 {
                        state = .goAway(read: 0, errorCode: 0, length: length)
                    } else {
                        state = length > 0 ? .skip(remaining: length) : .header(read: 0, value: 0)
                    }
                case .skip(let remaining):
                    let step = min(remaining, bytes.count - index)
                    index += step
                    state = remaining > step ? .skip(remaining: remaining - step) : .header(read: 0, value: 0)
                case .goAway(var read, var errorCode, let length):
                    while read < 8, index < bytes.count {
                        if read >= 4 { errorCode = errorCode << 8 | UInt32(bytes[index]) }
                        read += 1
                        index += 1
                    }
                    guard read == 8 else {
                        state = .goAway(read: read, errorCode: errorCode, length: length)
                        continue
                    }
                    if errorCode != 0 { found = true }
                    state = length > 8 ? .skip(remaining: length - 8) : .header(read: 0, value: 0)
                }
            }
        }
        return found
    }
}
