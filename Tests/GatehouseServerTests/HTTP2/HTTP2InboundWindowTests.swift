import Testing

@testable import GatehouseServer

/// ``HTTP2InboundWindow``: the WINDOW_UPDATE rule NIO's child channels applied.
struct HTTP2InboundWindowTests {
    @Test func theWindowIsRaisedToItsTargetOnceHalfIsConsumed() {
        var window = HTTP2InboundWindow(target: 1000)
        #expect(window.newWindowSize(600) == nil, "400 consumed: not yet")
        #expect(window.newWindowSize(500) == 500, "half consumed: back to the target")
        #expect(window.newWindowSize(1000) == nil)
    }

    @Test func heldBytesCountAsNotConsumedUntilTheyAreHandedOver() {
        var window = HTTP2InboundWindow(target: 1000)
        window.bufferedFrameReceived(size: 700)
        #expect(window.newWindowSize(300) == nil, "700 received but held: the peer gets no more room")
        #expect(window.bufferedFrameEmitted(size: 200) == nil, "500 still held")
        #expect(window.bufferedFrameEmitted(size: 500) == 700, "all handed over: the 700 are given back")
        #expect(window.bufferedBytes == 0)
    }

    @Test func aClosedWindowIsNeverRaised() {
        var window = HTTP2InboundWindow(target: 1000)
        window.closed = true
        #expect(window.newWindowSize(0) == nil)
    }

    @Test func aSmallerInitialWindowMovesTheTargetAndANegativeWindowIsRaisedToIt() {
        var window = HTTP2InboundWindow(target: 1000)
        #expect(window.newWindowSize(900) == nil)
        // SETTINGS_INITIAL_WINDOW_SIZE down by 1000: the window is -100 under a target of 0.
        #expect(window.initialWindowSizeChanged(delta: -1000) == 100)
        #expect(window.initialWindowSizeChanged(delta: 1500) == nil, "the window (1400) is over the target (1500) halved")
        #expect(window.newWindowSize(-100) == 1600, "a negative window goes back to the target")
    }
}
