import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// An in-process stand-in for Synapse's `/_synapse/mas/*` API (Synapse 1.163 in MAS mode), for tests
/// of the homeserver client and the job runner: users and devices in memory, the same status codes,
/// error codes and empty bodies as the real thing, every request recorded, and switches for outages.
///
/// What it mimics (see the Synapse ⇄ MAS contract, §A.3):
/// - auth: `Authorization: Bearer <secret>` or `?access_token=`; none → 401 `M_MISSING_TOKEN`,
///   another → 403 `M_UNKNOWN` "This endpoint must only be called by MAS";
/// - bodies: not JSON → 400 `M_NOT_JSON`, missing field → 400 `M_MISSING_PARAM`, wrong type or
///   a set/unset pair → 400 `M_INVALID_PARAM`;
/// - wrong method → 405 `M_UNRECOGNIZED`; unknown path → 404 HTML "No Such Resource";
/// - unknown user → 404 `M_NOT_FOUND`; `provision_user`/`upsert_device` 201 when created, 200
///   otherwise; `delete_device` 204 with no body; localparts outside `[a-z0-9._=\-/+]` or starting
///   with `_` → 400 `M_INVALID_USERNAME`.
public final class FakeSynapse: Sendable {
    /// One device of a user.
    public struct Device: Sendable, Equatable {
        public var displayName: String?
        /// MSC3814 dehydrated device: `sync_devices` never deletes it.
        public var dehydrated: Bool

        /// - Parameters:
        ///   - displayName: the device's name.
        ///   - dehydrated: whether it is a dehydrated device.
        public init(displayName: String? = nil, dehydrated: Bool = false) {
            self.displayName = displayName
            self.dehydrated = dehydrated
        }
    }

    /// One user as Synapse would store it.
    public struct User: Sendable, Equatable {
        public var localpart: String
        public var displayName: String?
        public var avatarURL: String?
        public var emails: [String]
        public var locked: Bool
        public var suspended: Bool
        public var deactivated: Bool
        public var erased: Bool
        /// Set by `allow_cross_signing_reset`.
        public var crossSigningResetAllowed: Bool
        public var devices: [String: Device]

        /// A user with the given state; everything defaults to a fresh, active account.
        public init(
            localpart: String, displayName: String? = nil, avatarURL: String? = nil, emails: [String] = [], locked: Bool = false,
            suspended: Bool = false, deactivated: Bool = false, erased: Bool = false, crossSigningResetAllowed: Bool = false,
            devices: [String: Device] = [:]
        ) {
            self.localpart = localpart
            self.displayName = displayName
            self.avatarURL = avatarURL
            self.emails = emails
            self.locked = locked
            self.suspended = suspended
            self.deactivated = deactivated
            self.erased = erased
            self.crossSigningResetAllowed = crossSigningResetAllowed
            self.devices = devices
        }
    }

    /// What the fake saw of one request.
    public struct Received: Sendable {
        public var method: String
        /// The path without the query.
        public var path: String
        /// The decoded query parameters.
        public var query: [String: String]
        public var headers: [(String, String)]
        public var body: String

        /// The values of a header, case-insensitively.
        public func header(_ name: String) -> [String] {
            headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
        }

        /// The body as a JSON object, if it is one.
        public func json() -> [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
        }
    }

    fileprivate enum Fault: Sendable {
        case matrix(status: Int, errcode: String, error: String)
        case raw(status: Int, body: String)
    }

    fileprivate struct State: Sendable {
        var users: [String: User] = [:]
        var requests: [Received] = []
        var faults: [Fault] = []
        var down = false
        var delay: Duration?
        var exclusivePrefixes: [String] = []
    }

    private let channel: any Channel
    private let state: NIOLockedValueBox<State>
    /// The shared secret it accepts.
    public let secret: String
    /// Its `server_name`.
    public let serverName: String

    /// The port it listens on (127.0.0.1).
    public var port: Int { channel.localAddress!.port! }

