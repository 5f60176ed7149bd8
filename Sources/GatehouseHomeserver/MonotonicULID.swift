#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseCore
import Synchronization

/// Hands out ULIDs that always sort after the previous one, even within one millisecond, so job
/// ids queued by one process sort in queue order. (Two ULIDs of the same millisecond otherwise
/// compare by their random part, and the store keeps only millisecond times: "provision the user"
/// could sort after "sync their devices" queued right after it.)
final class MonotonicULID: Sendable {
    private let last = Mutex<String?>(nil)
    private static let alphabet: [UInt8] = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    /// A new ULID for `time`, greater than every one this instance returned before.
    /// - Parameters:
    ///   - time: the creation time.
    ///   - random: the randomness source.
    func next(at time: Date, random: some RandomSource) -> String {
        let candidate = ULID.make(at: time, random: random)
        return last.withLock { last in
            let id: String
            if let previous = last, candidate <= previous {
                id = Self.increment(previous)
            } else {
                id = candidate
            }
            last = id
            return id
        }
    }

    /// The next ULID in sort order (the 80-bit random part plus one, carrying into the time part).
    static func increment(_ ulid: String) -> String {
        var digits = Array(ulid.utf8)
        var index = digits.count - 1
        while index >= 0 {
            let value = alphabet.firstIndex(of: digits[index]) ?? 0
            if value < 31 {
                digits[index] = alphabet[value + 1]
                break
            }
            digits[index] = alphabet[0]
            index -= 1
        }
        return String(decoding: digits, as: UTF8.self)
    }
}
