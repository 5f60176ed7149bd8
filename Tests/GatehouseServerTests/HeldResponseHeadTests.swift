import NIOCore
import Testing

@testable import GatehouseServer

/// A relayed response's head waits for the body of the same read and takes it in when it fits, in
/// place; otherwise it leaves first, alone, and bytes never change order.
struct HeldResponseHeadTests {
    private static let head = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"

    private static func buffer(_ text: String, capacity: Int? = nil) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: capacity ?? text.utf8.count)
        buffer.writeString(text)
        return buffer
    }

    @Test func aBodyThatFitsIsAppendedInPlaceAndNothingStaysHeld() throws {
        var held = HeldResponseHead()
        let head = Self.buffer(Self.head, capacity: Self.head.utf8.count + 64)
        let storage = head.withUnsafeReadableBytes { $0.baseAddress }
        // Handed over, as the gateway does: a reference kept here would make the append copy.
        held.hold(consume head)
        let taken = held.take(appendingIfRoom: Self.buffer("hello"))
        let whole = try #require(taken)
        #expect(String(buffer: whole) == Self.head + "hello")
        #expect(whole.withUnsafeReadableBytes { $0.baseAddress } == storage, "the head's buffer was copied, not written in place")
        let rest = held.take()
        #expect(rest == nil)
    }

    @Test func aBodyThatDoesNotFitLeavesTheHeadHeldToBeWrittenFirst() throws {
        var held = HeldResponseHead()
        let head = Self.buffer(Self.head, capacity: Self.head.utf8.count + 4)
        let room = head.writableBytes
        held.hold(head)
        let taken = held.take(appendingIfRoom: Self.buffer(String(repeating: "x", count: room + 1)))
        #expect(taken == nil)
        let alone = held.take()
        #expect(alone.map { String(buffer: $0) } == Self.head, "the held head changed")
        let rest = held.take()
        #expect(rest == nil)
    }

    @Test func withNothingHeldABodyIsNotTakenIn() {
        var held = HeldResponseHead()
        let taken = held.take(appendingIfRoom: Self.buffer("hello"))
        #expect(taken == nil)
        let rest = held.take()
        #expect(rest == nil)
    }
}