    /// The value for `matrix.endpoint`: `http://127.0.0.1:<port>/`.
    public var endpoint: String { "http://127.0.0.1:\(port)/" }

    /// Requests received so far (including refused ones; not those dropped while ``down``).
    public var requests: [Received] { state.withLockedValue { $0.requests } }

    /// When `true`, every connection is closed without an answer, as if Synapse had crashed
    /// mid-request or a load balancer had no backend.
    public var down: Bool {
        get { state.withLockedValue { $0.down } }
        set { state.withLockedValue { $0.down = newValue } }
    }

    /// Every answer is held back this long (to exercise deadlines).
    public var responseDelay: Duration? {
        get { state.withLockedValue { $0.delay } }
        set { state.withLockedValue { $0.delay = newValue } }
    }

    /// Localpart prefixes an appservice holds exclusively: `is_localpart_available` answers
    /// `M_EXCLUSIVE` for them.
    public var exclusivePrefixes: [String] {
        get { state.withLockedValue { $0.exclusivePrefixes } }
        set { state.withLockedValue { $0.exclusivePrefixes = newValue } }
    }

    /// Starts listening on an ephemeral loopback port.
    /// - Parameters:
    ///   - group: the event loops to use.
    ///   - secret: the shared secret it accepts.
    ///   - serverName: its `server_name`, for `user_id`s.
    public init(group: any EventLoopGroup, secret: String, serverName: String = "example.test") async throws {
        let state = NIOLockedValueBox(State())
        self.state = state
        self.secret = secret
        self.serverName = serverName
        let api = FakeSynapseAPI(secret: secret, serverName: serverName)
        self.channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(FakeSynapseHandler(state: state, api: api))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    /// Stops listening.
    public func stop() async throws {
        try await channel.close()
    }

    /// The user, as stored now.
    /// - Parameter localpart: the localpart.
    public func user(_ localpart: String) -> User? {
        state.withLockedValue { $0.users[localpart] }
    }

    /// Creates or replaces a user directly, without a request.
    /// - Parameter user: the user.
    public func addUser(_ user: User) {
        state.withLockedValue { $0.users[user.localpart] = user }
    }

    /// Answers the next `times` requests (after the method check, before auth) with a Matrix error.
    /// - Parameters:
    ///   - status: the HTTP status.
    ///   - errcode: the Matrix error code.
    ///   - error: the message.
    ///   - times: how many requests fail.
    public func failNext(_ status: Int, errcode: String = "M_UNKNOWN", error: String = "Internal server error", times: Int = 1) {
        state.withLockedValue { $0.faults += Array(repeating: .matrix(status: status, errcode: errcode, error: error), count: times) }
    }

    /// Answers the next `times` requests with a non-Matrix body, like a reverse proxy's error page.
    /// - Parameters:
    ///   - status: the HTTP status.
    ///   - rawBody: the body, sent as `text/html`.
    ///   - times: how many requests fail.
    public func failNext(_ status: Int, rawBody: String, times: Int = 1) {
        state.withLockedValue { $0.faults += Array(repeating: .raw(status: status, body: rawBody), count: times) }
    }

    /// Forgets the recorded requests.
    public func clearRequests() {
        state.withLockedValue { $0.requests.removeAll() }
    }
}

/// An answer of the fake.
private struct FakeAnswer {
    var status: Int
    var contentType: String?
    var body: String

    static func json(_ status: Int, _ body: String = "{}") -> FakeAnswer {
        FakeAnswer(status: status, contentType: "application/json", body: body)
    }

    static func error(_ status: Int, _ errcode: String, _ message: String) -> FakeAnswer {
        .json(status, "{\"errcode\":\(quote(errcode)),\"error\":\(quote(message))}")
    }

    static let noContent = FakeAnswer(status: 204, contentType: nil, body: "")

    static func quote(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }
}

/// Why a body was refused.
private struct BodyError: Error {
    var answer: FakeAnswer
}

/// The request → answer logic, with the state lock held.
private struct FakeSynapseAPI: Sendable {
    let secret: String
    let serverName: String

