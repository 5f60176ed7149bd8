import Foundation

/// One HTTP answer as `doctor` saw it: enough to tell Synapse from Gatehouse and read Matrix errors.
public struct ProbeResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    /// - Parameters:
    ///   - status: the HTTP status code.
    ///   - headers: the response headers, in order.
    ///   - body: the response body (the probes read small ones only).
    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first value of a header, compared case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// The body as a JSON object, or `nil` when it is not one.
    public var jsonObject: [String: Any]? {
        guard !body.isEmpty else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    }

    /// The Matrix `errcode` of an error body, if any.
    public var errcode: String? { jsonObject?["errcode"] as? String }

    /// `HTTP 403 M_UNKNOWN "This endpoint must only be called by MAS"`: a short, log-safe summary.
    public var summary: String {
        var text = "HTTP \(status)"
        if let object = jsonObject {
            if let code = object["errcode"] as? String { text += " \(code)" }
            if let message = object["error"] as? String { text += " \"\(message.prefix(120))\"" }
        }
        return text
    }
}

/// Why a probe got no HTTP answer (connection refused, TLS failure, timeout).
public struct ProbeFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String

    /// - Parameter description: what went wrong, e.g. "connection refused".
    public init(_ description: String) {
        self.description = description
    }
}
