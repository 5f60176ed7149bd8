/// Bounds how many fixtures of a suite are in use at once, first come first served. The compat
/// cases run in parallel (one after another, the two backends made that suite the unit run's
/// critical path), but all of them at once would slow each far beyond what a test with a real-time
/// Synapse deadline tolerates; such a test takes every permit and so runs alone within its suite.
actor FixtureGate {
    let permits: Int
    private var available: Int
    private var waiting: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []

    init(permits: Int) {
        self.permits = permits
        available = permits
    }

    /// Waits until `count` permits are free (and every earlier caller has been served).
    func acquire(_ count: Int) async {
        if waiting.isEmpty && available >= count {
            available -= count
            return
        }
        await withCheckedContinuation { waiting.append((count, $0)) }
    }

    func release(_ count: Int) {
        available += count
        while let first = waiting.first, first.count <= available {
            available -= first.count
            waiting.removeFirst().continuation.resume()
        }
    }
}
