import GatehouseCore
import GatehouseIdentity
import NIOCore
import NIOHTTP1

/// The access token of a Client-Server API request, read exactly as Synapse reads it.
///
/// Synapse 1.163.2, `synapse/api/auth/base.py` `get_access_token_from_request`, on Twisted's view of
/// the request:
///
/// - `Authorization` headers (any number, any name case; Twisted strips spaces and tabs around each
///   value) and the `access_token` query argument (every spelling ``SynapseQuery`` decodes to that
///   name; its value decoded the same way) are looked at;
/// - both present: refused ("Mixing Authorization headers and access_token query parameters.");
///   more than one header: refused ("Too many Authorization headers."); otherwise the one header must
///   split on single spaces into exactly `Bearer` and the token (case and spacing matter);
/// - no header: the **first** `access_token` value is the token; anything but ASCII fails.
///
/// Gatehouse answers for Synapse at the edge, so it has to read the same token or refuse: a request
/// where Synapse might read more than one candidate, or one that readers could decode differently, is
/// ``Reading/ambiguous(_:)`` and never forwarded. The common case (one `Bearer` header and a query
/// with neither `%` nor `access_token=` in it) allocates nothing but the token itself.
enum AccessToken {
    /// What Synapse would take as the access token of a request.
    enum Reading: Equatable {
        /// Synapse finds no access token: no `access_token` argument, and no `Authorization` header
        /// of the `Bearer` scheme in any letter case (other schemes, such as federation's `X-Matrix`
        /// signatures or `Basic`, carry none: Synapse's Client-Server auth refuses them).
        case none
        /// The one token Synapse reads, byte for byte.
        case token(String)
        /// The one token Synapse reads, as it arrived: a slice of the head's buffer. Only the
        /// byte-level reader (``read(_:in:)``) says so, for an `Authorization` header's token that may
        /// be one of Gatehouse's: the edge check hashes it where it is.
        case tokenBytes(ByteBuffer)
        /// The one token Synapse reads, which cannot be one of Gatehouse's access tokens (an
        /// appservice's `as_token`, a refresh token, anything else: ``TokenFormat/mayBeAccessToken(_:)``),
        /// so it is Synapse's to judge. Only the byte-level reader (``read(_:in:)``) says so, without
        /// building a `String` of the token; the others say ``token(_:)`` for every token.
        case foreign
        /// More than one candidate, or one not every reader decodes alike: refuse with this message.
        case ambiguous(String)
    }

    /// Reads the access token the way Synapse does.
    /// - Parameters:
    ///   - headers: the request headers as they will be forwarded.
    ///   - query: the query string, without `?`.
    static func read(headers: HTTPHeaders, query: Substring?) -> Reading {
        var headerCount = 0
        var bearerLike = 0
        var header: Substring.UTF8View?
        for field in headers where isAuthorization(field.name) {
            headerCount += 1
            let value = twistedStripped(field.value)
            if isBearerLike(value) { bearerLike += 1 }
            header = value
        }
        var queryCount = 0
        var firstQueryValue: Reading = .none
        if let query {
            (queryCount, firstQueryValue) = queryToken(query)
        }

        if headerCount > 0 && queryCount > 0 { return .ambiguous(Message.mixing) }
        if let header {
            if headerCount > 1 { return bearerLike > 0 ? .ambiguous(Message.tooManyHeaders) : .none }
            return bearerToken(header)
        }
        if queryCount > 1 { return .ambiguous(Message.repeatedQuery) }
        return firstQueryValue
    }

    /// The token for the logout endpoints, which Gatehouse answers itself but reads like Synapse so
    /// that a token means the same thing on every route.
    /// - Parameters:
    ///   - headers: the request headers.
    ///   - query: the query string, without `?`.
    static func extract(headers: HTTPHeaders, query: Substring?) -> Result<String, CompatError> {
        switch read(headers: headers, query: query) {
        case .token(let token): .success(token)
        // `.tokenBytes` and `.foreign` come from the byte-level reader only.
        case .tokenBytes(let bytes): .success(String(buffer: bytes))
        case .none, .ambiguous, .foreign: .failure(.missingToken)
        }
    }

