/// Work for Synapse that must happen eventually, stored as a ``GatehouseStorage/Job`` (`kind` plus
/// a JSON `payload`) so it survives a Synapse outage and a Gatehouse restart.
///
/// Kinds and payloads (keys in snake_case; optional keys may be absent):
///
/// | kind | payload |
/// |---|---|
/// | `provision_user` | `{"localpart", "locked"?: bool, "displayname"?: str, "emails"?: [str]}` |
/// | `sync_devices` | `{"localpart", "devices": [str]}` |
/// | `upsert_device` | `{"localpart", "device_id", "display_name"?: str}` |
/// | `delete_device` | `{"localpart", "device_id"}` |
/// | `remove_orphan_device` | `{"localpart", "device_id", "confirmation"?: bool}` |
/// | `delete_user` | `{"localpart", "erase": bool}` |
/// | `reactivate_user` | `{"localpart"}` |
/// | `set_displayname` | `{"localpart", "displayname"}` |
/// | `unset_displayname` | `{"localpart"}` |
///
/// The payload carries the state wanted *when the job was queued*; the runner keeps the jobs of one
/// localpart in queue order so that, say, a lock retried after an outage cannot overtake a later unlock.
public enum HomeserverJob: Sendable, Equatable {
    /// Register the user, or update it: lock state, display name, email addresses (MAS `ProvisionUserJob`).
    case provisionUser(ProvisionUser)
    /// Make the user's device list exactly this (MAS `SyncDevicesJob`).
    case syncDevices(SyncDevices)
    /// Create a device (e.g. after a login whose synchronous upsert failed).
    case upsertDevice(UpsertDevice)
    /// Delete one device.
    case deleteDevice(DeleteDevice)
    /// Delete a device that a failed login may have left in Synapse, unless a live session uses it
    /// (the runner checks, through its ``DeviceGuard``). Once deleted, the runner deletes it once more
    /// after ``JobRunner/Configuration/orphanConfirmationDelay``: a Synapse that was frozen may still
    /// carry out the lost `upsert_device` after answering the first delete.
    case removeOrphanDevice(RemoveOrphanDevice)
    /// Deactivate (and optionally erase) the user (MAS `DeactivateUserJob`).
    case deleteUser(DeleteUser)
    /// Undo a deactivation (MAS `ReactivateUserJob`).
    case reactivateUser(Localpart)
    /// Set the display name.
    case setDisplayname(SetDisplayname)
    /// Remove the display name.
    case unsetDisplayname(Localpart)

    /// `provision_user`.
    public struct ProvisionUser: Sendable, Equatable, Codable {
        public var localpart: String
        /// Lock or unlock; absent leaves the lock as it is.
        public var locked: Bool?
        /// Set the display name; absent leaves it.
        public var displayname: String?
        /// The complete list of email addresses; absent leaves them, `[]` removes all.
        public var emails: [String]?

        /// - Parameters:
        ///   - localpart: the Matrix localpart.
        ///   - locked: lock (`true`) or unlock (`false`); `nil` leaves it.
        ///   - displayname: a display name to set.
        ///   - emails: the complete list of email addresses.
        public init(localpart: String, locked: Bool? = nil, displayname: String? = nil, emails: [String]? = nil) {
            self.localpart = localpart
            self.locked = locked
            self.displayname = displayname
            self.emails = emails
        }

        /// The `provision_user` request this job sends.
        public var request: ProvisionUserRequest {
            ProvisionUserRequest(localpart: localpart, setDisplayname: displayname, setEmails: emails, locked: locked)
        }
    }

    /// `sync_devices`.
    public struct SyncDevices: Sendable, Equatable, Codable {
        public var localpart: String
        public var devices: [String]

        /// - Parameters:
        ///   - localpart: the Matrix localpart.
        ///   - devices: every device the user should have.
        public init(localpart: String, devices: [String]) {
            self.localpart = localpart
            self.devices = devices
        }
    }

    /// `upsert_device`.
    public struct UpsertDevice: Sendable, Equatable, Codable {
        public var localpart: String
        public var deviceId: String
        public var displayName: String?

