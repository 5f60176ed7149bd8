/// Request and response heads for the byte-level parser tests: valid ones, every smuggling shape of the
/// security requirements (ambiguous framing, bare LF/CR, obs-fold, control bytes, hosts) and of the
/// framing tests, and seeded random variants of both.
enum HTTP1Corpus {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// Heads a strict parser accepts.
    static let validRequests: [[UInt8]] = [
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /_matrix/client/v3/sync?since=s72594_4483_1934&timeout=30000&filter=%7B%22room%22%3A%7B%7D%7D HTTP/1.1\r\nHost: matrix.example.org\r\nAuthorization: Bearer syt_YWxpY2U_TGhbGTLXNnRmOYvkjodM_1mCNv7\r\nUser-Agent: Element/1.11 (Linux)\r\nAccept: application/json\r\nAccept-Encoding: gzip, deflate, br\r\nAccept-Language: en-GB,en;q=0.9\r\nConnection: keep-alive\r\n\r\n",
        #"GET /raw/sync?filter={"room":{"timeline":{"limit":1}}} HTTP/1.1"# + "\r\nHost: localhost\r\n\r\n",
        #"GET /raw/x?a=|\^`&b=%zz HTTP/1.1"# + "\r\nHost: localhost\r\n\r\n",
        "POST /_matrix/client/v3/rooms/%21a%3Ab/send/m.room.message/txn1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
        "PUT /_matrix/media/v3/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "PUT /upload HTTP/1.1\r\nHost: x\r\ntransfer-encoding: CHUNKED\r\n\r\n",
        "GET / HTTP/1.0\r\n\r\n",
        "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: x\r\nConnection: Keep-Alive, X-Hop\r\nX-Hop: 1\r\nAuthorization: Bearer a\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: x\r\nConnection: Authorization\r\nAuthorization: Bearer a\r\n\r\n",
        "GET http://Good.Example/raw/b HTTP/1.1\r\nHost: good.example\r\n\r\n",
        "GET https://h:8448/x?y=1 HTTP/1.1\r\nHost: h:8448\r\n\r\n",
        "POST /login HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
        "POST /login HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 0\r\n\r\n",
        "POST /x HTTP/1.1\r\nHost: x\r\n\r\n",
        "DELETE /x HTTP/1.1\r\nHost: x\r\nContent-Length: 005\r\n\r\n12345",
        "OPTIONS /x HTTP/1.1\r\nHost: x\r\nOrigin: https://app.element.io\r\nAccess-Control-Request-Method: POST\r\n\r\n",
        "PATCH /x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
        "HEAD /x HTTP/1.1\r\nHost: x\r\n\r\n",
        "PROPFIND /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
        "M-SEARCH /x HTTP/1.1\r\nHost: x\r\n\r\n",
        "QUERY /x HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: x\r\nX-Empty:\r\nX-Spaces:   a b  \r\nX-Tab:\tv\t\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 6.6.6.6\r\nX-Real-IP: 1.2.3.4\r\nForwarded: for=1.1.1.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: evil\r\nX-Forwarded-Port: 1\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: x\r\nTE: trailers\r\nUpgrade: websocket\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nProxy-Authorization: Basic a\r\nTrailer: X\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: x\r\nProxy-Connection: close\r\n\r\n",
        "\r\nGET /x HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost:\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: [::1]:8008\r\n\r\n",
        "GET /a/../b HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /_synapse/%6Das/x HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /x?access_token=syt_abc&b=c HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /x?acc%65ss_token=syt_abc HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: x\r\nX-Obs-Text: caf\u{e9}\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: x\r\n" + (0..<40).map { "X-H\($0): v\($0)\r\n" }.joined() + "\r\n",
        "GET /x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\nauthorization: Bearer b\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: x\r\nCookie: a=b; c=d\r\nAccept: */*\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: x\r\nX-Trailing: a \t\r\n\r\n",
    ].map(bytes) + [
        // Non-UTF-8 obs-text in a value.
        Array("GET /x HTTP/1.1\r\nHost: x\r\nX-Bin: ".utf8) + [0x80, 0xFF, 0xC3] + Array("\r\n\r\n".utf8)
    ]

