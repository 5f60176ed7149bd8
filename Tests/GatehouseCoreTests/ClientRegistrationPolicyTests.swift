import Foundation
import Testing

@testable import GatehouseCore

/// Every rule of ``ClientRegistrationPolicy``, accepted and refused, from the raw JSON body.
struct ClientRegistrationPolicyTests {
    /// A valid native registration with `fields` merged in (a `nil` value removes the key).
    static func body(_ fields: [String: Any?] = [:], native: Bool = true) -> [UInt8] {
        var object: [String: Any] = [
            "application_type": native ? "native" : "web",
            "client_uri": "https://element.io/",
            "redirect_uris": native ? ["io.element.app:/callback"] : ["https://element.io/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        ]
        for (key, value) in fields {
            if let value { object[key] = value } else { object.removeValue(forKey: key) }
        }
        return Array(try! JSONSerialization.data(withJSONObject: object))
    }

    static func validate(_ fields: [String: Any?] = [:], native: Bool = true) -> Result<ClientMetadata, ClientRegistrationError> {
        ClientRegistrationPolicy.validate(body: body(fields, native: native), signingAlgorithms: [.rs256])
    }

    /// The refusal, or a failure when accepted.
    static func refusal(_ fields: [String: Any?], native: Bool = true) -> ClientRegistrationError? {
        if case .failure(let error) = validate(fields, native: native) { return error }
        Issue.record("accepted: \(fields)")
        return nil
    }

    @Test func nativeAppWithReverseDNSSchemeIsAccepted() throws {
        let metadata = try Self.validate().get()
        #expect(metadata.applicationType == .native)
        #expect(metadata.redirectURIs == ["io.element.app:/callback"])
        #expect(metadata.grantTypes == ["authorization_code", "refresh_token"])
        #expect(metadata.responseTypes == ["code"])
        #expect(metadata.tokenEndpointAuthMethod == "none")
        #expect(metadata.clientURI == ["": "https://element.io/"])
    }

    @Test(arguments: [
        "http://localhost/callback", "http://localhost:1234/callback", "http://127.0.0.1:65535/", "http://[::1]:8080/cb",
        "http://127.0.0.1/cb?x=1", "io.element:/cb", "io.element.app:/cb", "io.element.app.x:cb", "IO.ELEMENT.APP:/cb",
    ])
    func nativeRedirectURIsAccepted(uri: String) throws {
        let metadata = try Self.validate(["redirect_uris": [uri]]).get()
        #expect(metadata.redirectURIs == [uri])
    }

    @Test(arguments: [
        ("https://element.io/cb", "https redirect URIs belong to web applications"),
        ("http://example.com/cb", "must be on the loopback interface"),
        ("http://localhost.evil.com/cb", "must be on the loopback interface"),
        ("http://127.0.0.2/cb", "must be on the loopback interface"),
        ("com.evil.app:/cb", "must be the reverse-DNS form of client_uri's host (io.element or io.element.something"),
        ("io.elementx:/cb", "must be the reverse-DNS form"),
        ("io.element.app://callback", "has no authority (//)"),
        ("javascript:alert(1)", "must be the reverse-DNS form"),
        ("http://localhost/cb#frag", "has a fragment (#)"),
        ("http://localhost/cb#", "has a fragment (#)"),
        ("http://user:pw@localhost/cb", "contains user information"),
        ("http://localhost:99999/cb", "has an invalid port"),
        ("http://localhost:/cb", "has an invalid port"),
        ("/relative/cb", "is not an absolute URI"),
        ("http://local host/cb", "printable ASCII without spaces"),
        ("http://lоcalhost/cb", "printable ASCII without spaces"),
    ])
    func nativeRedirectURIsRefused(uri: String, reason: String) throws {
        let error = try #require(Self.refusal(["redirect_uris": ["http://localhost/ok", uri]]))
        #expect(error.code == .invalidRedirectURI)
        #expect(error.message.contains("redirect_uris[1]"), "\(error.message)")
        #expect(error.message.contains(reason), "\(error.message)")
    }

    @Test(arguments: [
        "https://element.io/callback", "https://app.element.io:8443/cb", "https://ELEMENT.io/cb?next=1", "https://a.b.element.io/",
    ])
    func webRedirectURIsAccepted(uri: String) throws {
        let metadata = try Self.validate(["redirect_uris": [uri]], native: false).get()
        #expect(metadata.applicationType == .web)
        #expect(metadata.redirectURIs == [uri])
    }

    @Test(arguments: [
        ("http://element.io/cb", "a web application's redirect URIs must use https"),
        ("https://evil.com/cb", "host evil.com is not element.io (the host of client_uri) or a subdomain of it"),
        ("https://evilelement.io/cb", "host evilelement.io is not element.io"),
        ("https://element.io.evil.com/cb", "is not element.io"),
        ("https://localhost/cb", "loopback redirect URIs are for native applications"),
        ("http://localhost:8080/cb", "must use https"),
        ("io.element.app:/cb", "must use https"),
        ("https://element.io/cb#x", "has a fragment"),
        ("https://evil.com@element.io/cb", "contains user information"),
        ("https://element.io%2eevil.com/cb", "not a plain domain name"),
    ])
    func webRedirectURIsRefused(uri: String, reason: String) throws {
        let error = try #require(Self.refusal(["redirect_uris": [uri]], native: false))
        #expect(error.code == .invalidRedirectURI)
        #expect(error.message.contains(reason), "\(error.message)")
    }

    @Test func redirectURIsAreRequiredForTheCodeGrant() throws {
        let missing = try #require(Self.refusal(["redirect_uris": nil]))
        #expect(missing == .redirectURI("redirect_uris is required (a non-empty list) for the authorization_code grant"))
        let empty = try #require(Self.refusal(["redirect_uris": [String]()]))
        #expect(empty.code == .invalidRedirectURI)
        let notStrings = try #require(Self.refusal(["redirect_uris": [1]]))
        #expect(notStrings == .redirectURI("redirect_uris must be an array of strings"))
        let tooMany = try #require(Self.refusal(["redirect_uris": (0..<21).map { "http://localhost:\(1000 + $0)/" }]))
        #expect(tooMany.message.contains("at most 20"))
        // A device-code-only client needs no redirect URI.
        let device = try Self.validate([
            "redirect_uris": nil, "grant_types": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"], "response_types": nil,
        ]).get()
        #expect(device.redirectURIs.isEmpty && device.responseTypes.isEmpty)
    }

    @Test func clientURIRules() throws {
        #expect(Self.refusal(["client_uri": nil])?.message.hasPrefix("client_uri is required") == true)
        for (uri, reason) in [
            ("http://element.io/", "must be an https URL"),
            ("https://localhost/", "is a loopback address"),
            ("https://127.0.0.1/", "is a loopback address"),
            ("https://[::1]/", "is a loopback address"),
            ("https://10.0.0.1/", "must be on a domain name"),
            ("https://intranet/", "must be on a domain name"),
            ("https://user@element.io/", "must not contain user information"),
            ("element.io", "is not an absolute URI"),
        ] {
            let error = try #require(Self.refusal(["client_uri": uri]))
            #expect(error.code == .invalidClientMetadata)
            #expect(error.message.contains(reason), "\(uri): \(error.message)")
        }
        #expect(Self.refusal(["client_uri": 5]) == .metadata("client_uri must be a string"))
    }

    @Test func logoTosAndPolicyURIsMustBeHTTPSOnTheClientHost() throws {
        for key in ["logo_uri", "tos_uri", "policy_uri"] {
            let same = try Self.validate([key: "https://element.io/\(key)"]).get()
            let sub = try Self.validate([key: "https://static.element.io/\(key)"]).get()
            #expect(!same.json().isEmpty && !sub.json().isEmpty)
            #expect(Self.refusal([key: "http://element.io/x"]) == .metadata("\(key) 'http://element.io/x' must be an https URL"))
            #expect(Self.refusal([key: "https://evil.com/x"])
                == .metadata("\(key): host evil.com is not element.io (the host of client_uri) or a subdomain of it"))
            #expect(Self.refusal(["\(key)#fr": "https://evil.com/x"])
                == .metadata("\(key)#fr: host evil.com is not element.io (the host of client_uri) or a subdomain of it"))
        }
    }

