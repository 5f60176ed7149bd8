import Testing

@testable import GatehouseCore

struct CanonicalPathTests {
    private func canonical(_ target: String) -> String? {
        (try? CanonicalPath.parse(target).get().canonicalPath).map(String.init)
    }

    @Test(arguments: [
        ("/_synapse/mas/query_user", "/_synapse/mas/query_user"),
        ("/_synapse/%6Das/query_user", "/_synapse/mas/query_user"),
        ("/_synapse/%6das/query_user", "/_synapse/mas/query_user"),
        ("/%5Fsynapse/mas/x", "/_synapse/mas/x"),
        ("/%5fsynapse/%6D%61%73/x", "/_synapse/mas/x"),
        ("//_synapse/mas/x", "/_synapse/mas/x"),
        ("/_synapse//mas/x", "/_synapse/mas/x"),
        ("/_synapse///mas", "/_synapse/mas"),
        ("/", "/"),
        ("//", "/"),
        ("/a/", "/a/"),
        ("/a//", "/a/"),
    ])
    func encodedVariantsShareOneCanonicalForm(target: String, expected: String) {
        #expect(canonical(target) == expected)
    }

    @Test(arguments: [
        // Separators and escapes stay encoded, with upper-case hex, so path structure cannot change.
        ("/rooms/!a%2fb/state/x", "/rooms/!a%2Fb/state/x"),
        ("/rooms/%23alias%3Aexample.org", "/rooms/%23alias:example.org"),
        ("/state/a%25b", "/state/a%25b"),
        ("/state/a%3fb", "/state/a%3Fb"),
        ("/state/a%20b", "/state/a%20b"),
        ("/users/%40alice%3Aexample.org", "/users/@alice:example.org"),
        ("/x/%C3%A9", "/x/%C3%A9"),
    ])
    func reservedCharactersStayEncoded(target: String, expected: String) {
        #expect(canonical(target) == expected)
    }