    /// Smuggling and malformed shapes: each must be refused (or, for some, at least never forwarded
    /// as anything but what llhttp plus the gateway's checks make of it).
    static let hostileRequests: [[UInt8]] = [
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nhello",
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello",
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0x5\r\n\r\nhello",
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5 5\r\n\r\nhello",
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 9223372036854775808\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello",
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \u{0B}chunked\r\n\r\n0\r\n\r\n",
        "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "GET /echo HTTP/1.1\nHost: x\n\n",
        "GET /echo HTTP/1.1\r\nHost: x\n\r\n",
        "GET /echo HTTP/1.1\r\nHost: x\r\n\n",
        "GET /echo HTTP/1.1\rHost: x\r\n\r\n",
        "GET /echo HTTP/1.1\r\nHost: x\rX: y\r\n\r\n",
        "GET /echo HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n  b\r\n\r\n",
        "GET /echo HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n\tb\r\n\r\n",
        "GET /echo HTTP/1.1\r\n Host: x\r\n\r\n",
        "GET /echo HTTP/1.1\r\n\r\n",
        "GET /echo HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n",
        "GET /echo HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n",
        "GET /echo HTTP/1.1\r\nHost: x\r\n: empty-name\r\n\r\n",
        "GET /echo HTTP/1.1\r\nHost: x\r\nX-Nul: a\u{0}b\r\n\r\n",
        "GET /echo HTTP/1.1\r\nHost: x\r\nX\u{0}Nul: a\r\n\r\n",
        "GET /echo HTTP/1.1\r\nHost: x\r\nX-Del: a\u{7F}b\r\n\r\n",
        "GET /echo HTTP/1.1\r\nHost: x\r\nX-Ctl: a\u{1}b\r\n\r\n",
        "GET /echo HTTP/1.1\r\nHost: x\r\nX\u{e9}: a\r\n\r\n",
        "GET  /echo HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /echo  HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET\t/echo HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /echo HTTP/1.1 \r\nHost: x\r\n\r\n",
        "GET /echo\r\nHost: x\r\n\r\n",
        "GET /e cho HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /echo HTTP/1.2\r\nHost: x\r\n\r\n",
        "GET /echo HTTP/2.0\r\nHost: x\r\n\r\n",
        "GET /echo HTTP/0.9\r\nHost: x\r\n\r\n",
        "GET /echo http/1.1\r\nHost: x\r\n\r\n",
        "GET /echo HTTP/1.10\r\nHost: x\r\n\r\n",
        "GET /echo HTTP/11\r\nHost: x\r\n\r\n",
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "get /echo HTTP/1.1\r\nHost: x\r\n\r\n",
        "FOO /echo HTTP/1.1\r\nHost: x\r\n\r\n",
        "G(T /echo HTTP/1.1\r\nHost: x\r\n\r\n",
        "TRACE /raw/first HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "TRACE /raw/first HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello",
        "CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET echo HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /echo#frag HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /raw/x?name=caf\u{e9} HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /raw/\u{7F} HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /raw/a HTTP/1.1\r\nHost: good.example\r\nHost: evil.example\r\n\r\n",
        "GET /raw/a HTTP/1.1\r\nHost: good.example\r\nHost: good.example\r\n\r\n",
        "GET /raw/a HTTP/1.1\r\nHost: good.example/evil\r\n\r\n",
        "GET /raw/a HTTP/1.1\r\nHost: good example\r\n\r\n",
        "GET http://evil.example/raw/a HTTP/1.1\r\nHost: good.example\r\n\r\n",
        "GET http://user@good.example/raw/a HTTP/1.1\r\nHost: good.example\r\n\r\n",
        "GET http://good.example?x=/a HTTP/1.1\r\nHost: good.example\r\n\r\n",
        "GET http://good.example HTTP/1.1\r\nHost: good.example\r\n\r\n",
        "GET HTTP://good.example/a HTTP/1.1\r\nHost: good.example\r\n\r\n",
        "GET ftp://good.example/a HTTP/1.1\r\nHost: good.example\r\n\r\n",
        "GET http:///a HTTP/1.0\r\n\r\n",
        "\n\nGET /x HTTP/1.1\r\nHost: x\r\n\r\n",
        " GET /x HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: x \r\n\r\n",
        "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5 \r\n\r\nhello",
        "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked \r\n\r\n0\r\n\r\n",
    ].map(bytes)

