import GatehouseCore
import NIOCore
import NIOHTTP1

/// A request answered inside Gatehouse, with its body already read (within the rule's limit).
public struct LocalRequest: Sendable {
    public var method: HTTPMethod
    public var target: RequestTarget
    public var headers: HTTPHeaders
    public var body: ByteBuffer
    /// The TCP peer's address.
    public var peerAddress: String?
    public var isTLS: Bool
}

/// A complete local response.
public struct LocalResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: ByteBuffer

    /// - Parameters:
    ///   - status: HTTP status.
    ///   - headers: response headers (`Content-Length` is set by the server).
    ///   - body: the whole body.
    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: ByteBuffer = ByteBuffer()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON response.
    /// - Parameters:
    ///   - status: HTTP status.
    ///   - json: the serialized body.
    public static func json(_ status: HTTPResponseStatus, _ json: String) -> LocalResponse {
        LocalResponse(status: status, headers: ["Content-Type": "application/json"], body: ByteBuffer(string: json))
    }

    /// A Matrix `{errcode, error}` response.
    /// - Parameter error: the error to send.
    public static func matrix(_ error: MatrixError) -> LocalResponse {
        var response = json(HTTPResponseStatus(statusCode: error.status), error.json)
        if let retry = error.retryAfterMilliseconds {
            response.headers.add(name: "Retry-After", value: String((retry + 999) / 1000))
        }
        return response
    }
}

/// A service answered locally (the `local SERVICE` route action).
///
/// Responders run as Swift tasks off the event loop, so they may await storage or Synapse; cheap
/// ones can answer on the event loop through ``immediateResponse(to:)`` and skip the task hop.
public protocol LocalResponder: Sendable {
    /// - Parameter request: the request with its body.
    func respond(to request: LocalRequest) async -> LocalResponse

    /// A response computed without waiting, or `nil` to go through ``respond(to:)``.
    /// - Parameter request: the request with its body.
    func immediateResponse(to request: LocalRequest) -> LocalResponse?
}

extension LocalResponder {
    public func immediateResponse(to request: LocalRequest) -> LocalResponse? { nil }
}

/// `GET /health`: 200 while the process serves requests.
public struct HealthResponder: LocalResponder {
    public init() {}

    public func immediateResponse(to request: LocalRequest) -> LocalResponse? {
        LocalResponse(status: .ok, headers: ["Content-Type": "text/plain", "Cache-Control": "no-store"], body: ByteBuffer(string: "OK"))
    }

    public func respond(to request: LocalRequest) async -> LocalResponse {
        immediateResponse(to: request)!
    }
}

/// Answers for a local service this build does not provide yet: a clear Matrix error, never a
/// forward to Synapse (which would answer for paths the route table reserves for Gatehouse).
public struct UnavailableServiceResponder: LocalResponder {
    public let service: LocalServiceName

    /// - Parameter service: the service that is not available.
    public init(service: LocalServiceName) {
        self.service = service
    }

    public func immediateResponse(to request: LocalRequest) -> LocalResponse? {
        .matrix(MatrixError(status: 501, code: .unrecognized,
            message: "The '\(service.rawValue)' service is not available in this Gatehouse build"))
    }

    public func respond(to request: LocalRequest) async -> LocalResponse {
        immediateResponse(to: request)!
    }
}

/// Answers a local service that this listener does not serve (the admin API outside
/// `admin_api.listeners`) exactly like a path no rule matches, so the service is not revealed.
public struct NotServedResponder: LocalResponder {
    public init() {}

    public func immediateResponse(to request: LocalRequest) -> LocalResponse? {
        .matrix(MatrixError(status: 404, code: .unrecognized, message: "Unrecognized request"))
    }

    public func respond(to request: LocalRequest) async -> LocalResponse {
        immediateResponse(to: request)!
    }
}
