#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseStorage

/// Account operations the admin API needs beyond the ones `gatehouse manage` already had; they live
/// on ``AccountService`` so the CLI and the API keep one behaviour.
extension AccountService {
    /// Grants or withdraws the right to request `urn:synapse:admin:*` and `urn:mas:admin` (MAS
    /// `can_request_admin`). Sessions already granted keep their scope until they end, as in MAS.
    /// - Parameters:
    ///   - username: the user.
    ///   - admin: the new value.
    /// - Returns: the user as stored now.
    public func setAdmin(username: String, _ admin: Bool) async throws(AccountError) -> User {
        try await setAdmin(of: try await requireUser(username), admin)
    }

    /// ``setAdmin(username:_:)`` for a user addressed by id (the admin API).
    /// - Parameters:
    ///   - id: the user's ULID.
    ///   - admin: the new value.
    /// - Returns: the user as stored now.
    public func setAdmin(id: String, _ admin: Bool) async throws(AccountError) -> User {
        try await setAdmin(of: try await requireUser(id: id), admin)
    }

    private func setAdmin(of user: User, _ admin: Bool) async throws(AccountError) -> User {
        try await storing { try await store.users.setAdmin(userId: user.id, admin) }
        var updated = user
        updated.isAdmin = admin
        return updated
    }

    /// The user with this id, whatever its state.
    /// - Parameter id: the user's ULID.
    public func user(id: String) async throws(AccountError) -> User? {
        do {
            return try await store.users.find(id: id)
        } catch {
            throw .storage(error)
        }
    }
}
