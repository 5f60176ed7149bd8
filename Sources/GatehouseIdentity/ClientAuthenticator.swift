import GatehouseCore
import GatehouseStorage

/// Checks a client's credentials against its registration (RFC 6749 §2.3; MAS
/// `client_authorization.rs`): the client must exist, the method presented must be the one it
/// registered as `token_endpoint_auth_method`, and a secret must match the stored hash (compared in
/// constant time, see ``ClientSecret/matches(_:storedHash:)``).
public struct ClientAuthenticator: Sendable {
    let clients: any OAuth2ClientRepository

    /// - Parameter clients: where clients are looked up.
    public init(clients: any OAuth2ClientRepository) {
        self.clients = clients
    }

    /// The authenticated client.
    /// - Parameter credentials: what the request presented.
    /// - Throws: `invalid_client` for an unknown client, another method than the registered one or a
    ///   wrong secret; `unauthorized_client` for a client registered without a method (MAS stores an
    ///   empty one when registration omitted it); `temporarily_unavailable` when the store fails.
    public func authenticate(_ credentials: ClientCredentials) async throws(OAuth2TokenError) -> OAuth2Client {
        let found: OAuth2Client?
        do {
            found = try await clients.find(id: credentials.clientId)
        } catch {
            throw .unavailable
        }
        guard let client = found else { throw .invalidClient("Client not found") }
        guard let registered = ClientAuthMethod(rawValue: client.metadata.tokenEndpointAuthMethod) else {
            throw .unauthorizedClient("The client has no usable token_endpoint_auth_method")
        }
        guard registered == credentials.method else {
            throw .invalidClient("The client must authenticate with \(registered.rawValue)")
        }
        if registered.usesSecret {
            guard let secret = credentials.secret, ClientSecret.matches(secret, storedHash: client.secretHash) else {
                throw .invalidClient("Invalid client credentials")
            }
        }
        return client
    }
}