    @Test func localizedFieldsAreKeptAndChecked() throws {
        let metadata = try Self.validate([
            "client_name": "Element", "client_name#fr": "Élément", "client_name#pt-BR": "Elemento",
            "tos_uri#de": "https://element.io/de/tos", "client_uri#fr": "https://fr.element.io/",
            "unknown_field": "ignored", "software_id#fr": "ignored too",
        ]).get()
        #expect(metadata.clientName == ["": "Element", "fr": "Élément", "pt-BR": "Elemento"])
        #expect(metadata.tosURI == ["de": "https://element.io/de/tos"])
        #expect(metadata.clientURI == ["": "https://element.io/", "fr": "https://fr.element.io/"])
        #expect(metadata.json().contains(#""client_name#fr":"Élément""#))
        #expect(!metadata.json().contains("unknown_field"))

        #expect(Self.refusal(["client_name#": "x"])?.message == "client_name#: '' is not a language tag (BCP 47, e.g. client_name#fr or client_name#pt-BR)")
        #expect(Self.refusal(["client_name#f r": "x"])?.code == .invalidClientMetadata)
        #expect(Self.refusal(["client_name#fr": 3]) == .metadata("client_name#fr must be a string"))
        #expect(Self.refusal(["client_uri#fr": "https://evil.com/"])
            == .metadata("client_uri#fr: host evil.com is not element.io (the host of client_uri) or a subdomain of it"))
        #expect(Self.refusal(["client_uri#fr": "http://element.io/"]) == .metadata("client_uri#fr 'http://element.io/' must be an https URL"))
    }

    @Test func displayValuesHaveNoControlCharactersAndABoundedLength() throws {
        #expect(Self.refusal(["client_name": "Ele\u{0}ment"]) == .metadata("client_name contains control or formatting characters"))
        #expect(Self.refusal(["client_name#fr": "a\u{202E}b"]) == .metadata("client_name#fr contains control or formatting characters"))
        #expect(Self.refusal(["client_name": ""]) == .metadata("client_name must not be empty"))
        #expect(Self.refusal(["client_name": String(repeating: "x", count: 2049)]) == .metadata("client_name is longer than 2048 bytes"))
        #expect(Self.refusal(["contacts": ["ok@example.com", "bad\n"]]) == .metadata("contacts contains control or formatting characters"))
        #expect(Self.refusal(["contacts": "admin@example.com"]) == .metadata("contacts must be an array of strings"))
        #expect(try Self.validate(["contacts": ["admin@element.io"]]).get().contacts == ["admin@element.io"])
    }

    @Test(arguments: ["implicit", "password", "client_credentials", "urn:ietf:params:oauth:grant-type:jwt-bearer", "token"])
    func grantTypesOutsideTheListAreRefused(grant: String) throws {
        let error = try #require(Self.refusal(["grant_types": ["authorization_code", grant]]))
        #expect(error == .metadata(
            "grant_types: '\(grant)' is not allowed; a dynamically registered client may use only authorization_code, refresh_token, "
                + "urn:ietf:params:oauth:grant-type:device_code"))
    }

    @Test func grantAndResponseTypesMustAgree() throws {
        #expect(Self.refusal(["grant_types": [String]()])?.message.hasPrefix("grant_types is empty") == true)
        #expect(Self.refusal(["grant_types": ["refresh_token"], "response_types": nil])
            == .metadata("grant_types: refresh_token needs authorization_code or the device code grant to obtain the first token"))
        #expect(Self.refusal(["response_types": ["token"]])
            == .metadata("response_types: 'token' is not allowed; only \"code\" is supported (no implicit or hybrid flows)"))
        #expect(Self.refusal(["response_types": ["code id_token"]])?.code == .invalidClientMetadata)
        #expect(Self.refusal(["response_types": [String]()])?.message.hasPrefix("response_types must contain \"code\"") == true)
        #expect(Self.refusal(["grant_types": ["urn:ietf:params:oauth:grant-type:device_code"], "response_types": ["code"]])?.message
            .hasPrefix("response_types contains \"code\" but grant_types lacks authorization_code") == true)
        // Defaults (RFC 7591 §2): authorization_code and code.
        let defaults = try Self.validate(["grant_types": nil, "response_types": nil]).get()
        #expect(defaults.grantTypes == ["authorization_code"] && defaults.responseTypes == ["code"])
        // Duplicates collapse.
        #expect(try Self.validate(["grant_types": ["authorization_code", "authorization_code"]]).get().grantTypes == ["authorization_code"])
    }

    @Test func dynamicClientsArePublic() throws {
        #expect(Self.refusal(["token_endpoint_auth_method": nil])?.message.hasPrefix(
            "token_endpoint_auth_method is missing, which means client_secret_basic (RFC 7591 §2)") == true)
        for method in ["client_secret_basic", "client_secret_post", "private_key_jwt", "client_secret_jwt"] {
            let error = try #require(Self.refusal(["token_endpoint_auth_method": method]))
            #expect(error.code == .invalidClientMetadata)
            #expect(error.message.hasPrefix("token_endpoint_auth_method '\(method)' is not allowed"))
        }
    }

    @Test func applicationTypeAndBodyShape() throws {
        #expect(Self.refusal(["application_type": "desktop"]) == .metadata("application_type 'desktop' is unknown; use \"web\" or \"native\""))
        #expect(try Self.validate(["application_type": nil, "redirect_uris": ["https://element.io/cb"]]).get().applicationType == .web)
        #expect(ClientRegistrationPolicy.validate(body: Array("not json".utf8), signingAlgorithms: [])
            == .failure(ClientRegistrationError(.invalidRequest, "The body is not valid JSON")))
        #expect(ClientRegistrationPolicy.validate(body: Array("[]".utf8), signingAlgorithms: [])
            == .failure(.metadata("The body must be a JSON object of client metadata (RFC 7591 §2)")))
        #expect(ClientRegistrationPolicy.validate(body: [UInt8](), signingAlgorithms: []) == .failure(ClientRegistrationError(.invalidRequest, "The body is not valid JSON")))
    }

    @Test func metadataJSONIsSortedAndDeterministic() throws {
        let metadata = try Self.validate(["client_name": "Element", "client_name#fr": "Élément"]).get()
        #expect(metadata.json(extra: ["client_id": "\"01ABC\""]) == #"{"application_type":"native","client_id":"01ABC","client_name":"Element","client_name#fr":"Élément","client_uri":"https://element.io/","grant_types":["authorization_code","refresh_token"],"redirect_uris":["io.element.app:/callback"],"response_types":["code"],"token_endpoint_auth_method":"none"}"#)
    }

    /// `id_token_signed_response_alg` and `userinfo_signed_response_alg` (OpenID Connect Registration
    /// §2): accepted when a configured key signs with the algorithm, echoed in the metadata; any other
    /// value is `invalid_client_metadata` naming the member.
    @Test func signedResponseAlgorithmsNeedAConfiguredKey() throws {
        let both = try ClientRegistrationPolicy.validate(
            body: Self.body(["id_token_signed_response_alg": "ES256", "userinfo_signed_response_alg": "RS256"]),
            signingAlgorithms: [.es256, .rs256]
        ).get()
        #expect(both.idTokenSignedResponseAlg == .es256 && both.userinfoSignedResponseAlg == .rs256)
        #expect(both.json().contains(#""id_token_signed_response_alg":"ES256""#) && both.json().contains(#""userinfo_signed_response_alg":"RS256""#))
        let neither = try Self.validate().get()
        #expect(neither.idTokenSignedResponseAlg == nil && neither.userinfoSignedResponseAlg == nil)
        #expect(!neither.json().contains("signed_response_alg"), "unset members are not echoed, so earlier digests stay the same")

        for key in ["id_token_signed_response_alg", "userinfo_signed_response_alg"] {
            for (value, wording) in [("ES256", "has no signing key on this server; it signs with RS256"), ("none", "is not supported"), ("HS256", "is not supported"), ("rs256", "is not supported")] {
                let error = try #require(Self.refusal([key: value]))
                #expect(error.code == .invalidClientMetadata && error.message.hasPrefix("\(key) '\(value)' \(wording)"), "\(error.message)")
            }
            let notText = try #require(Self.refusal([key: 256]))
            #expect(notText.code == .invalidClientMetadata && notText.message == "\(key) must be a string")
        }
        let keyless = ClientRegistrationPolicy.validate(body: Self.body(["userinfo_signed_response_alg": "RS256"]), signingAlgorithms: [])
        #expect(keyless == .failure(.metadata("userinfo_signed_response_alg 'RS256' has no signing key on this server; it signs with none (no signing key is configured)")))
    }
}
