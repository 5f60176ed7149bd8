import AsyncHTTPClient
import GatehouseCore
import Logging

/// Calls Synapse's `/_synapse/mas/*` API, the way matrix-authentication-service does
/// (`crates/matrix-synapse/src/modern.rs`): JSON bodies, `Authorization: Bearer <matrix.secret>`
/// on every call, the URL being `matrix.endpoint` joined with the path.
///
/// One `HTTPClient` is shared by all calls. It never follows redirects or decompresses, gives up
/// connecting after 5 s and every request after a deadline (10 s by default), and keeps up to 32
/// connections to Synapse. Every failure is a ``SynapseError``; ``SynapseError/isRetryable`` tells
/// the ``JobRunner`` whether to try again soon.
///
/// Call ``shutdown()`` (or run the client as a `Service`) before the process exits.
public final class SynapseClient: Sendable {
    /// How to reach Synapse.
    public struct Configuration: Sendable {
        /// Synapse's client listener, ending in `/` (`matrix.endpoint`).
        public var endpoint: String
        /// The shared secret (`matrix.secret`); never logged or printed.
        public var secret: String
        /// The longest a call may take, connecting included.
        public var requestTimeout: Duration
        /// The longest a TCP (and TLS) connection may take to establish.
        public var connectTimeout: Duration
        /// Connections kept to Synapse (AHC's soft limit per host; its default of 8 is too low when
        /// logins and the job runner call concurrently).
        public var maxConnections: Int
        /// Whether AHC keeps retrying a refused connection until the deadline. Off: an unreachable
        /// Synapse fails the call at once, and the job queue does the retrying.
        public var retryConnectionEstablishment: Bool

        /// - Parameters:
        ///   - endpoint: Synapse's base URL; a missing trailing `/` is added.
        ///   - secret: the shared secret.
        ///   - requestTimeout: per-call deadline.
        ///   - connectTimeout: connection establishment timeout.
        ///   - maxConnections: pooled connections to Synapse.
        ///   - retryConnectionEstablishment: keep retrying refused connections until the deadline.
        public init(
            endpoint: String, secret: String, requestTimeout: Duration = .seconds(10), connectTimeout: Duration = .seconds(5),
            maxConnections: Int = 32, retryConnectionEstablishment: Bool = false
        ) {
            self.endpoint = endpoint.hasSuffix("/") ? endpoint : endpoint + "/"
            self.secret = secret
            self.requestTimeout = requestTimeout
            self.connectTimeout = connectTimeout
            self.maxConnections = maxConnections
            self.retryConnectionEstablishment = retryConnectionEstablishment
        }

        /// The defaults, with the endpoint and secret of the `matrix` section.
        /// - Parameter matrix: the loaded `matrix` configuration.
        public init(_ matrix: MatrixConfiguration) {
            self.init(endpoint: matrix.endpoint, secret: matrix.secret)
        }
    }

    private let http: HTTPClient
    private let endpoint: String
    private let authorization: String
    private let requestTimeout: Duration
    private let logger: Logger