    /// Whether Synapse may read an `access_token` from the request **body**, and whether Gatehouse can
    /// read it the same way.
    ///
    /// Twisted adds the fields of a non-empty `POST` body to the query arguments (replacing theirs)
    /// when the first `Content-Type` is `application/x-www-form-urlencoded` as Python's `email` package
    /// parses it (case-insensitive, and RFC 2047 encoded words are decoded, so `=?utf-8?b?…?=` can be
    /// one); `multipart/form-data` too, which Synapse aborts today but only on a plain spelling. With
    /// an `Authorization` header present a body token only makes Synapse refuse ("Mixing"), so only
    /// requests without one are in question.
    enum BodyCarrier: Equatable {
        /// Synapse reads nothing from the body.
        case none
        /// A form-encoded body: Gatehouse reads it whole (``read(headReading:formBody:)``) before it
        /// decides, as mail clients' one-click unsubscribe `POST`s (RFC 8058) need.
        case form
        /// A body Gatehouse will not parse like Python would (multipart, an encoded `Content-Type`):
        /// refused.
        case unreadable
    }

    /// The largest form-encoded body without an `Authorization` header that the edge reads for a
    /// token; a larger one is refused (413) rather than forwarded unread.
    static let formBodyLimit = 64 * 1024

    /// Where Synapse may find a token in the body of this request.
    /// - Parameters:
    ///   - method: the request method.
    ///   - headers: the request headers.
    static func bodyCarrier(method: HTTPMethod, headers: HTTPHeaders) -> BodyCarrier {
        guard method == .POST else { return .none }
        var carrier = BodyCarrier.none
        for field in headers {
            if isAuthorization(field.name) { return .none }
            if equalsIgnoringCase(field.name.utf8, "content-length"), field.value == "0" { return .none }
            if equalsIgnoringCase(field.name.utf8, "content-type") {
                let value = field.value.utf8
                if contains(value, "multipart") || contains(value, "=?") {
                    carrier = .unreadable
                } else if contains(value, "form-urlencoded"), carrier == .none {
                    carrier = .form
                }
            }
        }
        return carrier
    }

    /// The token Synapse reads from a request whose form-encoded body has arrived whole.
    ///
    /// Twisted parses the body like a query and replaces the query's arguments of the same name, so an
    /// `access_token` in the body is the one Synapse reads. Gatehouse is stricter: one in the query and
    /// one in the body is ambiguous, not "the body wins".
    /// - Parameters:
    ///   - headReading: ``read(headers:query:)`` of the head (no `Authorization` header: see
    ///     ``BodyCarrier``), never ambiguous.
    ///   - formBody: the whole body.
    static func read(headReading: Reading, formBody: ByteBuffer) -> Reading {
        let (count, first) = formBody.withUnsafeReadableBytes { queryToken(in: $0) }
        if count == 0 { return headReading }
        if headReading != .none { return .ambiguous(Message.queryAndBody) }
        if count > 1 { return .ambiguous(Message.repeatedBody) }
        return first
    }

    /// Synapse's messages where they exist (`MissingClientTokenError`), Gatehouse's otherwise.
    enum Message {
        static let mixing = "Mixing Authorization headers and access_token query parameters."
        static let tooManyHeaders = "Too many Authorization headers."
        static let invalidHeader = "Invalid Authorization header."
        static let repeatedQuery = "More than one access_token query parameter."
        static let unclearQuery = "The access_token query parameter must be plain ASCII with only %XX escapes."
        static let notASCII = "The access token must be ASCII."
        static let formBody = "Send the access token in an Authorization header: multipart or encoded form bodies may not carry one here."
        static let queryAndBody = "An access_token in both the query and the form body."
        static let repeatedBody = "More than one access_token in the form body."
    }

    // MARK: Header

    /// The token of a `Bearer` header exactly as Synapse splits it: `value.split(b" ")` must give
    /// `[b"Bearer", token]`. Any other use of the scheme (`bearer`, two spaces, a tab, nothing after
    /// it) is read differently by other parsers, so it is ambiguous; other schemes (`Basic`, federation's
    /// `X-Matrix`) carry no access token.
    private static func bearerToken(_ value: Substring.UTF8View) -> Reading {
        guard isBearerLike(value) else { return .none }
        let prefix = "Bearer ".utf8
        guard value.starts(with: prefix) else { return .ambiguous(Message.invalidHeader) }
        let token = value.dropFirst(prefix.count)
        guard !token.contains(UInt8(ascii: " ")) else { return .ambiguous(Message.invalidHeader) }
        guard token.allSatisfy({ $0 < 0x80 }) else { return .ambiguous(Message.notASCII) }
        return .token(String(Substring(token)))
    }