    /// Response heads for the response parser (with the request method they answer).
    static let responses: [(method: String, bytes: [UInt8])] = [
        ("GET", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"),
        ("GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"),
        ("GET", "HTTP/1.1 200 OK\r\n\r\n"),
        ("GET", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"),
        ("GET", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"),
        ("GET", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"),
        ("GET", "HTTP/1.1 204 No Content\r\n\r\n"),
        ("GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"),
        ("HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"),
        ("GET", "HTTP/1.1 100 Continue\r\n\r\n"),
        ("GET", "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n"),
        ("GET", "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n"),
        ("GET", "HTTP/1.1 499 Client Closed\r\nContent-Length: 0\r\n\r\n"),
        ("GET", "HTTP/1.1 200 OK\r\nConnection: X-Hop, keep-alive\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nStrict-Transport-Security: max-age=1\r\nContent-Length: 0\r\n\r\n"),
        ("GET", "HTTP/1.1 200 OK\r\nSet-Cookie: a=b\r\nSet-Cookie: c=d\r\nContent-Length: 0\r\n\r\n"),
        ("GET", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx"),
        ("GET", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"),
        ("GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
        ("GET", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"),
        ("GET", "HTTP/1.1 200 OK\nContent-Length: 0\n\n"),
        ("GET", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n"),
        ("GET", "HTTP/1.1 200 OK\r\nX : a\r\nContent-Length: 0\r\n\r\n"),
        ("GET", "HTTP/1.1 200 OK\r\nX: a\u{0}\r\nContent-Length: 0\r\n\r\n"),
        ("GET", "HTTP/1.1 200 O\u{1}K\r\nContent-Length: 0\r\n\r\n"),
        ("GET", "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n"),
        ("GET", "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n"),
        ("GET", "HTTP/1.1 099 OK\r\nContent-Length: 0\r\n\r\n"),
        ("GET", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"),
        ("GET", "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"),
        ("GET", "HTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n"),
        ("GET", "HTTP/1.1 200 OK\rContent-Length: 0\r\n\r\n"),
    ].map { ($0.0, bytes($0.1)) }
}

/// A deterministic generator (SplitMix64), so a fuzz failure can be replayed from its seed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Mutations of a head, aimed at the places parsers disagree: line ends, whitespace, case, framing
/// numbers, duplicated lines.
enum HTTP1Mutator {
    static let interestingBytes: [UInt8] = [
        0x00, 0x01, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x22, 0x23, 0x25, 0x2C, 0x2F, 0x3A, 0x3B, 0x3F, 0x40, 0x5C, 0x7F, 0x80, 0xC3, 0xFF,
        UInt8(ascii: "a"), UInt8(ascii: "Z"), UInt8(ascii: "0"), UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
    ]
    static let insertions: [[UInt8]] = [
        "\r\n", "\n", "\r", " ", "\t", ": ", ",", "Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n", "Host: y\r\n",
        "Content-Length: 99999999999999999999\r\n", "Connection: close\r\n", "Connection: x-a\r\nX-A: 1\r\n", "Expect: 100-continue\r\n",
        "\r\n ", "Transfer-Encoding: identity\r\n", "HTTP/1.0", "%00", "#", "?",
    ].map { Array($0.utf8) }

    static func mutate(_ input: [UInt8], using rng: inout SeededGenerator) -> [UInt8] {
        var bytes = input
        let rounds = Int.random(in: 1...3, using: &rng)
        for _ in 0..<rounds {
            guard !bytes.isEmpty else { break }
            let position = Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<10, using: &rng) {
            case 0:
                bytes.insert(interestingBytes.randomElement(using: &rng)!, at: position)
            case 1:
                bytes.remove(at: position)
            case 2:
                bytes.insert(contentsOf: insertions.randomElement(using: &rng)!, at: lineStart(bytes, position))
            case 3:
                // Duplicate the line around `position`.
                let start = lineStart(bytes, position)
                let end = (bytes[position...].firstIndex(of: 0x0A)).map { $0 + 1 } ?? bytes.count
                bytes.insert(contentsOf: Array(bytes[start..<end]), at: start)
            case 4:
                // A CRLF becomes LF or CR.
                if let cr = bytes[position...].firstIndex(of: 0x0D), cr + 1 < bytes.count, bytes[cr + 1] == 0x0A {
                    bytes.remove(at: Bool.random(using: &rng) ? cr : cr + 1)
                }
            case 5:
                // Flip the case of a letter.
                if let letter = bytes[position...].firstIndex(where: { ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A }) { bytes[letter] ^= 0x20 }
            case 6:
                // Whitespace around a colon.
                if let colon = bytes[position...].firstIndex(of: UInt8(ascii: ":")) {
                    bytes.insert([0x20, 0x09].randomElement(using: &rng)!, at: Bool.random(using: &rng) ? colon : colon + 1)
                }
            case 7:
                // A number grows, shrinks or turns negative.
                if let digit = bytes[position...].firstIndex(where: { $0 >= 0x30 && $0 <= 0x39 }) {
                    let replacement = ["99999999999999999999", "0", "-1", "18446744073709551616", "00", "1 1"].randomElement(using: &rng)!
                    bytes.replaceSubrange(digit..<(digit + 1), with: Array(replacement.utf8))
                }
            case 8:
                bytes[position] = interestingBytes.randomElement(using: &rng)!
            default:
                bytes.removeSubrange(position...)
            }
        }
        return bytes
    }

    private static func lineStart(_ bytes: [UInt8], _ position: Int) -> Int {
        guard position > 0 else { return 0 }
        return (bytes[..<position].lastIndex(of: 0x0A)).map { $0 + 1 } ?? 0
    }
}
