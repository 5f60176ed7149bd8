import NIOCore
import NIOHTTP1

@testable import GatehouseServer

// A reference implementation kept for the differential tests: production code no longer uses it
// (issue 9 moved both protocols onto the byte-level head; see docs/architecture.md).
extension UpstreamRequestWriter {
    /// Starts a request with the bytes of `head`, whose framing headers decide how the body is written
    /// (what ``HeaderRewriter``'s heads went through before ``UpstreamRequestHeadWriter``).
    /// - Parameters:
    ///   - head: the head to send (already rewritten by ``HeaderRewriter``).
    ///   - allocator: for the head's buffer.
    mutating func head(_ head: HTTPRequestHead, allocator: ByteBufferAllocator) throws(UpstreamEncodingError) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: HeaderRewriter.serializedSize(of: head))
        let framing = try Self.serialize(head, into: &buffer)
        switch framing {
        case .none: try self.head(announcing: .none)
        case .length(let remaining): try self.head(announcing: .contentLength(remaining))
        case .chunked: try self.head(announcing: .chunked)
        }
        return buffer
    }

    /// Writes `METHOD SP target SP HTTP/1.1 CRLF`, the headers and the blank line; returns the framing
    /// the headers announce.
    ///
    /// Every piece is copied in first and its bytes checked where they landed: one tight loop over
    /// contiguous memory each, instead of walking each string's UTF-8 view.
    static func serialize(_ head: HTTPRequestHead, into buffer: inout ByteBuffer) throws(UpstreamEncodingError) -> Framing {
        guard appendChecked(head.method.rawValue, to: &buffer, HTTPFieldSyntax.isToken) else { throw .invalidMethod }
        buffer.writeInteger(UInt8(ascii: " "))
        guard appendChecked(head.uri, to: &buffer, { !$0.isEmpty && HTTPFieldSyntax.isTarget($0) }) else {
            throw .invalidTarget
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
                throw .invalidHeader
            }
            switch kind {
            case .contentLength:
                guard case .none = framing, let length = Int(value), length >= 0 else { throw .conflictingFraming }
                framing = .length(remaining: length)
            case .transferEncoding:
                guard case .none = framing, value == "chunked" else { throw .conflictingFraming }
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