    /// Whether the first word of the value is `bearer` in any case.
    private static func isBearerLike(_ value: Substring.UTF8View) -> Bool {
        let word = value.prefix { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }
        return equalsIgnoringCase(word, "bearer")
    }

    /// The value as Twisted stores it: spaces and tabs at both ends removed (`data.strip(b" \t")`).
    private static func twistedStripped(_ value: String) -> Substring.UTF8View {
        let isBlank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        var view = value[...].utf8
        while let first = view.first, isBlank(first) { view = view.dropFirst() }
        while let last = view.last, isBlank(last) { view = view.dropLast() }
        return view
    }

    private static func isAuthorization(_ name: String) -> Bool {
        equalsIgnoringCase(name.utf8, "authorization")
    }

    // MARK: Query

    private static let parameterName: [UInt8] = Array("access_token".utf8)

    /// How many `access_token` arguments Twisted finds, and the first one's reading.
    private static func queryToken(_ query: Substring) -> (count: Int, first: Reading) {
        if let result = query.utf8.withContiguousStorageIfAvailable({ queryToken(in: UnsafeRawBufferPointer($0)) }) { return result }
        return Array(query.utf8).withUnsafeBytes { queryToken(in: $0) }
    }

    /// ``queryToken(_:)`` on the query's bytes (also read straight from a received buffer).
    static func queryToken(in bytes: UnsafeRawBufferPointer) -> (count: Int, first: Reading) {
        guard mayNameParameter(bytes) else { return (0, .none) }
        var count = 0
        var first = Reading.none
        parameterName.withUnsafeBytes { name in
            SynapseQuery.forEachItem(in: bytes) { item in
                guard SynapseQuery.decodes(UnsafeRawBufferPointer(rebasing: bytes[item.start..<item.equals]), to: name) else { return true }
                count += 1
                if count == 1 { first = queryValue(UnsafeRawBufferPointer(rebasing: bytes[(item.equals + 1)..<item.end])) }
                return count < 2
            }
        }
        return (count, first)
    }

    /// A cheap test that is `false` only when no item can name `access_token`.
    ///
    /// Sound because Twisted decodes a name with nothing but `+` → space and `%XX` escapes: without any
    /// `%` in the query, the only bytes that decode to `access_token` (which has no space) are those
    /// same twelve bytes, and a kept item has its `=` right after its name, so the query contains
    /// `access_token=`. Any `%` sends the query to the full walk, which allocates nothing either.
    private static func mayNameParameter(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let literal = "access_token=".utf8
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") { return true }
            if byte == UInt8(ascii: "a"), bytes.count - index >= literal.count,
                UnsafeRawBufferPointer(rebasing: bytes[index..<(index + literal.count)]).elementsEqual(literal)
            {
                return true
            }
            index += 1
        }
        return false
    }

    /// The token an `access_token` value decodes to, or why it is ambiguous.
    private static func queryValue(_ raw: UnsafeRawBufferPointer) -> Reading {
        guard SynapseQuery.isPlainlyEncoded(raw) else { return .ambiguous(Message.unclearQuery) }
        let decoded = SynapseQuery.decode(raw)
        guard decoded.allSatisfy({ $0 < 0x80 }) else { return .ambiguous(Message.notASCII) }
        return .token(String(decoding: decoded, as: UTF8.self))
    }

    // MARK: Bytes

    /// ASCII case-insensitive equality with a lower-case literal.
    private static func equalsIgnoringCase(_ bytes: some Collection<UInt8>, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        return zip(bytes, UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)).allSatisfy { lowered($0) == $1 }
    }

    /// Whether `bytes` contain the lower-case ASCII `needle`, ignoring case.
    private static func contains(_ bytes: String.UTF8View, _ needle: StaticString) -> Bool {
        let pattern = UnsafeBufferPointer(start: needle.utf8Start, count: needle.utf8CodeUnitCount)
        var rest = bytes[...]
        while rest.count >= pattern.count {
            if zip(rest, pattern).allSatisfy({ lowered($0) == $1 }) { return true }
            rest = rest.dropFirst()
        }
        return false
    }

    private static func lowered(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }
}
