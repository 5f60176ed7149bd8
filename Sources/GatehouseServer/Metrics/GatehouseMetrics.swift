import CoreMetrics
import GatehouseCore
import NIOConcurrencyHelpers
import NIOCore
import Prometheus

/// Gatehouse's Prometheus metrics, rendered for `GET /metrics` (see ``MetricsServer``).
///
/// Two kinds of recording, by cost:
/// - The proxy path (every request) counts into its event loop's ``LoopMetrics`` through the
///   ``RequestMetricSeries`` its route table was given at start or reload: no lock, no atomic, no
///   allocation. A scrape visits each loop and adds the loops up.
/// - Everything else (logins, token grants, the introspection cache, homeserver jobs) goes through
///   swift-metrics handles made by ``factory``, which swift-prometheus keeps in ``registry``.
///
/// Values computed at scrape time (open connections, queued jobs) come from collectors added with
/// ``addCollector(_:)``.
public final class GatehouseMetrics: Sendable {
    /// Where the swift-metrics handles live.
    public let registry: PrometheusCollectorRegistry
    /// Pass this to services that record through swift-metrics.
    public let factory: any MetricsFactory
    /// The upstream pools, in the order of the latency series (fixed: pools change only at restart).
    let upstreams: [String]
    /// Upper bounds of the upstream duration buckets, in seconds.
    static let latencyBounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
    private static let latencyBoundsNanoseconds = latencyBounds.map { Int64($0 * 1e9) }

    /// Request series ever created, by slot; slots are never reused, so a counter stays monotonic
    /// across reloads (a rule that disappears keeps its last value).
    private let series = NIOLockedValueBox(SeriesTable())
    private let collectors = NIOLockedValueBox<[@Sendable () async -> String]>([])

    private struct SeriesTable {
        var labels: [String] = []
        var slots: [String: Int] = [:]

        mutating func slot(for labels: String) -> Int {
            if let slot = slots[labels] { return slot }
            self.labels.append(labels)
            slots[labels] = self.labels.count - 1
            return self.labels.count - 1
        }
    }

    /// - Parameter upstreams: the configured upstream pool names.
    public init(upstreams: some Sequence<String>) {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        self.factory = PrometheusMetricsFactory(registry: registry)
        self.upstreams = upstreams.sorted()
        _ = series.withLockedValue { $0.slot(for: Self.labels(rule: "none", action: "none")) }
    }

    /// The series of `routes`' rules, creating those not seen before.
    /// - Parameter routes: a compiled route table (at start, or from a reload).
    func series(for routes: RouteTable) -> RequestMetricSeries {
        let upstreamIndex = Dictionary(uniqueKeysWithValues: upstreams.enumerated().map { ($1, $0) })
        let (slots, unrouted) = series.withLockedValue { table in
            let slots = routes.routes.map { route in
                table.slot(for: Self.labels(rule: Self.ruleLabel(route.rule.source), action: route.rule.action.description))
            }
            return (slots, table.slot(for: Self.labels(rule: "none", action: "none")))
        }
        let ruleUpstreams = routes.routes.map { route -> Int in
            if case .proxy(let name) = route.rule.action { return upstreamIndex[name] ?? -1 }
            return -1
        }
        return RequestMetricSeries(
            ruleSlots: slots, ruleUpstreams: ruleUpstreams, unroutedSlot: unrouted, latencyBounds: Self.latencyBoundsNanoseconds)
    }

    /// Adds text in the Prometheus exposition format that is computed at each scrape.
    /// - Parameter collector: returns complete `# TYPE` blocks, each line ending in a newline.
    public func addCollector(_ collector: @escaping @Sendable () async -> String) {
        collectors.withLockedValue { $0.append(collector) }
    }

    /// Counts the listeners' open connections and sums the loops' request counters at each scrape.
    func attach(loops: LoopContexts, admissions: [ConnectionAdmission]) {
        addCollector { [self] in
            var text = "# HELP gatehouse_connections_active Client connections open now, by listener.\n"
            text += "# TYPE gatehouse_connections_active gauge\n"
            for admission in admissions {
                text += "gatehouse_connections_active{listener=\"\(Self.escape(admission.listener))\"} \(admission.openConnections)\n"
            }
            var totals = LoopTotals()
            for context in loops.all {
                if let counts = try? await context.eventLoop.submit({ LoopTotals(context.metrics) }).get() { totals.add(counts) }
            }
            return text + render(totals)
        }
    }