    /// - Parameters:
    ///   - configuration: where Synapse is and how long to wait for it.
    ///   - logger: receives one debug line per call (method, path, status, duration; never the secret).
    public init(configuration: Configuration, logger: Logger = Logger(label: "gatehouse.synapse")) {
        var http = HTTPClient.Configuration()
        http.timeout = .init(connect: .nanoseconds(Self.nanoseconds(configuration.connectTimeout)))
        http.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.maxConnections)
        http.connectionPool.retryConnectionEstablishment = configuration.retryConnectionEstablishment
        http.decompression = .disabled
        http.redirectConfiguration = .disallow
        self.http = HTTPClient(configuration: http, backgroundActivityLogger: logger)
        self.endpoint = configuration.endpoint
        self.authorization = "Bearer " + configuration.secret
        self.requestTimeout = configuration.requestTimeout
        self.logger = logger
    }

    /// Shuts the connection pool down; calls made afterwards fail as unreachable.
    public func shutdown() async throws {
        try await http.shutdown()
    }

    // MARK: Users

    /// `GET /_synapse/mas/query_user`: the user's profile and state.
    /// - Parameters:
    ///   - localpart: the Matrix localpart.
    ///   - timeout: a deadline shorter than the client's, for calls that are only nice to have (MAS
    ///     uses 1 s on its consent page).
    /// - Returns: the user, or `nil` when Synapse has no such user (404 `M_NOT_FOUND`).
    public func queryUser(localpart: String, timeout: Duration? = nil) async throws(SynapseError) -> SynapseUser? {
        let response: Response
        do {
            response = try await send(.queryUser, query: localpart, timeout: timeout)
        } catch where error.isNotFound {
            return nil
        }
        do {
            return try JSONCoding.decode(SynapseUser.self, from: response.body)
        } catch {
            throw SynapseError.unexpected(status: response.status, body: SynapseError.snippet(response.body)).at(path: MASEndpoint.queryUser.rawValue)
        }
    }

    /// `POST /_synapse/mas/provision_user`: creates or updates a user (profile, emails, lock).
    /// - Parameter request: what to set.
    /// - Returns: `.created` on 201, `.updated` on 200.
    @discardableResult
    public func provisionUser(_ request: ProvisionUserRequest) async throws(SynapseError) -> ProvisionResult {
        let response = try await send(.provisionUser, body: request)
        return response.status == 201 ? .created : .updated
    }

    /// `GET /_synapse/mas/is_localpart_available`: whether a new user could take this localpart.
    ///
    /// As in MAS, `M_INVALID_USERNAME`, `M_USER_IN_USE` and `M_EXCLUSIVE` (an appservice namespace)
    /// mean "no", and a localpart that is not ASCII is refused without asking.
    /// - Parameter localpart: the candidate.
    /// - Returns: `true` when Synapse answers 200.
    public func isLocalpartAvailable(_ localpart: String) async throws(SynapseError) -> Bool {
        guard localpart.utf8.allSatisfy({ $0 < 0x80 }) else { return false }
        do {
            _ = try await send(.isLocalpartAvailable, query: localpart)
            return true
        } catch where ["M_INVALID_USERNAME", "M_USER_IN_USE", "M_EXCLUSIVE"].contains(error.errcode ?? "") {
            return false
        }
    }

    /// `POST /_synapse/mas/delete_user`: deactivates the user; devices and tokens are removed.
    /// - Parameters:
    ///   - localpart: the Matrix localpart.
    ///   - erase: also GDPR-erase the account (messages hidden from new joiners, profile cleared).
    public func deleteUser(localpart: String, erase: Bool) async throws(SynapseError) {
        _ = try await send(.deleteUser, body: MASBody.DeleteUser(localpart: localpart, erase: erase))
    }

    /// `POST /_synapse/mas/reactivate_user`: undoes a deactivation; a lock is kept.
    /// - Parameter localpart: the Matrix localpart.
    public func reactivateUser(localpart: String) async throws(SynapseError) {
        _ = try await send(.reactivateUser, body: MASBody.Localpart(localpart: localpart))
    }

    /// `POST /_synapse/mas/set_displayname`.
    /// - Parameters:
    ///   - localpart: the Matrix localpart.
    ///   - displayname: the new display name.
    public func setDisplayname(localpart: String, displayname: String) async throws(SynapseError) {
        _ = try await send(.setDisplayname, body: MASBody.Displayname(localpart: localpart, displayname: displayname))
    }

    /// `POST /_synapse/mas/unset_displayname`.
    /// - Parameter localpart: the Matrix localpart.
    public func unsetDisplayname(localpart: String) async throws(SynapseError) {
        _ = try await send(.unsetDisplayname, body: MASBody.Localpart(localpart: localpart))
    }

    /// `POST /_synapse/mas/allow_cross_signing_reset`: lets the user replace their master
    /// cross-signing key without interactive auth for the next 10 minutes.
    /// - Parameter localpart: the Matrix localpart.
    public func allowCrossSigningReset(localpart: String) async throws(SynapseError) {
        _ = try await send(.allowCrossSigningReset, body: MASBody.Localpart(localpart: localpart))
    }

    // MARK: Devices

    /// `POST /_synapse/mas/upsert_device`: creates the device if missing.
    /// - Parameters:
    ///   - localpart: the Matrix localpart.
    ///   - deviceId: the device ID.
    ///   - displayName: set when given (also on an existing device).
    /// - Returns: `.created` on 201, `.updated` on 200.
    @discardableResult
    public func upsertDevice(localpart: String, deviceId: String, displayName: String? = nil) async throws(SynapseError) -> ProvisionResult {
        let response = try await send(.upsertDevice, body: MASBody.Device(localpart: localpart, deviceId: deviceId, displayName: displayName))
        return response.status == 201 ? .created : .updated
    }

    /// `POST /_synapse/mas/update_device_display_name`; an unknown device is ``SynapseError/notFound(_:)``.
    /// - Parameters:
    ///   - localpart: the Matrix localpart.
    ///   - deviceId: the device ID.
    ///   - displayName: the new name.
    public func updateDeviceDisplayName(localpart: String, deviceId: String, displayName: String) async throws(SynapseError) {
        _ = try await send(.updateDeviceDisplayName, body: MASBody.Device(localpart: localpart, deviceId: deviceId, displayName: displayName))
    }

    /// `POST /_synapse/mas/delete_device` (204); deleting an unknown device succeeds.
    /// - Parameters:
    ///   - localpart: the Matrix localpart.
    ///   - deviceId: the device ID.
    public func deleteDevice(localpart: String, deviceId: String) async throws(SynapseError) {
        _ = try await send(.deleteDevice, body: MASBody.DeviceRef(localpart: localpart, deviceId: deviceId))
    }

    /// `POST /_synapse/mas/sync_devices`: makes the user's device list exactly `devices` (missing ones
    /// are created without a name; others are deleted, except a dehydrated device).
    /// - Parameters:
    ///   - localpart: the Matrix localpart.
    ///   - devices: every device ID the user should have; sent sorted and without duplicates.
    public func syncDevices(localpart: String, devices: some Sequence<String>) async throws(SynapseError) {
        _ = try await send(.syncDevices, body: MASBody.Devices(localpart: localpart, devices: Array(Set(devices)).sorted()))
    }

    // MARK: Transport

    private struct Response {
        var status: Int
        var body: [UInt8]
    }

    /// The most of a response body that is read; `/_synapse/mas` answers are tiny.
    private static let maxBodyBytes = 1 << 20

    /// A POST with a JSON body.
    private func send(_ path: MASEndpoint, body: some Encodable, timeout: Duration? = nil) async throws(SynapseError) -> Response {
        let bytes: [UInt8]
        do {
            bytes = try JSONCoding.encode(body)
        } catch {
            // Only strings, booleans and arrays of strings are encoded; this cannot happen.
            throw SynapseError.unexpected(status: 0, body: "cannot encode the request: \(error)").at(path: path.rawValue)
        }
        return try await execute(path, url: endpoint + path.rawValue, body: bytes, timeout: timeout)
    }

    /// A GET with `?localpart=`.
    private func send(_ path: MASEndpoint, query localpart: String, timeout: Duration? = nil) async throws(SynapseError) -> Response {
        let url = endpoint + path.rawValue + "?localpart=" + Self.percentEncoded(localpart)
        return try await execute(path, url: url, body: nil, timeout: timeout)
    }

    /// Sends a GET, or a POST when there is a body, and classifies the answer.
    private func execute(_ path: MASEndpoint, url: String, body: [UInt8]?, timeout: Duration?) async throws(SynapseError) -> Response {
        var request = HTTPClientRequest(url: url)
        request.method = body == nil ? .GET : .POST
        let method = body == nil ? "GET" : "POST"
        request.headers.add(name: "Authorization", value: authorization)
        request.headers.add(name: "Accept", value: "application/json")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(body)
        }
        let started = ContinuousClock.now
        let limit = Self.nanoseconds(timeout.map { min($0, requestTimeout) } ?? requestTimeout)
        let response: Response
        do {
            let answer = try await http.execute(request, timeout: .nanoseconds(limit), logger: logger)
            var bytes: [UInt8] = []
            for try await chunk in answer.body {
                bytes.append(contentsOf: chunk.readableBytesView.prefix(Self.maxBodyBytes - bytes.count))
                if bytes.count >= Self.maxBodyBytes { break }
            }
            response = Response(status: Int(answer.status.code), body: bytes)
        } catch {
            let failure = SynapseError.unreachable(String(describing: error)).at(path: path.rawValue)
            logger.debug("synapse call failed", metadata: [
                "method": "\(method)", "path": "\(path.rawValue)", "error": "\(failure.shortDescription)",
                "detail": "\(failure.message)", "duration_ms": "\(Self.milliseconds(since: started))",
            ])
            throw failure
        }
        logger.debug("synapse call", metadata: [
            "method": "\(method)", "path": "\(path.rawValue)", "status": "\(response.status)",
            "duration_ms": "\(Self.milliseconds(since: started))",
        ])
        guard (200..<300).contains(response.status) else {
            throw SynapseError.fromResponse(status: response.status, body: response.body).at(path: path.rawValue)
        }
        return response
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters, for a query value.
    static func percentEncoded(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var output: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                output.append(byte)
            default:
                output.append(contentsOf: [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    private static func milliseconds(since start: ContinuousClock.Instant) -> Int64 {
        nanoseconds(ContinuousClock.now - start) / 1_000_000
    }
}
