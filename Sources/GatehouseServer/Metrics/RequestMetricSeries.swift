import GatehouseCore
import NIOCore

/// How the requests of one route table are counted: each rule's series slot and upstream, worked out
/// once when the table is built (at start and at each reload), so recording a request is two array
/// reads and two increments on the loop's ``LoopMetrics``.
///
/// A series is labelled with the rule's place (`file:line`) and its action, never the request path: the
/// number of series is bounded by the route files, whatever clients send. A class, so that reaching it
/// from the runtime on every request is at most one reference count, not one per array.
final class RequestMetricSeries: Sendable {
    /// The slot of each rule, by ``CompiledRoute/index``.
    let ruleSlots: [Int]
    /// The upstream index of each rule (-1: not proxied).
    let ruleUpstreams: [Int]
    /// The slot of requests no rule decided (refused before routing, or no rule matched).
    let unroutedSlot: Int
    /// Upper bounds of the upstream duration buckets, in nanoseconds.
    let latencyBounds: [Int64]

    init(ruleSlots: [Int], ruleUpstreams: [Int], unroutedSlot: Int, latencyBounds: [Int64]) {
        self.ruleSlots = ruleSlots
        self.ruleUpstreams = ruleUpstreams
        self.unroutedSlot = unroutedSlot
        self.latencyBounds = latencyBounds
    }

    /// Counts one finished request (the log phase).
    /// - Parameters:
    ///   - route: the rule that decided it, if any.
    ///   - status: the response status (0: none).
    ///   - wentUpstream: whether an upstream member was used (its duration is then recorded).
    ///   - startedAt: when the head arrived.
    ///   - loop: the connection's loop counters.
    @inline(__always)
    func record(route: CompiledRoute?, status: Int, wentUpstream: Bool, startedAt: NIODeadline, into loop: LoopMetrics) {
        guard let route, route.index < ruleSlots.count else {
            loop.recordRequest(slot: unroutedSlot, status: status)
            return
        }
        loop.recordRequest(slot: ruleSlots[route.index], status: status)
        let upstream = ruleUpstreams[route.index]
        if wentUpstream && upstream >= 0 {
            loop.recordUpstream(upstream, nanoseconds: (NIODeadline.now() - startedAt).nanoseconds, bounds: latencyBounds)
        }
    }
}
