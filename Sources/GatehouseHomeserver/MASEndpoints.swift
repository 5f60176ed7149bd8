/// The paths of Synapse's `/_synapse/mas/*` API (Synapse ≥ 1.135 with
/// `matrix_authentication_service.enabled`), relative to `matrix.endpoint`.
enum MASEndpoint: String, Sendable {
    /// GET /_synapse/mas/query_user?localpart=L
    case queryUser = "_synapse/mas/query_user"
    /// POST /_synapse/mas/provision_user
    case provisionUser = "_synapse/mas/provision_user"
    /// GET /_synapse/mas/is_localpart_available?localpart=L
    case isLocalpartAvailable = "_synapse/mas/is_localpart_available"
    /// POST /_synapse/mas/upsert_device
    case upsertDevice = "_synapse/mas/upsert_device"
    /// POST /_synapse/mas/update_device_display_name
    case updateDeviceDisplayName = "_synapse/mas/update_device_display_name"
    /// POST /_synapse/mas/delete_device
    case deleteDevice = "_synapse/mas/delete_device"
    /// POST /_synapse/mas/sync_devices
    case syncDevices = "_synapse/mas/sync_devices"
    /// POST /_synapse/mas/delete_user
    case deleteUser = "_synapse/mas/delete_user"
    /// POST /_synapse/mas/reactivate_user
    case reactivateUser = "_synapse/mas/reactivate_user"
    /// POST /_synapse/mas/set_displayname
    case setDisplayname = "_synapse/mas/set_displayname"
    /// POST /_synapse/mas/unset_displayname
    case unsetDisplayname = "_synapse/mas/unset_displayname"
    /// POST /_synapse/mas/allow_cross_signing_reset
    case allowCrossSigningReset = "_synapse/mas/allow_cross_signing_reset"
}

/// Request bodies of the `/_synapse/mas/*` calls other than `provision_user`.
enum MASBody {
    /// `{"localpart"}`: reactivate_user, unset_displayname, allow_cross_signing_reset.
    struct Localpart: Encodable {
        var localpart: String
    }

    /// upsert_device (`display_name` optional), update_device_display_name (required).
    struct Device: Encodable {
        var localpart: String
        var deviceId: String
        var displayName: String?

        enum CodingKeys: String, CodingKey {
            case localpart
            case deviceId = "device_id"
            case displayName = "display_name"
        }
    }

    /// delete_device.
    struct DeviceRef: Encodable {
        var localpart: String
        var deviceId: String

        enum CodingKeys: String, CodingKey {
            case localpart
            case deviceId = "device_id"
        }
    }

    /// sync_devices.
    struct Devices: Encodable {
        var localpart: String
        var devices: [String]
    }

    /// delete_user; `erase` is required by Synapse.
    struct DeleteUser: Encodable {
        var localpart: String
        var erase: Bool
    }

    /// set_displayname.
    struct Displayname: Encodable {
        var localpart: String
        var displayname: String
    }
}