    private static let getEndpoints: Set<String> = ["query_user", "is_localpart_available"]
    private static let postEndpoints: Set<String> = [
        "provision_user", "delete_user", "reactivate_user", "set_displayname", "unset_displayname", "allow_cross_signing_reset",
        "upsert_device", "delete_device", "update_device_display_name", "sync_devices",
    ]

    func answer(_ request: FakeSynapse.Received, state: inout FakeSynapse.State) -> FakeAnswer {
        let prefix = "/_synapse/mas/"
        guard request.path.hasPrefix(prefix) else { return Self.noSuchResource }
        let name = String(request.path.dropFirst(prefix.count))
        let isGet = Self.getEndpoints.contains(name)
        guard isGet || Self.postEndpoints.contains(name) else { return Self.noSuchResource }
        guard request.method == (isGet ? "GET" : "POST") else {
            return .error(405, "M_UNRECOGNIZED", "Unrecognized request")
        }
        if !state.faults.isEmpty {
            switch state.faults.removeFirst() {
            case .matrix(let status, let errcode, let error): return .error(status, errcode, error)
            case .raw(let status, let body): return FakeAnswer(status: status, contentType: "text/html", body: body)
            }
        }
        let token = bearerToken(request)
        guard let token, !token.isEmpty else { return .error(401, "M_MISSING_TOKEN", "Missing access token.") }
        guard token == secret else { return .error(403, "M_UNKNOWN", "This endpoint must only be called by MAS") }
        do {
            return isGet ? try get(name, request, state: &state) : try post(name, try object(request.body), state: &state)
        } catch {
            return error.answer
        }
    }

    private static let noSuchResource = FakeAnswer(
        status: 404, contentType: "text/html",
        body: "<html><head><title>404 - No Such Resource</title></head><body><h1>No Such Resource</h1></body></html>")

    private func bearerToken(_ request: FakeSynapse.Received) -> String? {
        if let header = request.header("authorization").first {
            return header.hasPrefix("Bearer ") ? String(header.dropFirst("Bearer ".count)) : ""
        }
        return request.query["access_token"]
    }

    private func get(_ name: String, _ request: FakeSynapse.Received, state: inout FakeSynapse.State) throws(BodyError) -> FakeAnswer {
        switch name {
        case "query_user":
            guard let localpart = request.query["localpart"] else {
                throw BodyError(answer: .error(400, "M_MISSING_PARAM", "Missing string query parameter 'localpart'"))
            }
            let user = try existing(localpart, state)
            let fields: [String: Any] = [
                "user_id": "@\(localpart):\(serverName)", "display_name": user.displayName ?? NSNull(),
                "avatar_url": user.avatarURL ?? NSNull(), "is_suspended": user.suspended, "is_deactivated": user.deactivated,
            ]
            let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            return .json(200, String(decoding: data, as: UTF8.self))
        default:  // is_localpart_available
            guard let localpart = request.query["localpart"] else {
                throw BodyError(answer: .error(400, "M_UNKNOWN", "Missing localpart"))
            }
            try checkUsername(localpart)
            if state.exclusivePrefixes.contains(where: { localpart.hasPrefix($0) }) {
                return .error(400, "M_EXCLUSIVE", "This user ID is reserved by an application service.")
            }
            if state.users[localpart] != nil { return .error(400, "M_USER_IN_USE", "User ID already taken.") }
            return .json(200)
        }
    }

