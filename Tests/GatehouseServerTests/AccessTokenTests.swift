import GatehouseCore
import NIOCore
import NIOHTTP1
import Testing

@testable import GatehouseServer

/// Reading the access token as Synapse 1.163.2 on Twisted 26.10 does (``AccessToken``, ``SynapseQuery``):
/// every spelling Synapse reads is read, and every request where it could read something else is
/// ambiguous.
struct AccessTokenTests {
    static let token = "mct_abcdefghijklmnopqrstuvwxyz0123_0aB1c2"

    private func read(_ query: String?, _ headers: [(String, String)] = []) -> AccessToken.Reading {
        AccessToken.read(headers: HTTPHeaders(headers), query: query.map { Substring($0) })
    }

    /// What Twisted's `parse_qs(qs, 1)` followed by `args.get(b"access_token")[0]` gives.
    @Test(arguments: [
        // Plain, and names Twisted percent-decodes (either hex case).
        ("access_token=T", "T"),
        ("access%5Ftoken=T", "T"),
        ("access%5ftoken=T", "T"),
        ("%61ccess_token=T", "T"),
        ("%61%63%63%65%73%73%5F%74%6F%6B%65%6E=T", "T"),
        // Other items do not matter, however badly encoded; `;` separates items as `&` does.
        ("access_token=T&x=%zz", "T"),
        ("access_token=T&x=%ff", "T"),
        ("x=%zz&access_token=T", "T"),
        ("x=%&access_token=T&y=%f", "T"),
        ("x=1;access_token=T", "T"),
        ("x=1;access%5Ftoken=T", "T"),
        ("access_token=T;x=1", "T"),
        ("x&access_token=T", "T"),
        ("&&;access_token=T;&", "T"),
        // Valid escapes in the value decode as Synapse decodes them; uppercase or lowercase hex.
        ("access_token=%54", "T"),
        ("access_token=%4d%43%54", "MCT"),
        // `=` inside a value stays; empty values are kept (keep_blank_values=1).
        ("access_token==T", "=T"),
        ("access_token=", ""),
        ("x=1&access_token=", ""),
    ])
    func queryTokenIsReadAsSynapseReadsIt(query: String, expected: String) {
        #expect(read(query) == .token(expected), "\(query)")
    }

    @Test(arguments: [
        // No `=`, or names that do not decode to exactly `access_token`.
        "access_token", "x=1&access_token", "access+token=T", "access%20token=T", "Access_token=T", "ACCESS_TOKEN=T",
        "access_token%00=T", "access_tokenx=T", "xaccess_token=T", "access%5Gtoken=T", "access%_token=T", "",
        "since=s1&timeout=30000", "filter=%7B%7D", "q=100%25",
    ])
    func queriesWithoutAToken(query: String) {
        #expect(read(query) == .none, "\(query)")
    }

    @Test(arguments: [
        // Several values: Synapse takes the first, other readers the last or none.
        "access_token=T&access_token=T",
        "access_token=T&access_token=U",
        "access_token=&access_token=T",
        "access_token=T;access_token=U",
        "access_token=T&access%5Ftoken=U",
        "%61ccess_token=T&access_token=U",
        // Values not every decoder reads alike: `+`, malformed escapes; and non-ASCII after decoding.
        "access_token=T+",
        "access_token=%2",
        "access_token=T%zz",
        "access_token=%ff",
        "access_token=%C3%A9",
    ])
    func ambiguousQueries(query: String) {
        guard case .ambiguous = read(query) else {
            Issue.record("\(query) must be ambiguous, got \(read(query))")
            return
        }
    }

    @Test func headersAreReadAsSynapseReadsThem() {
        let t = Self.token
        #expect(read(nil, [("Authorization", "Bearer \(t)")]) == .token(t))
        #expect(read(nil, [("authorization", "Bearer \(t)")]) == .token(t), "header names are case-insensitive")
        #expect(read("", [("AUTHORIZATION", "Bearer \(t)")]) == .token(t))
        #expect(read("since=1", [("Authorization", "Bearer \(t)")]) == .token(t))
        // Twisted strips spaces and tabs around a value before Synapse splits it.
        #expect(read(nil, [("Authorization", "  Bearer \(t)\t")]) == .token(t))
        // A token with odd bytes is still what Synapse reads (its own check refuses it later).
        #expect(read(nil, [("Authorization", "Bearer a\tb")]) == .token("a\tb"))
        // Other schemes carry no access token: federation signatures, Basic, ...
        #expect(read(nil, [("Authorization", "X-Matrix origin=a,key=\"ed25519:1\",sig=\"x\"")]) == .none)
        #expect(read(nil, [("Authorization", "X-Matrix origin=a"), ("Authorization", "X-Matrix origin=b")]) == .none)
        #expect(read(nil, [("Authorization", "Basic YWxpY2U6cGFzcw==")]) == .none)
        #expect(read(nil, [("Authorization", "Bearerabc")]) == .none)
        #expect(read(nil, [("Authorization", "")]) == .none)
    }

