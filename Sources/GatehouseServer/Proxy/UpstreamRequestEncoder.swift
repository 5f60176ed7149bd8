import NIOCore
import NIOHTTP1

/// Writes the request Gatehouse decided on to an upstream connection, byte for byte, with exactly the
/// body framing the head carries.
///
/// NIO's `HTTPRequestEncoder` re-decides framing from the method: it treats `TRACE` as bodiless, drops
/// the framing headers, and still writes the body bytes, which the upstream then reads as a second,
/// unchecked request. Here nothing is re-decided. ``HeaderRewriter`` puts exactly one framing header on
/// the head (or none, for a bodiless request), and this encoder enforces it: a `Content-Length` body
/// must be exactly that long, a chunked body is chunk-encoded, and a body without framing is an error.
/// Any violation fails the write and closes the connection before a stray byte can leave.
///
/// The target and header bytes are checked once more (no CR, LF, NUL, or other control bytes or spaces
/// in the target): the inbound parsers already refuse them, and a proxy must not depend on a single
/// check for what would split a request in two.
final class UpstreamRequestEncoder: ChannelOutboundHandler {
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = IOData

    /// How the body of the request being written is framed.
    private enum Framing {
        case none
        case length(remaining: Int)
        case chunked
    }

    private var framing = Framing.none
    private var inMessage = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        do {
            switch unwrapOutboundIn(data) {
            case .head(let head):
                guard !inMessage else { throw UpstreamEncodingError.headWhileMessageOpen }
                // Sized exactly: a buffer the head outgrows is reallocated (three allocations per request).
                var buffer = context.channel.allocator.buffer(capacity: HeaderRewriter.serializedSize(of: head))
                framing = try Self.serialize(head, into: &buffer)
                inMessage = true
                context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: promise)
            case .body(let body):
                guard inMessage else { throw UpstreamEncodingError.bodyOutsideMessage }
                try writeBody(body, context: context, promise: promise)
            case .end(let trailers):
                guard inMessage else { throw UpstreamEncodingError.bodyOutsideMessage }
                try writeEnd(trailers, context: context, promise: promise)
            }
        } catch {
            // The connection is no longer in step with what was sent: nothing more may go out on it.
            promise?.fail(error)
            context.fireErrorCaught(error)
            context.close(promise: nil)
        }
    }

    private func writeBody(_ body: IOData, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) throws {
        let count = body.readableBytes
        switch framing {
        case .none:
            guard count == 0 else { throw UpstreamEncodingError.bodyWithoutFraming }
            promise?.succeed()
        case .length(let remaining):
            guard count <= remaining else { throw UpstreamEncodingError.bodyLongerThanContentLength }
            framing = .length(remaining: remaining - count)
            context.write(wrapOutboundOut(body), promise: promise)
        case .chunked:
            // A zero-length chunk would end the body: empty parts are simply not written.
            guard count > 0 else {
                promise?.succeed()
                return
            }
            var prefix = context.channel.allocator.buffer(capacity: 12)
            prefix.writeString(String(count, radix: 16))
            prefix.writeStaticString("\r\n")
            context.write(wrapOutboundOut(.byteBuffer(prefix)), promise: nil)
            context.write(wrapOutboundOut(body), promise: nil)
            context.write(wrapOutboundOut(.byteBuffer(context.channel.allocator.buffer(staticString: "\r\n"))), promise: promise)
        }
    }

    private func writeEnd(_ trailers: HTTPHeaders?, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) throws {
        defer {
            inMessage = false
            framing = .none
        }
        switch framing {
        case .none:
            promise?.succeed()
        case .length(let remaining):
            guard remaining == 0 else { throw UpstreamEncodingError.bodyShorterThanContentLength }
            promise?.succeed()
        case .chunked:
            // Trailers are not forwarded: they would be the one place a client could add headers that
            // skipped the head's rewriting.
            context.write(wrapOutboundOut(.byteBuffer(context.channel.allocator.buffer(staticString: "0\r\n\r\n"))), promise: promise)
        }
    }

    /// Writes `METHOD SP target SP HTTP/1.1 CRLF`, the headers and the blank line; returns the framing
    /// the headers announce.
    ///
    /// Every piece is copied in first and its bytes checked where they landed: one tight loop over
    /// contiguous memory each, instead of walking each string's UTF-8 view.
    private static func serialize(_ head: HTTPRequestHead, into buffer: inout ByteBuffer) throws -> Framing {
        guard appendChecked(head.method.rawValue, to: &buffer, HTTPFieldSyntax.isToken) else { throw UpstreamEncodingError.invalidMethod }
        buffer.writeInteger(UInt8(ascii: " "))
        guard appendChecked(head.uri, to: &buffer, { !$0.isEmpty && HTTPFieldSyntax.isTarget($0) }) else {
            throw UpstreamEncodingError.invalidTarget
        }
        buffer.writeStaticString(" HTTP/1.1\r\n")
        var framing = Framing.none
        for (name, value) in head.headers {
            var kind = FramingHeader.other
            let nameIsToken = appendChecked(name, to: &buffer) { bytes in
                kind = FramingHeader(name: bytes)
                return HTTPFieldSyntax.isToken(bytes)
            }
            buffer.writeStaticString(": ")
            guard nameIsToken, appendChecked(value, to: &buffer, HTTPFieldSyntax.isFieldValue) else {
                throw UpstreamEncodingError.invalidHeader
            }
            switch kind {
            case .contentLength:
                guard case .none = framing, let length = Int(value), length >= 0 else { throw UpstreamEncodingError.conflictingFraming }
                framing = .length(remaining: length)
            case .transferEncoding:
                guard case .none = framing, value == "chunked" else { throw UpstreamEncodingError.conflictingFraming }
                framing = .chunked
            case .other:
                break
            }
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
        return framing
    }

    /// Appends `text` and returns what `check` says of the bytes just written.
    private static func appendChecked(
        _ text: String, to buffer: inout ByteBuffer, _ check: (UnsafeRawBufferPointer) -> Bool
    ) -> Bool {
        let start = buffer.writerIndex
        let count = buffer.writeString(text)
        let offset = start - buffer.readerIndex
        return buffer.withUnsafeReadableBytes { readable in
            check(UnsafeRawBufferPointer(rebasing: readable[offset..<(offset + count)]))
        }
    }

    /// The two header names that frame a body, recognised in any letter case.
    private enum FramingHeader {
        case contentLength
        case transferEncoding
        case other

        init(name: UnsafeRawBufferPointer) {
            if Self.equalsIgnoringCase(name, "content-length") {
                self = .contentLength
            } else if Self.equalsIgnoringCase(name, "transfer-encoding") {
                self = .transferEncoding
            } else {
                self = .other
            }
        }

        private static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
            guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
            let expected = lowercase.utf8Start
            for index in 0..<bytes.count {
                let byte = bytes[index]
                let lowered = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
                if lowered != expected[index] { return false }
            }
            return true
        }
    }
}

/// A request part that would not reach the upstream as exactly one well-framed request.
enum UpstreamEncodingError: Error, Equatable {
    case invalidMethod
    case invalidTarget
    case invalidHeader
    case conflictingFraming
    case bodyWithoutFraming
    case bodyLongerThanContentLength
    case bodyShorterThanContentLength
    case headWhileMessageOpen
    case bodyOutsideMessage
}

@available(*, unavailable)
extension UpstreamRequestEncoder: Sendable {}
