import Foundation
import GatehouseStorage
import Testing

@testable import GatehouseServer

/// Session resources carry the last activity the edge check recorded (issue 11).
struct AdminResourceTests {
    static let used = Date(timeIntervalSince1970: 1_764_000_000)

    static func attribute(_ name: String, of resource: AdminResource) -> AdminJSON? {
        resource.attributes.first { $0.0 == name }?.1
    }

    @Test func everySessionKindShowsItsLastActivity() {
        let compat = AdminResource.compatSession(CompatSession(
            id: "c", userId: "u", deviceId: "DEV", createdAt: Self.used, lastActiveAt: Self.used, lastActiveAddress: "192.0.2.7"))
        let oauth = AdminResource.oauth2Session(OAuth2Session(
            id: "o", clientId: "k", userId: "u", scope: "openid", deviceId: nil, createdAt: Self.used, lastActiveAt: Self.used,
            lastActiveAddress: "192.0.2.8", humanName: "Phone"))
        let browser = AdminResource.userSession(BrowserSession(
            id: "b", userId: "u", createdAt: Self.used, authenticatedAt: Self.used, lastActiveAt: Self.used, lastActiveAddress: "192.0.2.9"))
        #expect(Self.attribute("last_active_ip", of: compat) == .string("192.0.2.7"))
        #expect(Self.attribute("last_active_ip", of: oauth) == .string("192.0.2.8"))
        #expect(Self.attribute("human_name", of: oauth) == .string("Phone"))
        #expect(Self.attribute("last_active_ip", of: browser) == .string("192.0.2.9"))
        #expect(Self.attribute("last_active_at", of: browser) == .date(Self.used))
        #expect(Self.attribute("last_active_at", of: browser) != .null)
    }
}
