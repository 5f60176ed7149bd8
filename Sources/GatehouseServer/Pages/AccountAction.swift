/// An MSC4191 account management deep link: `account_management_uri?action=…[&device_id=…]`, as
/// Matrix clients build it from `account_management_actions_supported` (and as Synapse builds
/// `org.matrix.cross_signing_reset` into its UIA answer for key uploads).
///
/// Besides the stable names, the unstable and older names MAS still accepts are understood
/// (`profile`, `sessions_list`, `session_view`, `session_end` and their `org.matrix.` forms, which
/// name devices too); only the names MAS advertises are listed in discovery.
enum AccountAction: Equatable {
    case profile
    case devicesList
    case deviceView(deviceId: String)
    case deviceDelete(deviceId: String)
    case crossSigningReset

    /// `account_management_actions_supported`, MAS's list in MAS's order.
    static let advertised = [
        "org.matrix.profile", "org.matrix.devices_list", "org.matrix.device_view", "org.matrix.device_delete",
        "org.matrix.cross_signing_reset", "org.matrix.sessions_list", "org.matrix.session_view", "org.matrix.session_end",
    ]

    /// How a link was understood.
    enum Parsed: Equatable {
        case action(AccountAction)
        /// A name this server does not know: the account page is shown, as MAS's does.
        case unknown
        /// A device action without `device_id`.
        case missingDeviceId
    }

    /// The action of a link's `action` and `device_id` parameters.
    static func parse(action: String, deviceId: String?) -> Parsed {
        let needsDevice: (String) -> AccountAction
        switch action {
        case "org.matrix.profile", "profile": return .action(.profile)
        case "org.matrix.devices_list", "org.matrix.sessions_list", "sessions_list": return .action(.devicesList)
        case "org.matrix.cross_signing_reset": return .action(.crossSigningReset)
        case "org.matrix.device_view", "org.matrix.session_view", "session_view": needsDevice = { .deviceView(deviceId: $0) }
        case "org.matrix.device_delete", "org.matrix.session_end", "session_end": needsDevice = { .deviceDelete(deviceId: $0) }
        default: return .unknown
        }
        guard let deviceId, !deviceId.isEmpty else { return .missingDeviceId }
        return .action(needsDevice(deviceId))
    }
}
