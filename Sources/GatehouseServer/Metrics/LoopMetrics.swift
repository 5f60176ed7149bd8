/// One event loop's request counters: plain integers, written only on their loop and read by a scrape
/// that runs on the same loop, so recording a request takes no lock, no atomic and no allocation.
/// ``GatehouseMetrics`` adds the loops up when Prometheus scrapes.
final class LoopMetrics {
    /// Requests by series slot and status class: `requests[slot * StatusClass.count + class]`.
    private(set) var requests: [Int] = []
    /// Upstream durations by upstream: `buckets[upstream * (bounds + 1) + bucket]` counts requests
    /// that took at most that bucket's bound (not cumulative; the last bucket is +Inf).
    private(set) var latencyBuckets: [Int] = []
    /// The summed durations by upstream, in nanoseconds.
    private(set) var latencySums: [Int] = []

    /// - Parameters:
    ///   - slot: the request's series (see ``RequestMetricSeries``).
    ///   - status: the response status; 0 when there was none.
    @inline(__always)
    func recordRequest(slot: Int, status: Int) {
        let index = slot &* StatusClass.count &+ StatusClass.index(of: status)
        // Grows only the first time a series added by a reload is used on this loop.
        if index >= requests.count { requests.append(contentsOf: repeatElement(0, count: index + 1 - requests.count)) }
        requests[index] &+= 1
    }

    /// - Parameters:
    ///   - upstream: the pool's index in ``GatehouseMetrics/upstreams``.
    ///   - nanoseconds: how long the proxied request took.
    ///   - bounds: the buckets' upper bounds in nanoseconds, ascending.
    @inline(__always)
    func recordUpstream(_ upstream: Int, nanoseconds: Int64, bounds: [Int64]) {
        let width = bounds.count + 1
        if (upstream + 1) * width > latencyBuckets.count {
            latencyBuckets.append(contentsOf: repeatElement(0, count: (upstream + 1) * width - latencyBuckets.count))
            latencySums.append(contentsOf: repeatElement(0, count: upstream + 1 - latencySums.count))
        }
        var bucket = 0
        while bucket < bounds.count && nanoseconds > bounds[bucket] { bucket &+= 1 }
        latencyBuckets[upstream &* width &+ bucket] &+= 1
        latencySums[upstream] &+= Int(nanoseconds)
    }
}

/// The status label of a request counter: its class, so a rule has at most six series.
enum StatusClass {
    /// 1xx to 5xx, then `other` (no status: the connection ended before a response).
    static let labels = ["1xx", "2xx", "3xx", "4xx", "5xx", "other"]
    static let count = 6

    @inline(__always)
    static func index(of status: Int) -> Int {
        let hundreds = status / 100
        return hundreds >= 1 && hundreds <= 5 ? hundreds - 1 : 5
    }
}
