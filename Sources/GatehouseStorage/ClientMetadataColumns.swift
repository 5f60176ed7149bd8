#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseCore

/// How both stores keep a client's metadata in `oauth2_clients`: list-valued fields as JSON arrays,
/// localized fields as JSON objects with sorted keys (`NULL` when empty), signing algorithms by their
/// JWS name. One encoding, so `gatehouse database copy` moves the text unchanged.
public enum ClientMetadataColumns {
    public static func encode(_ values: [String]) throws -> String {
        String(decoding: try JSONEncoder().encode(values), as: UTF8.self)
    }

    public static func encode(_ values: ClientMetadata.Localized) throws -> String? {
        guard !values.isEmpty else { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(values), as: UTF8.self)
    }

    public static func decodeList(_ text: String) throws -> [String] {
        try JSONDecoder().decode([String].self, from: Data(text.utf8))
    }

    public static func decodeLocalized(_ text: String?) throws -> ClientMetadata.Localized {
        guard let text else { return [:] }
        return try JSONDecoder().decode([String: String].self, from: Data(text.utf8))
    }

    /// A stored JWS algorithm name; one this build does not know is an error, never a silent default.
    public static func algorithm(_ name: String?) throws -> SigningAlgorithm? {
        guard let name else { return nil }
        guard let algorithm = SigningAlgorithm(rawValue: name) else {
            throw StorageError.schemaTooNew("a client's signing algorithm '\(name)' is unknown to this build; was it written by a newer Gatehouse?")
        }
        return algorithm
    }
}