    /// The whole exposition: loop counters, collectors, then the swift-metrics registry.
    public func render() async -> String {
        var text = ""
        for collector in collectors.withLockedValue({ $0 }) {
            text += await collector()
        }
        return text + registry.emitToString()
    }

    /// The request counters and latency histogram of every loop added up.
    struct LoopTotals: Sendable {
        var requests: [Int] = []
        var latencyBuckets: [Int] = []
        var latencySums: [Int] = []

        init() {}

        init(_ loop: LoopMetrics) {
            requests = loop.requests
            latencyBuckets = loop.latencyBuckets
            latencySums = loop.latencySums
        }

        mutating func add(_ other: LoopTotals) {
            Self.add(other.requests, to: &requests)
            Self.add(other.latencyBuckets, to: &latencyBuckets)
            Self.add(other.latencySums, to: &latencySums)
        }

        private static func add(_ values: [Int], to sums: inout [Int]) {
            if sums.count < values.count { sums.append(contentsOf: repeatElement(0, count: values.count - sums.count)) }
            for (index, value) in values.enumerated() { sums[index] &+= value }
        }
    }

    func render(_ totals: LoopTotals) -> String {
        let labels = series.withLockedValue { $0.labels }
        var text = "# HELP gatehouse_http_requests_total Requests answered, by route rule (file:line and action) and status class.\n"
        text += "# TYPE gatehouse_http_requests_total counter\n"
        for (slot, series) in labels.enumerated() {
            for (statusIndex, status) in StatusClass.labels.enumerated() {
                let index = slot * StatusClass.count + statusIndex
                let count = index < totals.requests.count ? totals.requests[index] : 0
                // 2xx, 4xx and 5xx always exist, so rate() sees a series from the start.
                guard count > 0 || [1, 3, 4].contains(statusIndex) else { continue }
                text += "gatehouse_http_requests_total{\(series),status=\"\(status)\"} \(count)\n"
            }
        }
        text += "# HELP gatehouse_upstream_request_duration_seconds Proxied requests from the head's arrival to the response's end, by upstream.\n"
        text += "# TYPE gatehouse_upstream_request_duration_seconds histogram\n"
        let width = Self.latencyBounds.count + 1
        for (upstreamIndex, upstream) in upstreams.enumerated() {
            var cumulative = 0
            for bucket in 0..<width {
                let index = upstreamIndex * width + bucket
                cumulative += index < totals.latencyBuckets.count ? totals.latencyBuckets[index] : 0
                let bound = bucket < Self.latencyBounds.count ? "\(Self.latencyBounds[bucket])" : "+Inf"
                text += "gatehouse_upstream_request_duration_seconds_bucket{upstream=\"\(Self.escape(upstream))\",le=\"\(bound)\"} \(cumulative)\n"
            }
            let sum = upstreamIndex < totals.latencySums.count ? Double(totals.latencySums[upstreamIndex]) / 1e9 : 0
            text += "gatehouse_upstream_request_duration_seconds_sum{upstream=\"\(Self.escape(upstream))\"} \(sum)\n"
            text += "gatehouse_upstream_request_duration_seconds_count{upstream=\"\(Self.escape(upstream))\"} \(cumulative)\n"
        }
        return text
    }

    static func labels(rule: String, action: String) -> String {
        "rule=\"\(escape(rule))\",action=\"\(escape(action))\""
    }

    /// `file:line` with the file's name only: the directory says nothing and may change between hosts.
    static func ruleLabel(_ source: RuleSource) -> String {
        let name = source.file.split(separator: "/").last.map(String.init) ?? source.file
        return "\(name):\(source.line)"
    }

    /// A label value as the exposition format needs it (backslash, quote and newline escaped).
    static func escape(_ value: String) -> String {
        var escaped = ""
        for character in value {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