        /// - Parameters:
        ///   - localpart: the Matrix localpart.
        ///   - deviceId: the device ID.
        ///   - displayName: the device's name, if any.
        public init(localpart: String, deviceId: String, displayName: String? = nil) {
            self.localpart = localpart
            self.deviceId = deviceId
            self.displayName = displayName
        }

        private enum CodingKeys: String, CodingKey {
            case localpart
            case deviceId = "device_id"
            case displayName = "display_name"
        }
    }

    /// `delete_device`.
    public struct DeleteDevice: Sendable, Equatable, Codable {
        public var localpart: String
        public var deviceId: String

        /// - Parameters:
        ///   - localpart: the Matrix localpart.
        ///   - deviceId: the device ID.
        public init(localpart: String, deviceId: String) {
            self.localpart = localpart
            self.deviceId = deviceId
        }

        private enum CodingKeys: String, CodingKey {
            case localpart
            case deviceId = "device_id"
        }
    }

    /// `remove_orphan_device`.
    public struct RemoveOrphanDevice: Sendable, Equatable, Codable {
        public var localpart: String
        public var deviceId: String
        /// `true` for the second, confirming deletion.
        public var confirmation: Bool

        /// - Parameters:
        ///   - localpart: the Matrix localpart.
        ///   - deviceId: the device ID the failed login asked Synapse to create.
        ///   - confirmation: whether this is the confirming second deletion.
        public init(localpart: String, deviceId: String, confirmation: Bool = false) {
            self.localpart = localpart
            self.deviceId = deviceId
            self.confirmation = confirmation
        }

        private enum CodingKeys: String, CodingKey {
            case localpart
            case deviceId = "device_id"
            case confirmation
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            localpart = try container.decode(String.self, forKey: .localpart)
            deviceId = try container.decode(String.self, forKey: .deviceId)
            confirmation = try container.decodeIfPresent(Bool.self, forKey: .confirmation) ?? false
        }
    }

    /// `delete_user`.
    public struct DeleteUser: Sendable, Equatable, Codable {
        public var localpart: String
        /// GDPR-erase as well as deactivate.
        public var erase: Bool

        /// - Parameters:
        ///   - localpart: the Matrix localpart.
        ///   - erase: also erase.
        public init(localpart: String, erase: Bool) {
            self.localpart = localpart
            self.erase = erase
        }
    }

    /// `set_displayname`.
    public struct SetDisplayname: Sendable, Equatable, Codable {
        public var localpart: String
        public var displayname: String

        /// - Parameters:
        ///   - localpart: the Matrix localpart.
        ///   - displayname: the new display name.
        public init(localpart: String, displayname: String) {
            self.localpart = localpart
            self.displayname = displayname
        }
    }

    /// The payload of `reactivate_user` and `unset_displayname`.
    public struct Localpart: Sendable, Equatable, Codable {
        public var localpart: String

        /// - Parameter localpart: the Matrix localpart.
        public init(localpart: String) {
            self.localpart = localpart
        }
    }

    /// The stored `Job.kind`.
    public var kind: String {
        switch self {
        case .provisionUser: "provision_user"
        case .syncDevices: "sync_devices"
        case .upsertDevice: "upsert_device"
        case .deleteDevice: "delete_device"
        case .removeOrphanDevice: "remove_orphan_device"
        case .deleteUser: "delete_user"
        case .reactivateUser: "reactivate_user"
        case .setDisplayname: "set_displayname"
        case .unsetDisplayname: "unset_displayname"
        }
    }

    /// Every kind this version of Gatehouse runs.
    public static let kinds: [String] = [
        "provision_user", "sync_devices", "upsert_device", "delete_device", "remove_orphan_device", "delete_user", "reactivate_user",
        "set_displayname", "unset_displayname",
    ]

    /// The user the job is about; jobs of one localpart run in queue order.
    public var localpart: String {
        switch self {
        case .provisionUser(let payload): payload.localpart
        case .syncDevices(let payload): payload.localpart
        case .upsertDevice(let payload): payload.localpart
        case .deleteDevice(let payload): payload.localpart
        case .removeOrphanDevice(let payload): payload.localpart
        case .deleteUser(let payload): payload.localpart
        case .reactivateUser(let payload): payload.localpart
        case .setDisplayname(let payload): payload.localpart
        case .unsetDisplayname(let payload): payload.localpart
        }
    }