    private func post(_ name: String, _ body: [String: Any], state: inout FakeSynapse.State) throws(BodyError) -> FakeAnswer {
        let localpart = try string(body, "localpart")
        switch name {
        case "provision_user":
            let setDisplayname = try optional(body, "set_displayname", as: String.self)
            let unsetDisplayname = try optional(body, "unset_displayname", as: Bool.self) ?? false
            let setAvatar = try optional(body, "set_avatar_url", as: String.self)
            let unsetAvatar = try optional(body, "unset_avatar_url", as: Bool.self) ?? false
            let setEmails = try optional(body, "set_emails", as: [String].self)
            let unsetEmails = try optional(body, "unset_emails", as: Bool.self) ?? false
            let locked = try optional(body, "locked", as: Bool.self)
            if (setDisplayname != nil && unsetDisplayname) || (setAvatar != nil && unsetAvatar) || (setEmails != nil && unsetEmails) {
                throw BodyError(answer: .error(400, "M_INVALID_PARAM", "set_* and unset_* are mutually exclusive"))
            }
            var user = state.users[localpart]
            let created = user == nil
            if created {
                try checkUsername(localpart)
                user = FakeSynapse.User(localpart: localpart)
            }
            if let setDisplayname { user?.displayName = setDisplayname }
            if unsetDisplayname { user?.displayName = nil }
            if let setAvatar { user?.avatarURL = setAvatar }
            if unsetAvatar { user?.avatarURL = nil }
            if let setEmails { user?.emails = setEmails }
            if unsetEmails { user?.emails = [] }
            if let locked { user?.locked = locked }
            state.users[localpart] = user
            return .json(created ? 201 : 200)
        case "delete_user":
            guard let erase = try optional(body, "erase", as: Bool.self) else {
                throw BodyError(answer: .error(400, "M_MISSING_PARAM", "erase: Field required"))
            }
            var user = try existing(localpart, state)
            user.deactivated = true
            user.erased = user.erased || erase
            user.devices = [:]
            state.users[localpart] = user
            return .json(200)
        case "reactivate_user":
            var user = try existing(localpart, state)
            user.deactivated = false
            state.users[localpart] = user
            return .json(200)
        case "set_displayname":
            let displayname = try string(body, "displayname")
            var user = try existing(localpart, state)
            user.displayName = displayname
            state.users[localpart] = user
            return .json(200)
        case "unset_displayname":
            var user = try existing(localpart, state)
            user.displayName = nil
            state.users[localpart] = user
            return .json(200)
        case "allow_cross_signing_reset":
            var user = try existing(localpart, state)
            user.crossSigningResetAllowed = true
            state.users[localpart] = user
            return .json(200)
        case "upsert_device":
            let deviceId = try string(body, "device_id")
            let displayName = try optional(body, "display_name", as: String.self)
            var user = try existing(localpart, state)
            let created = user.devices[deviceId] == nil
            var device = user.devices[deviceId] ?? FakeSynapse.Device()
            if let displayName { device.displayName = displayName }
            user.devices[deviceId] = device
            state.users[localpart] = user
            return .json(created ? 201 : 200)
        case "delete_device":
            let deviceId = try string(body, "device_id")
            var user = try existing(localpart, state)
            user.devices[deviceId] = nil
            state.users[localpart] = user
            return .noContent
        case "update_device_display_name":
            let deviceId = try string(body, "device_id")
            let displayName = try string(body, "display_name")
            var user = try existing(localpart, state)
            guard user.devices[deviceId] != nil else { throw BodyError(answer: .error(404, "M_NOT_FOUND", "Not found")) }
            user.devices[deviceId]?.displayName = displayName
            state.users[localpart] = user
            return .json(200)
        default:  // sync_devices
            guard let devices = try optional(body, "devices", as: [String].self) else {
                throw BodyError(answer: .error(400, "M_MISSING_PARAM", "devices: Field required"))
            }
            var user = try existing(localpart, state)
            let wanted = Set(devices)
            user.devices = user.devices.filter { wanted.contains($0.key) || $0.value.dehydrated }
            for id in wanted where user.devices[id] == nil { user.devices[id] = FakeSynapse.Device() }
            state.users[localpart] = user
            return .json(200)
        }
    }

    private func existing(_ localpart: String, _ state: FakeSynapse.State) throws(BodyError) -> FakeSynapse.User {
        guard let user = state.users[localpart] else { throw BodyError(answer: .error(404, "M_NOT_FOUND", "User not found")) }
        return user
    }

