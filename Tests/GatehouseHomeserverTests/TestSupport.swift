import Foundation
import GatehouseCore
import GatehouseHomeserver
import GatehouseTesting
import Logging
import NIOPosix
import Synchronization

/// A logger that drops everything, the default in these tests.
let quietLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

/// The shared secret the fake Synapse accepts in these tests.
let sharedSecret = "s3cret-SHARED-value-42"

/// Runs `body` with a fresh fake Synapse and a client pointed at it, and tears both down.
func withSynapse(
    secret: String = sharedSecret, requestTimeout: Duration = .seconds(5), logger: Logger = quietLogger,
    _ body: (FakeSynapse, SynapseClient) async throws -> Void
) async throws {
    let fake = try await FakeSynapse(group: MultiThreadedEventLoopGroup.singleton, secret: sharedSecret)
    let client = SynapseClient(
        configuration: .init(endpoint: fake.endpoint, secret: secret, requestTimeout: requestTimeout), logger: logger)
    do {
        try await body(fake, client)
        try await client.shutdown()
        try await fake.stop()
    } catch {
        try? await client.shutdown()
        try? await fake.stop()
        throw error
    }
}

/// Deterministic "randomness" for ULIDs.
final class CountingRandom: RandomSource {
    private let counter = Atomic<UInt8>(0)

    func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in counter.wrappingAdd(1, ordering: .relaxed).newValue }
    }
}

/// "Randomness" that counts down, so ULIDs of one millisecond come out in descending order.
final class DescendingRandom: RandomSource {
    private let counter = Atomic<UInt8>(255)

    func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in counter.wrappingSubtract(1, ordering: .relaxed).newValue }
    }
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(5), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// Keeps every log line (message and metadata) so tests can check what was logged.
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    var all: [String] { lines.withLock { $0 } }

    func logger(label: String = "test") -> Logger {
        var logger = Logger(label: label) { _ in Handler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    fileprivate func append(_ line: String) {
        lines.withLock { $0.append(line) }
    }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            capture.append("\(event.level) \(event.message) \(merged)")
        }
    }
}
