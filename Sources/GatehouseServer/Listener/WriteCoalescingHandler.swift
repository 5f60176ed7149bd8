import NIOCore

/// Gathers the small writes made before a flush into one buffer, just above the TLS handler, so a
/// small response leaves as one TLS record.
///
/// NIOSSL seals every write it is given as a record of its own (one `SSL_write` each), and responses
/// are written in pieces: on HTTP/1 a relayed head with a body too large for its buffer, or chunked
/// pieces (a small relayed body is already in the head's buffer, `HeldResponseHead`), on HTTP/2 a
/// HEADERS frame, a DATA frame header and the payload, for every stream answered in the tick. Copying a few KiB costs less
/// than sealing and framing a record for each piece, so writes are appended here while they fit in
/// `limit` bytes together and handed on as one write before the next flush. A write that does not fit
/// goes on after what was gathered, unchanged (a download's large reads are never copied). Bytes keep
/// their order, and every write's promise completes with the write that carries its bytes.
final class WriteCoalescingHandler: ChannelOutboundHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// TLS's largest record payload: gathering more would only make NIOSSL split it again.
    static let defaultLimit = 16 * 1024

    private let limit: Int
    private var pending: ByteBuffer?
    private var pendingPromise: EventLoopPromise<Void>?

    init(limit: Int = WriteCoalescingHandler.defaultLimit) {
        self.limit = limit
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .byteBuffer(var buffer) = unwrapOutboundIn(data) else {
            writePending(context: context)
            context.write(data, promise: promise)
            return
        }
        if var gathered = pending {
            if gathered.readableBytes + buffer.readableBytes <= limit {
                // Released first, so the append happens in place when nothing else holds the buffer.
                pending = nil
                if gathered.writableBytes < buffer.readableBytes {
                    // Grown to the limit in one `realloc`: grown piece by piece (a doubling `realloc`
                    // each, copying everything gathered so far), a tick of HTTP/2 frames cost more in
                    // copies than in sealing.
                    gathered.reserveCapacity(gathered.readerIndex + limit)
                }
                gathered.writeBuffer(&buffer)
                pending = gathered
                chain(promise)
                return
            }
            writePending(context: context)
        }
        if buffer.readableBytes < limit {
            // Kept as it is: it is copied only if another write joins it.
            pending = buffer
            pendingPromise = promise
            return
        }
        context.write(data, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        writePending(context: context)
        context.flush()
    }

    /// What was written before a close goes down first, as it would without this handler.
    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        writePending(context: context)
        context.close(mode: mode, promise: promise)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        writePending(context: context)
    }

    private func writePending(context: ChannelHandlerContext) {
        guard let buffer = pending else { return }
        let promise = pendingPromise
        pending = nil
        pendingPromise = nil
        context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: promise)
    }

    /// One promise completes the gathered write; the others follow it.
    private func chain(_ promise: EventLoopPromise<Void>?) {
        guard let promise else { return }
        if let pendingPromise {
            pendingPromise.futureResult.cascade(to: promise)
        } else {
            pendingPromise = promise
        }
    }
}

@available(*, unavailable)
extension WriteCoalescingHandler: Sendable {}