    @Test(arguments: [
        // Synapse needs exactly `Bearer`, one space, and a token without spaces.
        [("Authorization", "bearer \(AccessTokenTests.token)")],
        [("Authorization", "BEARER \(AccessTokenTests.token)")],
        [("Authorization", "Bearer  \(AccessTokenTests.token)")],
        [("Authorization", "Bearer\t\(AccessTokenTests.token)")],
        [("Authorization", "Bearer \(AccessTokenTests.token) x")],
        [("Authorization", "Bearer")],
        [("Authorization", "Bearer ")],
        [("Authorization", "Bearer tökén")],
        // Two headers: Synapse refuses, other readers take either.
        [("Authorization", "Bearer \(AccessTokenTests.token)"), ("Authorization", "Bearer \(AccessTokenTests.token)")],
        [("Authorization", "Bearer \(AccessTokenTests.token)"), ("Authorization", "Bearer other")],
        [("Authorization", "Bearer \(AccessTokenTests.token)"), ("Authorization", "Basic YWxpY2U6cGFzcw==")],
        [("Authorization", "X-Matrix origin=a"), ("authorization", "Bearer \(AccessTokenTests.token)")],
    ])
    func ambiguousHeaders(headers: [(String, String)]) {
        guard case .ambiguous = read(nil, headers) else {
            Issue.record("\(headers) must be ambiguous, got \(read(nil, headers))")
            return
        }
    }

    @Test func headerAndQueryTogetherAreAmbiguous() {
        let t = Self.token
        for query in ["access_token=\(t)", "access_token=", "access%5Ftoken=\(t)", "x=1;access_token=other"] {
            #expect(read(query, [("Authorization", "Bearer \(t)")]) == .ambiguous(AccessToken.Message.mixing), "\(query)")
            #expect(read(query, [("Authorization", "Basic YWxpY2U6cGFzcw==")]) == .ambiguous(AccessToken.Message.mixing), "\(query)")
        }
        #expect(read("access_token", [("Authorization", "Bearer \(t)")]) == .token(t), "no `=`: Twisted drops the item")
    }

