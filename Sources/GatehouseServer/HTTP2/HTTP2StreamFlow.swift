import NIOHTTP2

/// What a channel per stream used to track for its stream, kept by ``HTTP2GatewayHandler`` on the
/// stream's ``GatewayHandler``: whether the request is reading, the frames held while it is not, the
/// inbound window, and the response bytes NIO has not passed on yet (the stream's writability).
struct HTTP2StreamFlow {
    /// Response bytes written but still in `NIOHTTP2Handler`'s buffer (the client's window is used up,
    /// or the connection is not writable) above which the stream is not writable, so the upstream is
    /// no longer read; writable again at ``lowWater``.
    static let highWater = 64 * 1024
    static let lowWater = 32 * 1024

    var inbound: HTTP2InboundWindow
    /// The request takes frames as they arrive; when not, they are held (bounded by the window).
    var reading = true
    /// Frames received while the request was not reading, in order.
    var held: [HTTP2Frame.FramePayload] = []
    /// Held frames are being handed over (a nested request to read adds none).
    var delivering = false
    /// Received frames in the current connection read: the request's read ends with it.
    var readInThisRead = false
    /// DATA bytes written to NIO and not yet encoded by it.
    private(set) var queuedBytes = 0
    /// Below the high-water mark (with hysteresis).
    private(set) var belowHighWater = true
    /// Gatehouse reset the stream: nothing more is written or delivered.
    var reset = false
    /// The response's END_STREAM is written: what is left of the stream is the client's upload.
    var responseEnded = false
    /// The stream is closed and no longer among the connection's streams. The stream's calls to the
    /// connection check this instead of looking the stream up by id (a dictionary lookup each).
    var ended = false

    init(targetWindow: Int) {
        inbound = HTTP2InboundWindow(target: targetWindow)
    }

    /// A frame arrived while the request is not reading: it waits.
    mutating func hold(_ payload: HTTP2Frame.FramePayload) {
        if case .data(let data) = payload { inbound.bufferedFrameReceived(size: data.data.readableBytes) }
        held.append(payload)
    }

    /// The next held frame, for the request.
    /// - Returns: the frame, and the WINDOW_UPDATE increment its bytes free.
    mutating func nextHeld() -> (HTTP2Frame.FramePayload, windowIncrement: Int?)? {
        guard !held.isEmpty else { return nil }
        let payload = held.removeFirst()
        guard case .data(let data) = payload else { return (payload, nil) }
        return (payload, inbound.bufferedFrameEmitted(size: data.data.readableBytes))
    }

    /// `bytes` of DATA are written to NIO.
    mutating func wrote(bytes: Int) {
        queuedBytes += bytes
        if queuedBytes > Self.highWater { belowHighWater = false }
    }

    /// NIO encoded `bytes` of this stream's DATA (they left its buffer).
    /// - Returns: whether the stream just became writable again.
    mutating func sent(bytes: Int) -> Bool {
        queuedBytes = max(0, queuedBytes - bytes)
        guard !belowHighWater, queuedBytes <= Self.lowWater else { return false }
        belowHighWater = true
        return true
    }
}
