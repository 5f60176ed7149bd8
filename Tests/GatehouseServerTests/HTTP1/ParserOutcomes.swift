import NIOCore

@testable import GatehouseServer

// The tests' by-value form of the head parsers: the head comes back in the result. The gateway parses
// into heads it keeps (`parse(_:into:)`, `parse(_:requestMethod:into:)`); these wrap exactly that.

extension HTTP1RequestHeadParser {
    enum Outcome {
        case needMore
        case complete(HTTP1RequestHead)
        case refused(HTTP1Refusal)
    }

    mutating func parse(_ buffer: ByteBuffer) -> Outcome {
        var head = HTTP1RequestHead()
        switch parse(buffer, into: &head) {
        case .needMore: return .needMore
        case .complete: return .complete(head)
        case .refused(let refusal): return .refused(refusal)
        }
    }
}

extension HTTP1ResponseHeadParser {
    enum Outcome {
        case needMore
        case complete(HTTP1ResponseHead)
        case refused(HTTP1Refusal)
    }

    mutating func parse(_ buffer: ByteBuffer, requestMethod: HTTP1Method) -> Outcome {
        var head = HTTP1ResponseHead()
        switch parse(buffer, requestMethod: requestMethod, into: &head) {
        case .needMore: return .needMore
        case .complete: return .complete(head)
        case .refused(let refusal): return .refused(refusal)
        }
    }
}
