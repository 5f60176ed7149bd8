/// When to give an HTTP/2 peer more room to send (WINDOW_UPDATE), for the connection or one stream.
///
/// `NIOHTTP2Handler` without its stream multiplexer leaves flow control to the handler after it: it
/// reports each window change (`NIOHTTP2WindowUpdatedEvent`, the inbound size after the frame that
/// changed it) and sends no WINDOW_UPDATE itself. This is the rule NIO's child channels apply
/// (`InboundWindowManager`): once what the peer may still send falls to half the target or below,
/// raise it back to the target. Bytes received but held back, unread, by the stream's request
/// (``bufferedFrameReceived(size:)``) count as not consumed yet, so a request that stops reading stops
/// the peer after one window instead of being sent more.
struct HTTP2InboundWindow {
    private var target: Int
    /// The last window size NIO reported; `nil` until the first report.
    private var lastWindowSize: Int?
    /// Bytes received and not yet handed to the request.
    private(set) var bufferedBytes = 0
    /// The peer has ended its side (or the stream is gone): no more updates.
    var closed = false

    init(target: Int) {
        self.target = target
    }

    /// NIO reported the window's new size.
    /// - Returns: the increment to send, if any.
    mutating func newWindowSize(_ size: Int) -> Int? {
        lastWindowSize = size
        return increment(forWindow: size + bufferedBytes)
    }

    /// `SETTINGS_INITIAL_WINDOW_SIZE` changed by `delta`: the target moves with it.
    mutating func initialWindowSizeChanged(delta: Int) -> Int? {
        target += delta
        guard let lastWindowSize else { return nil }
        return newWindowSize(lastWindowSize + delta)
    }

    /// DATA arrived that the request is not reading yet.
    mutating func bufferedFrameReceived(size: Int) {
        bufferedBytes += size
    }

    /// Held DATA was handed to the request.
    /// - Returns: the increment to send, if any.
    mutating func bufferedFrameEmitted(size: Int) -> Int? {
        bufferedBytes -= size
        guard let lastWindowSize else { return nil }
        return increment(forWindow: lastWindowSize + bufferedBytes)
    }

    private func increment(forWindow window: Int) -> Int? {
        guard !closed, window < target else { return nil }
        if window >= 0 {
            // Only once at most half the target is left: one update per half window, not per frame.
            let increment = target - window
            return increment >= window ? increment : nil
        }
        // A negative window (the peer's initial window shrank under it): back to the target, within
        // what one WINDOW_UPDATE can carry.
        return min(-window + target, Int(Int32.max))
    }
}
