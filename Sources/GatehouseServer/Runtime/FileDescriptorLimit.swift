#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's limit on open file descriptors, which bounds how many connections it can hold.
enum FileDescriptorLimit {
    /// Raises the soft limit to the hard limit (as most servers do at start), and returns the soft
    /// limit in force afterwards, or `nil` when it cannot be read or is unlimited.
    static func raiseToHardLimit() -> Int? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        // RLIM_INFINITY is all ones.
        guard limit.rlim_cur != rlim_t.max, limit.rlim_cur < rlim_t(Int.max) else { return nil }
        return Int(limit.rlim_cur)
    }

    /// The default cap on one listener's client connections: half of the descriptors left after a
    /// reserve, the other half being for the upstream connections those clients may cause.
    static func defaultMaxConnections(descriptors: Int?) -> Int {
        guard let descriptors else { return 100_000 }
        return max(16, (descriptors - 256) / 2)
    }
}
