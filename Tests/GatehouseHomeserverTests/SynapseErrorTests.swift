import Testing

@testable import GatehouseHomeserver

/// The one place statuses and `errcode`s become ``SynapseError`` kinds.
struct SynapseErrorTests {
    private func classify(_ status: Int, _ body: String) -> SynapseError {
        SynapseError.fromResponse(status: status, body: Array(body.utf8))
    }

    @Test func mapsStatusesAndErrcodes() {
        #expect(classify(401, #"{"errcode":"M_MISSING_TOKEN","error":"Missing access token."}"#) == .unauthorized(status: 401))
        #expect(classify(403, #"{"errcode":"M_UNKNOWN","error":"This endpoint must only be called by MAS"}"#) == .unauthorized(status: 403))
        #expect(classify(403, "<html>Forbidden</html>") == .unauthorized(status: 403))
        #expect(classify(404, #"{"errcode":"M_NOT_FOUND","error":"User not found"}"#) == .notFound())
        #expect(classify(404, "<html>No Such Resource</html>") == .unexpected(status: 404))
        #expect(classify(400, #"{"errcode":"M_INVALID_USERNAME","error":"bad"}"#) == .matrix(status: 400, errcode: "M_INVALID_USERNAME"))
        #expect(classify(405, #"{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}"#) == .matrix(status: 405, errcode: "M_UNRECOGNIZED"))
        #expect(classify(500, #"{"errcode":"M_UNKNOWN","error":"Internal server error"}"#) == .matrix(status: 500, errcode: "M_UNKNOWN"))
        #expect(classify(502, "Bad Gateway") == .unexpected(status: 502))
    }

    @Test func onlyTransientFailuresAreRetryable() {
        #expect(SynapseError.unreachable("connection refused").isRetryable)
        #expect(SynapseError.matrix(status: 500, errcode: "M_UNKNOWN").isRetryable)
        #expect(SynapseError.unexpected(status: 503).isRetryable)
        #expect(SynapseError.matrix(status: 429, errcode: "M_LIMIT_EXCEEDED").isRetryable)
        #expect(!SynapseError.unauthorized(status: 403).isRetryable)
        #expect(!SynapseError.notFound().isRetryable)
        #expect(!SynapseError.matrix(status: 400, errcode: "M_INVALID_PARAM").isRetryable)
        #expect(!SynapseError.unexpected(status: 404).isRetryable)
    }

    @Test func carriesTheMatrixDetails() {
        let error = classify(400, #"{"errcode":"M_USER_IN_USE","error":"User ID already taken."}"#).at(path: "_synapse/mas/provision_user")
        #expect(error.status == 400 && error.errcode == "M_USER_IN_USE" && error.message == "User ID already taken.")
        #expect(error.shortDescription == "matrix_error")
        #expect(error.description == "Synapse refused the request with HTTP 400 M_USER_IN_USE (_synapse/mas/provision_user): User ID already taken.")
        // Equality ignores the free text.
        #expect(error == .matrix(status: 400, errcode: "M_USER_IN_USE", error: "something else"))
        #expect(error != .matrix(status: 400, errcode: "M_INVALID_USERNAME"))
    }

    @Test func longBodiesAreCutAndFlattened() {
        let body = "line one\nline two " + String(repeating: "x", count: 500)
        let error = classify(502, body)
        #expect(!error.message.contains("\n"))
        #expect(error.message.count == 201 && error.message.hasSuffix("…"))
    }

    @Test func descriptionsTellTheAdminWhatToCheck() {
        #expect(SynapseError.unreachable("refused").description.contains("Check that Synapse is running"))
        #expect(SynapseError.unexpected(status: 404).description.contains("matrix_authentication_service.enabled"))
        #expect(SynapseError.unauthorized(status: 401).description.contains("matrix.secret"))
        #expect(SynapseError.notFound("User not found").description.contains("does not exist"))
    }
}
