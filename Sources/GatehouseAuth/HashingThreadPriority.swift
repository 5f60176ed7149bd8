#if canImport(Glibc)
import Glibc
#endif

/// Lowers the scheduling priority of password-hashing threads (nice 10), once per thread.
///
/// Hashing is bounded in concurrency, but on a machine with few cores a login storm would still take
/// CPU time from the event loops; at a lower priority the kernel serves the loops first, so proxied
/// traffic keeps its latency while logins wait. On Linux the nice value is per thread, and
/// `setpriority(PRIO_PROCESS, 0, …)` applies to the calling thread only (setpriority(2), BUGS).
enum HashingThreadPriority {
    /// Per-thread flag: 0 until this thread has been lowered.
    nonisolated(unsafe) private static var key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    static let niceness: Int32 = 10

    static func lowerOnce() {
        #if os(Linux)
        guard pthread_getspecific(key) == nil else { return }
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: 1))
        #endif
    }
}
