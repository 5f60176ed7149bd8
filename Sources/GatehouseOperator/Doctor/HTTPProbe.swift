import AsyncHTTPClient
import NIOCore
import NIOSSL

/// How `doctor` makes its HTTP requests; a protocol so the checks can run against canned answers.
public protocol HTTPProbing: Sendable {
    /// A `GET` of `url`; the answer, or why there was none.
    /// - Parameters:
    ///   - url: an absolute http(s) URL.
    ///   - headers: extra request headers.
    func get(_ url: String, headers: [(String, String)]) async -> Result<ProbeResponse, ProbeFailure>
}

/// ``HTTPProbing`` over AsyncHTTPClient: no redirects followed (a redirect is an answer worth
/// reporting), bodies cut at 1 MiB, and no certificate verification, because the TLS check
/// (``TLSInspector``) judges the certificate on its own and the other checks should still run
/// against a development certificate.
public final class AsyncHTTPProbe: HTTPProbing {
    private let client: HTTPClient
    private let timeout: TimeAmount

    /// - Parameters:
    ///   - group: the event loops to use.
    ///   - timeout: per request, connection included.
    public init(group: any EventLoopGroup, timeout: TimeAmount = .seconds(15)) {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        var configuration = HTTPClient.Configuration()
        configuration.tlsConfiguration = tls
        configuration.redirectConfiguration = .disallow
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: .seconds(5), read: timeout)
        self.client = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: configuration)
        self.timeout = timeout
    }

    /// Closes the client's connections; call once before the event loops stop.
    public func shutdown() async {
        try? await client.shutdown()
    }

    public func get(_ url: String, headers: [(String, String)]) async -> Result<ProbeResponse, ProbeFailure> {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        do {
            let response = try await client.execute(request, timeout: timeout)
            let body = try await response.body.collect(upTo: 1 << 20)
            return .success(
                ProbeResponse(
                    status: Int(response.status.code), headers: response.headers.map { (name: $0.name, value: $0.value) },
                    body: Array(body.readableBytesView)))
        } catch {
            return .failure(ProbeFailure(Self.describe(error)))
        }
    }

    /// Short texts for the usual network failures ("connection refused" rather than a type dump).
    static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("connectTimeout") || text.contains("ConnectTimeout") { return "connection timed out" }
        if text.contains("deadlineExceeded") || text.contains("readTimeout") { return "no answer in time" }
        if text.lowercased().contains("connection refused") || text.contains("ECONNREFUSED") { return "connection refused" }
        return text
    }
}
