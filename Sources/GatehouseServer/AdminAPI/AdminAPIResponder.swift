#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseAuth
import GatehouseCore
import GatehouseIdentity
import GatehouseStorage
import NIOCore
import NIOHTTP1

/// The admin API (`/api/admin/v1/…`) and its OpenAPI document (`/api/spec.json`): a thin adapter
/// that authenticates the caller, decodes the request, calls ``AccountService`` (the service
/// `gatehouse manage` uses, so the two cannot drift) or reads the store, and encodes MAS's shapes.
struct AdminAPIResponder: LocalResponder {
    let store: any IdentityStore
    let accounts: AccountService
    let siteConfig: AdminJSON
    let clock: any WallClock

    func respond(to request: LocalRequest) async -> LocalResponse {
        do throws(AdminAPIError) {
            return try await answer(request)
        } catch {
            return error.response
        }
    }

    private func answer(_ request: LocalRequest) async throws(AdminAPIError) -> LocalResponse {
        let path = String(request.target.canonicalPath)
        let method = request.method == .HEAD ? HTTPMethod.GET : request.method
        if path == AdminEndpoint.specPath {
            guard method == .GET else { throw .methodNotAllowed([.GET]) }
            return .json(.ok, AdminOpenAPI.document.text)
        }
        guard let match = AdminEndpoint.match(path: path) else { throw .notFound }
        guard let endpoint = match.endpoints.first(where: { $0.method == method }) else {
            throw .methodNotAllowed(match.endpoints.map(\.method))
        }
        try await authenticate(request)
        let parameter = match.parameter ?? ""
        let json: AdminJSON
        var status = HTTPResponseStatus.ok
        switch endpoint {
        case .siteConfig: json = siteConfig
        case .listUsers: json = try await listUsers(request)
        case .addUser:
            json = try await addUser(request)
            status = .created
        case .getUser: json = try await requireUser(id: parameter).document
        case .getUserByUsername: json = try await userByUsername(parameter)
        case .setPassword: json = try await setPassword(id: parameter, request)
        case .setAdmin: json = try await setAdmin(id: parameter, request)
        case .lockUser: json = try await lock(id: parameter)
        case .unlockUser: json = try await unlock(id: parameter)
        case .deactivateUser: json = try await deactivate(id: parameter, request)
        case .reactivateUser: json = try await reactivate(id: parameter)
        case .listCompatSessions: json = try await listCompatSessions(request)
        case .getCompatSession: json = AdminResource.compatSession(try await requireCompatSession(id: parameter)).document
        case .finishCompatSession: json = try await finishCompatSession(id: parameter)
        case .listOAuth2Sessions: json = try await listOAuth2Sessions(request)
        case .getOAuth2Session: json = AdminResource.oauth2Session(try await requireOAuth2Session(id: parameter)).document
        case .finishOAuth2Session: json = try await finishOAuth2Session(id: parameter)
        case .listUserSessions: json = try await listUserSessions(request)
        case .getUserSession: json = AdminResource.userSession(try await requireUserSession(id: parameter)).document
        case .finishUserSession: json = try await finishUserSession(id: parameter)
        case .listOAuth2Clients: json = try await listOAuth2Clients(request)
        case .getOAuth2Client: json = AdminResource.oauth2Client(try await requireClient(id: parameter)).document
        }
        return .json(status, json.text)
    }

    // MARK: Authentication

    /// Accepts an OAuth 2.0 access token whose session holds `urn:mas:admin` and is alive, as MAS's
    /// `CallContext` does. A session acting for a user also needs that user active and, stricter than
    /// MAS, still an administrator: withdrawing the right ends API access at once.
    private func authenticate(_ request: LocalRequest) async throws(AdminAPIError) {
        guard let header = request.headers.first(name: "authorization") else { throw .missingAuthorization }
        guard BearerScheme.hasPrefix(header) else { throw .invalidAuthorization }
        let token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        guard !token.isEmpty else { throw .invalidAuthorization }
        guard case .success(.accessToken) = TokenFormat.check(token) else { throw .invalidTokenType }
        let found = try await storage { try await store.oauth2Sessions.lookupAccessToken(hash: TokenHasher.sha256Hex(token)) }
        guard let found else { throw .unknownToken }
        guard found.session.finishedAt == nil, found.token.revokedAt == nil else { throw .sessionRevoked }
        guard found.token.expiresAt > clock.now() else { throw .tokenExpired }
        if let user = found.user {
            guard user.isActive else { throw .userLocked }
            guard user.isAdmin else { throw .notAdministrator }
        }
        guard AuthorizationScope.stored(found.session.scope).requestsAdminAPI else { throw .missingScope }
    }

    // MARK: Helpers

    /// Runs a store read; a failure is an internal error (details stay out of the answer).
    func storage<T>(_ body: () async throws -> T) async throws(AdminAPIError) -> T {
        do {
            return try await body()
        } catch {
            throw .internalError
        }
    }

    /// Runs an account operation, mapping its refusal to MAS's status.
    func account<T>(_ body: () async throws(AccountError) -> T) async throws(AdminAPIError) -> T {
        do {
            return try await body()
        } catch {
            throw .account(error)
        }
    }

    /// The path's id, checked to be a ULID (MAS answers 400 for anything else).
    func validID(_ text: String) throws(AdminAPIError) -> String {
        guard ULID.isValid(text) else { throw .invalidID(text) }
        return text
    }

    /// The request body as a JSON object; an empty body is `[:]` when `optional`.
    func bodyObject(_ request: LocalRequest, optional: Bool) throws(AdminAPIError) -> [String: JSONValue] {
        if request.body.readableBytes == 0 {
            if optional { return [:] }
            throw .invalidBody("expected a JSON object")
        }
        guard case .object(let object)? = JSONValue.parse(request.body.readableBytesView) else {
            throw .invalidBody("expected a JSON object")
        }
        return object
    }

    /// A boolean member, or `nil` when absent.
    func bool(_ name: String, in object: [String: JSONValue]) throws(AdminAPIError) -> Bool? {
        switch object[name] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        default: throw .invalidBody("`\(name)` must be true or false")
        }
    }

    /// A string member, or `nil` when absent.
    func string(_ name: String, in object: [String: JSONValue]) throws(AdminAPIError) -> String? {
        switch object[name] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        default: throw .invalidBody("`\(name)` must be a string")
        }
    }

    /// The answer of a list: counted and read as `query` asks.
    func list<Item>(
        _ query: AdminListQuery, path: String, read: (Pagination) async throws -> Page<Item>, count: () async throws -> Int,
        resource: (Item) -> AdminResource
    ) async throws(AdminAPIError) -> AdminJSON {
        let total = query.count == .false ? nil : try await storage { try await count() }
        let page = query.count == .only ? nil : try await storage { try await read(query.page) }
        return query.answer(path: path, page: page, total: total, resource: resource)
    }
}
