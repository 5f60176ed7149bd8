import NIOCore

/// A relayed response's head on an HTTP/1.1 connection, held back until what follows it in the same
/// upstream read, so that a small response leaves in one write: one `write(2)` on plain HTTP, one
/// TLS record, one trip through the pipeline instead of two.
///
/// The head's buffer is made with room for a body whose length it announces (up to
/// ``WriteCoalescingHandler/defaultLimit``); ``take(appendingIfRoom:)`` appends the body there
/// without growing the buffer. Whatever else comes next (a body that does not fit, chunk framing, the
/// end of the response or of the read, a failure) first writes the head out with ``take()``, so bytes
/// never change order and nothing is held past the read that brought it. A response has one head to
/// hold: `UpstreamResponseReader` reports no `1xx` head (Gatehouse answers `Expect` itself).
struct HeldResponseHead {
    private var head: ByteBuffer?

    /// Holds `head` until ``take(appendingIfRoom:)`` or ``take()``.
    mutating func hold(_ head: consuming ByteBuffer) {
        assert(self.head == nil, "a response's head is held while another one's is")
        self.head = head
    }

    /// The held head with `body` appended, when a head is held and `body` fits in its spare room; the
    /// head is then no longer held. `nil` otherwise (a held head stays held: ``take()`` it first).
    mutating func take(appendingIfRoom body: ByteBuffer) -> ByteBuffer? {
        guard var head, head.writableBytes >= body.readableBytes else { return nil }
        self.head = nil  // the buffer's only reference is now `head`: appending writes in place
        head.writeImmutableBuffer(body)
        return head
    }

    /// The held head, no longer held; `nil` when none is.
    mutating func take() -> ByteBuffer? {
        defer { head = nil }
        return head
    }
}
