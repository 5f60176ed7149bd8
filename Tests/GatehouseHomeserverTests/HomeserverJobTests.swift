import Foundation
import GatehouseCore
import Testing

@testable import GatehouseHomeserver

/// Job kinds, their stored JSON, and the retry schedule.
struct HomeserverJobTests {
    static let golden: [(HomeserverJob, String, String)] = [
        (
            .provisionUser(.init(localpart: "alice", locked: true, displayname: "Alice", emails: ["a@example.test"])), "provision_user",
            #"{"displayname":"Alice","emails":["a@example.test"],"localpart":"alice","locked":true}"#
        ),
        (.provisionUser(.init(localpart: "alice")), "provision_user", #"{"localpart":"alice"}"#),
        (.syncDevices(.init(localpart: "alice", devices: ["A", "B"])), "sync_devices", #"{"devices":["A","B"],"localpart":"alice"}"#),
        (
            .upsertDevice(.init(localpart: "alice", deviceId: "A", displayName: "Phone")), "upsert_device",
            #"{"device_id":"A","display_name":"Phone","localpart":"alice"}"#
        ),
        (.deleteDevice(.init(localpart: "alice", deviceId: "A")), "delete_device", #"{"device_id":"A","localpart":"alice"}"#),
        (
            .removeOrphanDevice(.init(localpart: "alice", deviceId: "A")), "remove_orphan_device",
            #"{"confirmation":false,"device_id":"A","localpart":"alice"}"#
        ),
        (.deleteUser(.init(localpart: "alice", erase: false)), "delete_user", #"{"erase":false,"localpart":"alice"}"#),
        (.reactivateUser(.init(localpart: "alice")), "reactivate_user", #"{"localpart":"alice"}"#),
        (.setDisplayname(.init(localpart: "alice", displayname: "A")), "set_displayname", #"{"displayname":"A","localpart":"alice"}"#),
        (.unsetDisplayname(.init(localpart: "alice")), "unset_displayname", #"{"localpart":"alice"}"#),
    ]

    @Test func kindsAndPayloadsAreStable() throws {
        for (job, kind, payload) in Self.golden {
            #expect(job.kind == kind)
            #expect(try job.payloadJSON() == payload)
            #expect(try HomeserverJob(kind: kind, payload: payload) == job)
            #expect(job.localpart == "alice")
        }
        #expect(Set(Self.golden.map(\.1)) == Set(HomeserverJob.kinds))
    }

    @Test func orphanPayloadWithoutConfirmationIsAFirstRemoval() throws {
        #expect(
            try HomeserverJob(kind: "remove_orphan_device", payload: #"{"device_id":"A","localpart":"alice"}"#)
                == .removeOrphanDevice(.init(localpart: "alice", deviceId: "A", confirmation: false)))
    }

    @Test func provisionPayloadBecomesARequest() {
        let request = HomeserverJob.ProvisionUser(localpart: "alice", locked: false, displayname: "Alice", emails: []).request
        #expect(request == ProvisionUserRequest(localpart: "alice", setDisplayname: "Alice", setEmails: [], locked: false))
    }

    @Test func unreadableJobsAreErrorsNotCrashes() {
        #expect(throws: HomeserverJobError.unknownKind("frobnicate")) { try HomeserverJob(kind: "frobnicate", payload: "{}") }
        #expect(throws: HomeserverJobError.invalidPayload(kind: "delete_user", detail: "")) {
            try HomeserverJob(kind: "delete_user", payload: #"{"localpart":"alice"}"#)
        }
        #expect(throws: HomeserverJobError.invalidPayload(kind: "sync_devices", detail: "")) {
            try HomeserverJob(kind: "sync_devices", payload: "not json")
        }
        #expect(HomeserverJobError.unknownKind("frobnicate").description.contains("newer Gatehouse"))
    }

    @Test func monotonicULIDsIncreaseWithinAMillisecond() {
        #expect(MonotonicULID.increment("01J0000000000000000000000Z") == "01J00000000000000000000010")
        #expect(MonotonicULID.increment("01J000000000000000000000ZZ") == "01J00000000000000000000100")
        let ids = MonotonicULID()
        let random = DescendingRandom()
        let time = Date(timeIntervalSince1970: 1_800_000_000)
        let generated = (0..<50).map { _ in ids.next(at: time, random: random) }
        #expect(generated == generated.sorted() && Set(generated).count == 50)
        #expect(generated.allSatisfy(ULID.isValid))
    }

    @Test func backoffDoublesUpToTheCap() {
        let transient = (1...12).map { JobBackoff.transient.delay(afterFailures: $0) }
        #expect(transient == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300].map { Duration.seconds($0) })
        #expect(JobBackoff.permanent.delay(afterFailures: 1) == .seconds(60))
        #expect(JobBackoff.permanent.delay(afterFailures: 3) == .seconds(240))
        #expect(JobBackoff.permanent.delay(afterFailures: 1000) == .seconds(3600))
        #expect(JobBackoff.transient.delay(afterFailures: 0) == .seconds(1))
    }
}
