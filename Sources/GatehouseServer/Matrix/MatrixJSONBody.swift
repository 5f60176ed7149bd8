import Foundation
import GatehouseCore
import NIOCore
import NIOHTTP1

/// The JSON body rules of the compat endpoints (MAS `MatrixJsonBody`): `Content-Type` is optional, but
/// when present it must be JSON; the body must be a JSON object.
enum MatrixJSONBody {
    static func object(_ request: LocalRequest) -> Result<[String: Any], CompatRouteError> {
        if let type = request.headers.first(name: "content-type") {
            let mediaType = type.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            guard mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json")) else {
                return .failure(.notJSON("Invalid Content-Type header: expected application/json"))
            }
        }
        guard request.body.readableBytes > 0,
            let value = try? JSONSerialization.jsonObject(with: Data(request.body.readableBytesView), options: [.fragmentsAllowed])
        else {
            return .failure(.notJSON("Body is not a valid JSON document"))
        }
        // Valid JSON that is not an object (`[]`, `5`) has the wrong shape: MAS's serde reports a data
        // error there, which it maps to M_BAD_JSON, not M_NOT_JSON.
        guard let object = value as? [String: Any] else { return .failure(.badJSON("JSON fields are not valid")) }
        return .success(object)
    }

    /// A JSON response with the CORS and caching headers Matrix clients expect.
    static func response(_ status: HTTPResponseStatus, _ object: [String: Any]) -> LocalResponse {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        var response = LocalResponse(status: status, headers: ["Content-Type": "application/json"], body: ByteBuffer(bytes: data))
        MatrixCompatResponder.addCommonHeaders(&response.headers)
        return response
    }
}

/// Typed reads of JSON fields: a field of the wrong type is a `M_BAD_JSON`, never a crash or a guess.
extension Dictionary where Key == String, Value == Any {
    func string(_ key: String) -> Result<String?, CompatRouteError> {
        guard let value = self[key], !(value is NSNull) else { return .success(nil) }
        guard let text = value as? String else { return .failure(.badJSON("JSON fields are not valid")) }
        return .success(text)
    }

    func bool(_ key: String) -> Result<Bool?, CompatRouteError> {
        guard let value = self[key], !(value is NSNull) else { return .success(nil) }
        // JSONSerialization gives NSNumber for both numbers and booleans; only real booleans count.
        guard let number = value as? NSNumber, isBoolean(number) else { return .failure(.badJSON("JSON fields are not valid")) }
        return .success(number.boolValue)
    }

    func object(_ key: String) -> Result<[String: Any]?, CompatRouteError> {
        guard let value = self[key], !(value is NSNull) else { return .success(nil) }
        guard let object = value as? [String: Any] else { return .failure(.badJSON("JSON fields are not valid")) }
        return .success(object)
    }
}

/// Whether a JSON value was written as `true`/`false` (JSONSerialization makes NSNumbers of both
/// numbers and booleans; booleans report the Objective-C type `c`).
private func isBoolean(_ number: NSNumber) -> Bool {
    String(cString: number.objCType) == "c"
}
