import NIOCore

/// Makes Gatehouse's own HTTP/2 settings apply from the client's first request.
///
/// swift-nio-http2 applies the settings it announced (a 64 KiB `SETTINGS_MAX_HEADER_LIST_SIZE`, among
/// others) only once the client acknowledges them; until then it enforces its built-in 16 KiB header
/// limit. Clients (curl, nghttp2, browsers) send their first requests without waiting for that
/// round trip, so a first request with 16-64 KiB of headers, allowed by what Gatehouse announced,
/// would be refused. Applying its own settings early can only make Gatehouse more permissive toward
/// what the client was told, so this filter, on the bytes read below the HTTP/2 handler
/// (``HTTP2ConnectionEdge``), acknowledges them on the client's behalf: right after the client's first
/// SETTINGS frame it inserts a SETTINGS ACK, and it later removes the client's real acknowledgement
/// (the first SETTINGS frame with the ACK flag), so the HTTP/2 handler sees exactly one. After that it
/// steps aside (``isDone``); until then it reads only frame headers and passes payloads on as slices,
/// without copying.
struct HTTP2EarlySettings {

    private enum Phase {
        /// Passing the 24-byte client connection preface.
        case preface(remaining: Int)
        /// Waiting for a complete 9-byte frame header (held in `carry`).
        case header(isFirstFrame: Bool)
        /// Passing a frame payload; `thenAcknowledge` after the client's first SETTINGS.
        case payload(remaining: Int, thenAcknowledge: Bool)
        /// The client's acknowledgement was removed (or the stream is not what was expected).
        case done
    }

    private static let settingsAck: [UInt8] = [0, 0, 0, 0x4, 0x1, 0, 0, 0, 0]
    private var phase = Phase.preface(remaining: 24)
    private var carry: ByteBuffer?

    /// Every byte from now on passes untouched.
    var isDone: Bool {
        if case .done = phase { return true }
        return false
    }

    /// Passes `input` on through `emit`, as slices, with the synthetic ACK inserted and the client's
    /// first ACK removed; an incomplete frame header is kept for the next call.
    mutating func filter(_ input: ByteBuffer, allocator: ByteBufferAllocator, emit: (ByteBuffer) -> Void) {
        var input = input
        if case .done = phase { return emit(input) }
        if var held = carry {
            carry = nil
            held.writeBuffer(&input)
            input = held
        }
        while input.readableBytes > 0 {
            switch phase {
            case .done:
                return emit(input)
            case .preface(let remaining):
                let count = min(remaining, input.readableBytes)
                emit(input.readSlice(length: count)!)
                phase = remaining > count ? .preface(remaining: remaining - count) : .header(isFirstFrame: true)
            case .header(let isFirstFrame):
                guard input.readableBytes >= 9 else {
                    carry = input
                    return
                }
                let length = Int(input.getInteger(at: input.readerIndex, as: UInt8.self)!) << 16
                    | Int(input.getInteger(at: input.readerIndex + 1, as: UInt16.self)!)
                let type = input.getInteger(at: input.readerIndex + 3, as: UInt8.self)!
                let flags = input.getInteger(at: input.readerIndex + 4, as: UInt8.self)!
                let isSettings = type == 0x4
                let isAck = flags & 0x1 != 0
                if isFirstFrame {
                    // The preface must be followed by a SETTINGS frame; if not, the HTTP/2 handler
                    // refuses the connection and nothing here needs doing.
                    guard isSettings, !isAck else {
                        phase = .done
                        continue
                    }
                    emit(input.readSlice(length: 9)!)
                    phase = .payload(remaining: length, thenAcknowledge: true)
                } else if isSettings, isAck, length == 0 {
                    input.moveReaderIndex(forwardBy: 9)
                    phase = .done
                } else {
                    emit(input.readSlice(length: 9)!)
                    phase = .payload(remaining: length, thenAcknowledge: false)
                }
            case .payload(let remaining, let thenAcknowledge):
                let count = min(remaining, input.readableBytes)
                if count > 0 { emit(input.readSlice(length: count)!) }
                if remaining > count {
                    phase = .payload(remaining: remaining - count, thenAcknowledge: thenAcknowledge)
                } else {
                    if thenAcknowledge {
                        emit(allocator.buffer(bytes: Self.settingsAck))
                    }
                    phase = .header(isFirstFrame: false)
                }
            }
        }
        // A zero-length payload that ends exactly at the end of the input still needs its ACK.
        if case .payload(0, true) = phase {
            emit(allocator.buffer(bytes: Self.settingsAck))
            phase = .header(isFirstFrame: false)
        }
    }
}
