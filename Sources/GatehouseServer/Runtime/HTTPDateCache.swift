#if canImport(Glibc)
import Glibc
#endif

/// The `Date` header value (RFC 9110 §5.6.7 IMF-fixdate), formatted at most once per second per event
/// loop: local responses need it, and formatting a date per request would be wasted work.
final class HTTPDateCache {
    private var second: time_t = -1
    private var value = ""

    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    func current() -> String {
        let now = time(nil)
        if now != second {
            second = now
            value = HTTPDateCache.format(now)
        }
        return value
    }

    static func format(_ seconds: time_t) -> String {
        var copy = seconds
        var parts = tm()
        gmtime_r(&copy, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