    /// The stored `Job.payload`: compact JSON with sorted keys.
    public func payloadJSON() throws -> String {
        let bytes: [UInt8] =
            switch self {
            case .provisionUser(let payload): try JSONCoding.encode(payload)
            case .syncDevices(let payload): try JSONCoding.encode(payload)
            case .upsertDevice(let payload): try JSONCoding.encode(payload)
            case .deleteDevice(let payload): try JSONCoding.encode(payload)
            case .removeOrphanDevice(let payload): try JSONCoding.encode(payload)
            case .deleteUser(let payload): try JSONCoding.encode(payload)
            case .reactivateUser(let payload): try JSONCoding.encode(payload)
            case .setDisplayname(let payload): try JSONCoding.encode(payload)
            case .unsetDisplayname(let payload): try JSONCoding.encode(payload)
            }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Reads a stored job back.
    /// - Parameters:
    ///   - kind: `Job.kind`.
    ///   - payload: `Job.payload`.
    /// - Throws: ``HomeserverJobError`` for a kind this version does not know or a payload that does not parse.
    public init(kind: String, payload: String) throws(HomeserverJobError) {
        let bytes = Array(payload.utf8)
        do {
            switch kind {
            case "provision_user": self = .provisionUser(try JSONCoding.decode(ProvisionUser.self, from: bytes))
            case "sync_devices": self = .syncDevices(try JSONCoding.decode(SyncDevices.self, from: bytes))
            case "upsert_device": self = .upsertDevice(try JSONCoding.decode(UpsertDevice.self, from: bytes))
            case "delete_device": self = .deleteDevice(try JSONCoding.decode(DeleteDevice.self, from: bytes))
            case "remove_orphan_device": self = .removeOrphanDevice(try JSONCoding.decode(RemoveOrphanDevice.self, from: bytes))
            case "delete_user": self = .deleteUser(try JSONCoding.decode(DeleteUser.self, from: bytes))
            case "reactivate_user": self = .reactivateUser(try JSONCoding.decode(Localpart.self, from: bytes))
            case "set_displayname": self = .setDisplayname(try JSONCoding.decode(SetDisplayname.self, from: bytes))
            case "unset_displayname": self = .unsetDisplayname(try JSONCoding.decode(Localpart.self, from: bytes))
            default: throw HomeserverJobError.unknownKind(kind)
            }
        } catch let error as HomeserverJobError {
            throw error
        } catch {
            throw HomeserverJobError.invalidPayload(kind: kind, detail: String(describing: error))
        }
    }

    /// Performs the job now, without the queue (e.g. to try once before queueing).
    ///
    /// `remove_orphan_device` deletes the device without checking that no session uses it; the
    /// ``JobRunner`` performs it with that check instead.
    /// - Parameter client: the Synapse client.
    public func perform(on client: SynapseClient) async throws(SynapseError) {
        switch self {
        case .provisionUser(let payload):
            try await client.provisionUser(payload.request)
        case .syncDevices(let payload):
            try await client.syncDevices(localpart: payload.localpart, devices: payload.devices)
        case .upsertDevice(let payload):
            try await client.upsertDevice(localpart: payload.localpart, deviceId: payload.deviceId, displayName: payload.displayName)
        case .deleteDevice(let payload):
            try await client.deleteDevice(localpart: payload.localpart, deviceId: payload.deviceId)
        case .removeOrphanDevice(let payload):
            try await client.deleteDevice(localpart: payload.localpart, deviceId: payload.deviceId)
        case .deleteUser(let payload):
            try await client.deleteUser(localpart: payload.localpart, erase: payload.erase)
        case .reactivateUser(let payload):
            try await client.reactivateUser(localpart: payload.localpart)
        case .setDisplayname(let payload):
            try await client.setDisplayname(localpart: payload.localpart, displayname: payload.displayname)
        case .unsetDisplayname(let payload):
            try await client.unsetDisplayname(localpart: payload.localpart)
        }
    }
}
