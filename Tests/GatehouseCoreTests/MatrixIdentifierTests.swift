import Testing

@testable import GatehouseCore

/// What login and `gatehouse manage` accept as user names and device IDs (issue 7, item 6).
struct MatrixIdentifierTests {
    @Test func canonicalLocalparts() {
        let server = "example.org"
        for (text, expected) in [
            ("alice", "alice"), ("ALICE", "alice"), ("@Alice:example.org", "alice"), ("a.b_c=d-e/f+g", "a.b_c=d-e/f+g"),
        ] {
            #expect(Localpart.canonical(text, serverName: server) == .success(expected), "\(text)")
        }
        let refused: [(String, Localpart.Problem)] = [
            ("alice\u{0}abc", .invalidCharacters), ("alice\u{0}", .invalidCharacters), ("@alice\u{0}:example.org", .invalidCharacters),
            ("alice ", .invalidCharacters), ("al\u{7F}ice", .invalidCharacters), ("\u{C5}lice", .invalidCharacters),
            ("@alice:other.org", .notThisServer), ("@alice", .notThisServer), ("@:example.org", .notThisServer),
            ("", .empty), ("_bridge", .reservedUnderscore), ("1234", .numeric),
            (String(repeating: "a", count: 300), .tooLong(242)), (String(repeating: "a", count: 243), .tooLong(242)),
        ]
        for (text, problem) in refused {
            #expect(Localpart.canonical(text, serverName: server) == .failure(problem), "\(text.debugDescription)")
        }
        #expect(Localpart.canonical(String(repeating: "a", count: 242), serverName: server) == .success(String(repeating: "a", count: 242)))
    }

    @Test func deviceIds() {
        for valid in ["ABCDEFGHIJ", "x", "mautrix_A-1.b~c", "!#$%&'()*+,-./:;<=>?@[]^_`{|}~", String(repeating: "Z", count: 255)] {
            #expect(DeviceId.validate(valid) == nil, "\(valid)")
        }
        #expect(DeviceId.validate("") == .empty)
        #expect(DeviceId.validate(String(repeating: "Z", count: 256)) == .tooLong)
        for invalid in ["A\u{0}B", "A\u{0}", "\u{1}", "A B", "A\tB", "A\nB", "A\u{7F}", "A\u{85}", "\u{C9}", "A\u{200B}", "A\"B", "A\\B"] {
            #expect(DeviceId.validate(invalid) == .invalidCharacter, "\(invalid.debugDescription)")
        }
    }

    @Test func displayNames() {
        #expect(DeviceDisplayName.isAcceptable("Alice's phone (ünïcode) 📱"))
        #expect(DeviceDisplayName.isAcceptable(""))
        for bad in ["a\u{0}", "a\u{1B}[31m", "a\n", "a\u{7F}", "a\u{9B}"] {
            #expect(!DeviceDisplayName.isAcceptable(bad), "\(bad.debugDescription)")
        }
    }
}
