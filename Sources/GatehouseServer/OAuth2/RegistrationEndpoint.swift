import GatehouseCore
import GatehouseIdentity
import GatehouseStorage
import NIOCore
import NIOHTTP1

/// `POST /oauth2/registration`: dynamic client registration (RFC 7591, MSC2966), a thin adapter over
/// ``ClientRegistrationService``: method and media type here, every metadata rule in
/// ``ClientRegistrationPolicy``.
///
/// Answers `201` with the registered metadata, `client_id` and `client_id_issued_at` (RFC 7591
/// §3.2.1), or `400 {"error", "error_description"}` naming the rule that failed (§3.2.2). Every answer
/// carries `Cache-Control: no-store`. The body is capped by the `oauth2` service (64 KiB).
struct RegistrationEndpoint: Sendable {
    let service: ClientRegistrationService

    /// Refusals that need no store access.
    func immediateResponse(to request: LocalRequest) -> LocalResponse? {
        guard request.method == .POST else {
            var response = OAuth2Error(status: .methodNotAllowed, code: .invalidRequest, description: "Use POST").response
            response.headers.add(name: "Allow", value: "POST")
            return response
        }
        let mediaType = request.headers.first(name: "content-type")?.split(separator: ";").first?
            .trimmingCharacters(in: .whitespaces).lowercased()
        guard mediaType == "application/json" else {
            return OAuth2Error(
                status: .badRequest, code: .invalidRequest,
                description: "Send the client metadata as a JSON object with Content-Type: application/json (RFC 7591 §3.1)"
            ).response
        }
        return nil
    }

    func respond(to request: LocalRequest) async -> LocalResponse {
        if let response = immediateResponse(to: request) { return response }
        do {
            switch try await service.register(body: request.body.readableBytesView) {
            case .refused(let error):
                return Self.response(for: error)
            case .registered(let client):
                let issuedAt = Int64((client.createdAt.timeIntervalSince1970).rounded(.down))
                let json = client.metadata.json(extra: ["client_id": JSONText.quote(client.id), "client_id_issued_at": String(issuedAt)])
                var response = LocalResponse.json(.created, json)
                response.headers.add(name: "Cache-Control", value: "no-store")
                return response
            }
        } catch {
            return OAuth2Error(status: .serviceUnavailable, code: .temporarilyUnavailable, description: "The store is unavailable; try again later")
                .response
        }
    }

    /// The one mapping from ``ClientRegistrationError`` to the wire.
    static func response(for error: ClientRegistrationError) -> LocalResponse {
        let code: OAuth2ErrorCode =
            switch error.code {
            case .invalidRedirectURI: .invalidRedirectURI
            case .invalidClientMetadata: .invalidClientMetadata
            case .invalidRequest: .invalidRequest
            }
        return OAuth2Error(status: .badRequest, code: code, description: error.message).response
    }
}