    @Test func formBodiesWithoutAnAuthorizationHeaderMayCarryAToken() {
        func carrier(_ method: HTTPMethod, _ headers: [(String, String)]) -> AccessToken.BodyCarrier {
            AccessToken.bodyCarrier(method: method, headers: HTTPHeaders(headers))
        }
        let form = ("Content-Type", "application/x-www-form-urlencoded")
        #expect(carrier(.POST, [form, ("Content-Length", "20")]) == .form)
        #expect(carrier(.POST, [form, ("Transfer-Encoding", "chunked")]) == .form)
        #expect(carrier(.POST, [("content-type", "APPLICATION/X-WWW-FORM-URLENCODED; charset=utf-8")]) == .form)
        #expect(
            carrier(.POST, [("Content-Type", "=?utf-8?b?YXBwbGljYXRpb24veC13d3ctZm9ybS11cmxlbmNvZGVk?=")]) == .unreadable,
            "Python's email decodes RFC 2047 words")
        #expect(carrier(.POST, [("Content-Type", "multipart/form-data; boundary=x")]) == .unreadable)
        #expect(carrier(.POST, [form, ("Content-Type", "multipart/form-data; boundary=x")]) == .unreadable, "multipart anywhere wins")
        #expect(carrier(.POST, [("Content-Type", "application/json"), form]) == .form, "any Content-Type header counts")
        #expect(carrier(.POST, [form, ("Content-Length", "0")]) == .none, "Twisted parses only a non-empty body")
        #expect(carrier(.POST, [form, ("Authorization", "Bearer \(Self.token)")]) == .none, "a body token would only make Synapse refuse (Mixing)")
        #expect(carrier(.PUT, [form]) == .none, "Twisted parses POST bodies only")
        #expect(carrier(.GET, [form]) == .none)
        #expect(carrier(.POST, [("Content-Type", "application/json")]) == .none)
        #expect(carrier(.POST, [("Content-Type", "image/png")]) == .none)
        #expect(carrier(.POST, []) == .none)
    }

    @Test func aFormBodyIsReadLikeTheQueryAndMayNotRepeatIt() {
        let t = Self.token
        func read(_ head: AccessToken.Reading, _ body: String) -> AccessToken.Reading {
            AccessToken.read(headReading: head, formBody: ByteBuffer(string: body))
        }
        // RFC 8058 one-click unsubscribe: no token in the body, the query's (Synapse's own) stands.
        #expect(read(.token("macaroon"), "List-Unsubscribe=One-Click") == .token("macaroon"))
        #expect(read(.none, "List-Unsubscribe=One-Click") == .none)
        #expect(read(.none, "") == .none)
        // The body's token is the one Synapse reads, in every spelling Twisted decodes.
        #expect(read(.none, "access_token=\(t)") == .token(t))
        #expect(read(.none, "a=1&access%5Ftoken=\(t)") == .token(t))
        #expect(read(.none, "a=1;access_token=\(t)&b") == .token(t))
        // More than one candidate is refused, never guessed.
        #expect(read(.none, "access_token=\(t)&access_token=other") == .ambiguous(AccessToken.Message.repeatedBody))
        #expect(read(.token(t), "access_token=\(t)") == .ambiguous(AccessToken.Message.queryAndBody))
        #expect(read(.none, "access_token=%FF") == .ambiguous(AccessToken.Message.notASCII))
    }

    @Test func logoutExtractionIsTheSameReading() throws {
        let t = Self.token
        #expect(try AccessToken.extract(headers: ["Authorization": "Bearer \(t)"], query: nil).get() == t)
        #expect(try AccessToken.extract(headers: [:], query: "access%5Ftoken=\(t)").get() == t)
        #expect(try AccessToken.extract(headers: [:], query: "x=1;access_token=\(t)").get() == t)
        for (headers, query) in [
            (HTTPHeaders(), "access_token=\(t)&access_token=\(t)"), (["Authorization": "bearer \(t)"], nil),
            (["Authorization": "Bearer \(t)"], "access_token=\(t)"), (HTTPHeaders(), nil), (["Authorization": "Basic x"], nil),
        ] as [(HTTPHeaders, Substring?)] {
            #expect(throws: (any Error).self) { try AccessToken.extract(headers: headers, query: query).get() }
        }
    }

    @Test func synapseQueryDecodesLikeUnquoteToBytes() {
        func decode(_ text: String) -> [UInt8] { Array(text.utf8).withUnsafeBytes { SynapseQuery.decode($0) } }
        #expect(decode("a+b%20c") == Array("a b c".utf8))
        #expect(decode("%2B") == Array("+".utf8), "an escaped plus is a plus")
        #expect(decode("%zz%4") == Array("%zz%4".utf8), "malformed escapes stay as they are")
        #expect(decode("%+1") == Array("% 1".utf8))
        #expect(decode("%fF%Ff") == [0xFF, 0xFF])
        #expect(decode("") == [])
        func items(_ text: String) -> [String] {
            var found: [String] = []
            Array(text.utf8).withUnsafeBytes { buffer in
                SynapseQuery.forEachItem(in: buffer) { item in
                    found.append(String(decoding: buffer[item.start..<item.end], as: UTF8.self))
                    return true
                }
            }
            return found
        }
        #expect(items("a=1&b;c=2;;d=&=e&f==") == ["a=1", "c=2", "d=", "=e", "f=="])
    }

    @Test func accessLogRedactsEverySpellingOfACredential() {
        #expect(AccessLog.redact(query: "access_token=syt_secret&timeout=30000") == "access_token=[redacted]&timeout=30000")
        #expect(AccessLog.redact(query: "since=s1&code=abc&state=xyz&flag") == "since=s1&code=[redacted]&state=[redacted]&flag")
        #expect(AccessLog.redact(query: "access%5Ftoken=s&%61ccess_token=s") == "access%5Ftoken=[redacted]&%61ccess_token=[redacted]")
        #expect(AccessLog.redact(query: "x=1;access_token=s;y=2") == "x=1;access_token=[redacted];y=2")
        #expect(AccessLog.redact(query: "loginToken=s&login_token=s&LOGINTOKEN=s") == "loginToken=[redacted]&login_token=[redacted]&LOGINTOKEN=[redacted]")
        #expect(AccessLog.redact(query: "redirectUrl=https%3A%2F%2Fapp&loginToken=s") == "redirectUrl=https%3A%2F%2Fapp&loginToken=[redacted]")
        #expect(
            AccessLog.redact(query: "refresh_token=s&id_token_hint=s&code_verifier=s&session=s&client_secret=s&token=s")
                == "refresh_token=[redacted]&id_token_hint=[redacted]&code_verifier=[redacted]&session=[redacted]&client_secret=[redacted]&token=[redacted]")
        #expect(AccessLog.redact(query: "access_token==s=&x=%zz") == "access_token=[redacted]&x=%zz")
        #expect(AccessLog.redact(query: "access_token&x") == "access_token&x", "no value, nothing to hide")
        #expect(AccessLog.redact(query: "") == "")
    }
}
