/// Where secrets and identifiers get their randomness, injected so tests can be deterministic.
/// Production uses the operating system's CSPRNG.
public protocol RandomSource: Sendable {
    /// `count` random bytes.
    func bytes(_ count: Int) -> [UInt8]
}

/// The system CSPRNG (`getrandom`).
public struct SystemRandom: RandomSource {
    public init() {}

    public func bytes(_ count: Int) -> [UInt8] {
        // Eight bytes per draw: each draw is a system call, and pages, tokens and cookies ask often.
        var generator = SystemRandomNumberGenerator()
        var result: [UInt8] = []
        result.reserveCapacity(count + 7)
        while result.count < count {
            withUnsafeBytes(of: generator.next()) { result.append(contentsOf: $0) }
        }
        result.removeLast(result.count - count)
        return result
    }
}

extension RandomSource {
    /// A uniformly random string over `alphabet` (rejection sampling, no modulo bias).
    /// - Parameters:
    ///   - length: characters wanted.
    ///   - alphabet: at most 256 distinct ASCII characters.
    public func string(length: Int, alphabet: [UInt8]) -> String {
        precondition(!alphabet.isEmpty && alphabet.count <= 256)
        let limit = 256 - (256 % alphabet.count)
        var result: [UInt8] = []
        result.reserveCapacity(length)
        while result.count < length {
            for byte in bytes(length - result.count + 8) where Int(byte) < limit && result.count < length {
                result.append(alphabet[Int(byte) % alphabet.count])
            }
        }
        return String(decoding: result, as: UTF8.self)
    }
}

/// Character sets for identifiers.
public enum Alphabet {
    /// `0-9A-Za-z`.
    public static let base62: [UInt8] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
}
