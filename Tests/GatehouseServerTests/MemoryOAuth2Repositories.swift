import Foundation
import GatehouseStorage
import Synchronization

/// In-memory fakes of the OAuth 2.0 repositories the pages use, with the documented state rules
/// (conflicts on non-pending grants, single fulfilment); users come from a real store.
final class MemoryBrowserSessions: BrowserSessionRepository {
    let users: any UserRepository
    let sessions = Mutex<[String: BrowserSession]>([:])

    init(users: any UserRepository) { self.users = users }

    func create(_ session: BrowserSession) async throws { sessions.withLock { $0[session.id] = session } }

    func find(id: String) async throws -> (BrowserSession, User)? {
        guard let session = sessions.withLock({ $0[id] }), let user = try await users.find(id: session.userId) else { return nil }
        return (session, user)
    }

    func reauthenticate(id: String, at: Date) async throws { sessions.withLock { $0[id]?.authenticatedAt = at } }

    func finish(id: String, at: Date) async throws -> Bool {
        sessions.withLock {
            guard $0[id] != nil, $0[id]?.finishedAt == nil else { return false }
            $0[id]?.finishedAt = at
            return true
        }
    }

    func finishAll(userId: String, at: Date) async throws {
        sessions.withLock { all in
            for (id, session) in all where session.userId == userId && session.finishedAt == nil { all[id]?.finishedAt = at }
        }
    }

    func activeSessions(userId: String) async throws -> [BrowserSession] {
        sessions.withLock { all in
            all.values.filter { $0.userId == userId && $0.finishedAt == nil }.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        }
    }
}

final class MemoryAuthorizationGrants: AuthorizationGrantRepository {
    let grants = Mutex<[String: AuthorizationGrant]>([:])

    func create(_ grant: AuthorizationGrant) async throws { grants.withLock { $0[grant.id] = grant } }
    func find(id: String) async throws -> AuthorizationGrant? { grants.withLock { $0[id] } }

    func fulfil(id: String, userId: String, browserSessionId: String, codeHash: String, at: Date) async throws {
        try grants.withLock {
            guard var grant = $0[id], grant.fulfilledAt == nil, grant.cancelledAt == nil else { throw StorageError.conflict("not pending") }
            grant.userId = userId
            grant.browserSessionId = browserSessionId
            grant.codeHash = codeHash
            grant.fulfilledAt = at
            $0[id] = grant
        }
    }

    func cancel(id: String, at: Date) async throws {
        try grants.withLock {
            guard var grant = $0[id], grant.fulfilledAt == nil, grant.cancelledAt == nil else { throw StorageError.conflict("not pending") }
            grant.cancelledAt = at
            $0[id] = grant
        }
    }

    func redeem(codeHash: String, at: Date) async throws -> CodeRedemption { .unknown }
    func release(id: String, redeemedAt: Date) async throws {}
}

final class MemoryDeviceGrants: DeviceCodeGrantRepository {
    let grants = Mutex<[String: DeviceCodeGrant]>([:])

    func create(_ grant: DeviceCodeGrant) async throws { grants.withLock { $0[grant.id] = grant } }
    func find(id: String) async throws -> DeviceCodeGrant? { grants.withLock { $0[id] } }
    func findPending(userCode: String) async throws -> DeviceCodeGrant? {
        grants.withLock { $0.values.first { $0.userCode == userCode && $0.status == .pending } }
    }
    func poll(deviceCodeHash: String, at: Date) async throws -> DeviceCodeGrant? { nil }

    func decide(id: String, approved: Bool, userId: String, browserSessionId: String, at: Date) async throws {
        try grants.withLock {
            guard var grant = $0[id], grant.status == .pending else { throw StorageError.conflict("not pending") }
            grant.status = approved ? .approved : .rejected
            grant.userId = userId
            grant.browserSessionId = browserSessionId
            grant.decidedAt = at
            $0[id] = grant
        }
    }

    func exchange(id: String, at: Date) async throws {}
    func release(id: String, exchangedAt: Date) async throws {}
}

final class MemoryCompatSSOLogins: CompatSSOLoginRepository {
    let logins = Mutex<[String: CompatSSOLogin]>([:])
    let tokens = Mutex<[CompatLoginToken]>([])

    func create(_ login: CompatSSOLogin) async throws { logins.withLock { $0[login.id] = login } }
    func find(id: String) async throws -> CompatSSOLogin? { logins.withLock { $0[id] } }

    func fulfil(id: String, userId: String, loginToken: CompatLoginToken, at: Date) async throws {
        try logins.withLock {
            guard var login = $0[id], login.fulfilledAt == nil else { throw StorageError.conflict("fulfilled") }
            login.fulfilledAt = at
            login.userId = userId
            login.loginTokenId = loginToken.id
            $0[id] = login
        }
        tokens.withLock { $0.append(loginToken) }
    }
}
