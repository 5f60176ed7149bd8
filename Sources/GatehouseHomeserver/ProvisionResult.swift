/// Whether an idempotent "create or update" call on Synapse created something (201) or found it
/// already there (200): `provision_user` and `upsert_device`.
public enum ProvisionResult: Sendable, Equatable {
    case created
    case updated
}