    /// What admission calls on the parser's origin-form targets gives what the full parse gives.
    @Test(arguments: [
        "/_matrix/client/v3/sync?since=s1_2&timeout=30000", "/_matrix/client/v3/sync", "/", "/?", "/a?b?c", "/a/?",
        "//_synapse/%6Das/x?access_token=t", "/rooms/!a%2fb/state?x=%20", "/x/%C3%A9?q", "/a//b/", "/_matrix/%2e/x?y",
        "/a/%zz?q", "/x/é/y?z=é", "/%3F?%3F",
    ])
    func aCheckedOriginParsesAsTheWholeTargetDoes(target: String) {
        let whole = CanonicalPath.parse(target)
        let checked = CanonicalPath.parse(checkedOrigin: target)
        #expect(checked == whole)
        if case .success(let parsed) = checked { #expect(parsed.forwardTarget == target[...]) }
    }

    @Test func forwardTargetKeepsTheClientsBytes() throws {
        let target = try CanonicalPath.parse("/_matrix/client/v3/rooms/!r%3Ax/state/m.room.topic/a%2Fb%23c%25d?access_token=t").get()
        #expect(target.forwardTarget == "/_matrix/client/v3/rooms/!r%3Ax/state/m.room.topic/a%2Fb%23c%25d?access_token=t")
        #expect(target.query == "access_token=t")
        #expect(target.canonicalPath == "/_matrix/client/v3/rooms/!r:x/state/m.room.topic/a%2Fb%23c%25d")
    }

    @Test(arguments: [
        ("/a/./b", RequestTargetError.dotSegment),
        ("/a/../_synapse/mas/x", .dotSegment),
        ("/_matrix/%2E%2E/_synapse/mas", .dotSegment),
        ("/_matrix/%2e/x", .dotSegment),
        ("/a/..", .dotSegment),
        ("/a/%", .badPercentEncoding),
        ("/a/%4", .badPercentEncoding),
        ("/a/%zz", .badPercentEncoding),
        ("/a/%00b", .controlCharacter),
        ("/a/%0Ab", .controlCharacter),
        ("/a/%7F", .controlCharacter),
        ("/a b", .controlCharacter),
        ("/a?x=1 HTTP/1.1\r\nHost: evil", .controlCharacter),
        ("/a?x=\u{7F}", .controlCharacter),
        ("/a?x=\t", .controlCharacter),
        ("/a#frag", .fragment),
        ("*", .notOriginForm),
        ("a/b", .notOriginForm),
        ("", .notOriginForm),
    ])
    func ambiguousTargetsAreRefused(target: String, error: RequestTargetError) {
        #expect(throws: error) { try CanonicalPath.parse(target).get() }
    }

    @Test func absoluteFormIsRoutedOnItsPath() throws {
        let target = try CanonicalPath.parse("https://matrix.example.org/_synapse/%6Das/x?y=1").get()
        #expect(target.canonicalPath == "/_synapse/mas/x")
        #expect(target.forwardTarget == "/_synapse/%6Das/x?y=1")
        #expect(throws: RequestTargetError.notOriginForm) { try CanonicalPath.parse("http://host?x").get() }
    }

    /// The one-scan shortcut must agree with the byte-by-byte canonicalization on every path it takes,
    /// and miss no unchanged path without an escape: a seeded run over paths made of the bytes that
    /// matter (separators, dots, escapes, space, UTF-8, DEL).
    @Test func theOneScanShortcutAgreesWithTheFullCanonicalization() {
        let pieces = ["/", "/", "a", "_matrix", ".", "..", "%2E", "%2F", "%", "%6d", "~", " ", "é", "!r:x", "?", "\u{7F}"]
        var generator = SplitMix64(seed: 9)
        var shortcuts = 0
        for _ in 0..<20_000 {
            var path = "/"
            for _ in 0..<Int(generator.next() % 7) { path += pieces[Int(generator.next() % UInt64(pieces.count))] }
            let slow = CanonicalPath.canonicalizeByteByByte(path[...])
            if CanonicalPath.isAlreadyCanonical(path[...]) {
                shortcuts += 1
                #expect(slow == .success(path), "\(path)")
            } else if !path.contains("%") {
                // Only escapes already in upper case (`%2F`) can be canonical and still take the long way.
                #expect(slow != .success(path), "\(path) is already canonical but takes the long way")
            }
        }
        #expect(shortcuts > 1_000, "the corpus exercises the shortcut")
        #expect(CanonicalPath.isAlreadyCanonical("/_matrix/client/v3/sync"))
        #expect(CanonicalPath.isAlreadyCanonical("/a/"))
        #expect(!CanonicalPath.isAlreadyCanonical("/a/./b"))
        #expect(!CanonicalPath.isAlreadyCanonical("/a/.."))
        #expect(!CanonicalPath.isAlreadyCanonical("//a"))
    }

    /// The query starts at the first `?` byte, as Twisted splits it, even when a combining mark
    /// follows it (which would hide the `?` from a search by Character).
    @Test func theQueryStartsAtTheFirstQuestionMarkByte() throws {
        let target = try CanonicalPath.parse("/_matrix/client/v3/sync?\u{301}&access_token=t").get()
        #expect(target.canonicalPath == "/_matrix/client/v3/sync")
        #expect(target.query == "\u{301}&access_token=t")
        #expect(target.forwardTarget == "/_matrix/client/v3/sync?\u{301}&access_token=t")
        let absolute = try CanonicalPath.parse("https://h.example/a?b?c").get()
        #expect(absolute.forwardTarget == "/a?b?c")
        #expect(absolute.query == "b?c")
        #expect(CanonicalPath.parse("https://h.example?x=/a") == .failure(.notOriginForm))
        #expect(CanonicalPath.parse("/a b#c") == .failure(.fragment))
        #expect(CanonicalPath.parse("/a?b c") == .failure(.controlCharacter))
    }

    @Test func dotsInsideSegmentsAreFine() {
        #expect(canonical("/_matrix/client/v3/rooms/m.room.name/state/...") == "/_matrix/client/v3/rooms/m.room.name/state/...")
        #expect(canonical("/.well-known/matrix/client") == "/.well-known/matrix/client")
    }
}

/// A small seeded generator (SplitMix64), so the corpus is the same on every run.
private struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
