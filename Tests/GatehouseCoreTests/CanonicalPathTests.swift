import Testing

@testable import GatehouseCore

struct CanonicalPathTests {
    private func canonical(_ target: String) -> String? {
        try? CanonicalPath.parse(target).get().canonicalPath
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

    @Test func dotsInsideSegmentsAreFine() {
        #expect(canonical("/_matrix/client/v3/rooms/m.room.name/state/...") == "/_matrix/client/v3/rooms/m.room.name/state/...")
        #expect(canonical("/.well-known/matrix/client") == "/.well-known/matrix/client")
    }
}