    /// Synapse's `check_username`: `[a-z0-9._=\-/+]`, not empty, not starting with `_`.
    private func checkUsername(_ localpart: String) throws(BodyError) {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789._=-/+".utf8)
        guard !localpart.isEmpty else { throw BodyError(answer: .error(400, "M_INVALID_USERNAME", "User ID cannot be empty")) }
        guard localpart.utf8.allSatisfy(allowed.contains) else {
            throw BodyError(answer: .error(400, "M_INVALID_USERNAME", "User ID can only contain characters a-z, 0-9, or '=_-./+'"))
        }
        guard !localpart.hasPrefix("_") else { throw BodyError(answer: .error(400, "M_INVALID_USERNAME", "User ID may not begin with _")) }
    }

    private func object(_ body: String) throws(BodyError) -> [String: Any] {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] else {
            throw BodyError(answer: .error(400, "M_NOT_JSON", "Content not JSON."))
        }
        return object
    }

    private func string(_ body: [String: Any], _ key: String) throws(BodyError) -> String {
        guard let value = try optional(body, key, as: String.self) else {
            throw BodyError(answer: .error(400, "M_MISSING_PARAM", "\(key): Field required"))
        }
        return value
    }

    /// A field that may be absent or null; of the wrong type → `M_INVALID_PARAM`.
    private func optional<T>(_ body: [String: Any], _ key: String, as type: T.Type) throws(BodyError) -> T? {
        guard let raw = body[key], !(raw is NSNull) else { return nil }
        guard let value = raw as? T else { throw BodyError(answer: .error(400, "M_INVALID_PARAM", "\(key): Input has the wrong type")) }
        return value
    }
}

private final class FakeSynapseHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let state: NIOLockedValueBox<FakeSynapse.State>
    let api: FakeSynapseAPI
    var head: HTTPRequestHead?
    var body: [UInt8] = []

    init(state: NIOLockedValueBox<FakeSynapse.State>, api: FakeSynapseAPI) {
        self.state = state
        self.api = api
    }

    func channelActive(context: ChannelHandlerContext) {
        if state.withLockedValue({ $0.down }) {
            context.close(promise: nil)
            return
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = []
        case .body(let buffer):
            body += buffer.readableBytesView
        case .end:
            guard let head else { return }
            self.head = nil
            let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
            let received = FakeSynapse.Received(
                method: head.method.rawValue, path: String(parts[0]), query: parts.count > 1 ? Self.parseQuery(String(parts[1])) : [:],
                headers: head.headers.map { ($0.name, $0.value) }, body: String(decoding: body, as: UTF8.self))
            let outcome = state.withLockedValue { state -> (FakeAnswer, Duration?)? in
                if state.down { return nil }
                state.requests.append(received)
                return (api.answer(received, state: &state), state.delay)
            }
            guard let (answer, delay) = outcome else {
                context.close(promise: nil)
                return
            }
            if let delay {
                let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                let (seconds, attoseconds) = delay.components
                context.eventLoop.scheduleTask(in: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)) {
                    let (handler, context) = bound.value
                    handler.send(context: context, answer)
                }
            } else {
                send(context: context, answer)
            }
        }
    }

    private func send(context: ChannelHandlerContext, _ answer: FakeAnswer) {
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Server", value: "FakeSynapse")
        if answer.status != 204 {
            headers.add(name: "Content-Length", value: String(answer.body.utf8.count))
            if let contentType = answer.contentType { headers.add(name: "Content-Type", value: contentType) }
        }
        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: answer.status), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if !answer.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: answer.body)))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    /// `a=b&c=d` with `%XX` and `+` decoded, as Twisted does.
    static func parseQuery(_ query: String) -> [String: String] {
        var result: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = decode(parts[0])
            if result[key] == nil { result[key] = parts.count > 1 ? decode(parts[1]) : "" }
        }
        return result
    }

    private static func decode(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"):
                bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                if let high = iterator.next(), let low = iterator.next(), let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) {
                    bytes.append(value)
                }
            default:
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
