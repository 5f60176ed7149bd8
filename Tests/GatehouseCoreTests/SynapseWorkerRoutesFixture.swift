/// Synapse's worker routing patterns as route rules, for the route-matching tests: every pattern of
/// Synapse's `docs/workers.md` and of its Docker image's worker map, copied here (the project must not
/// depend on files outside it) from
/// element-hq/synapse docs/workers.md @ a58ad44eb0ce (v1.157.1, 2026-07-24) and
/// element-hq/synapse docker/configure_workers_and_start.py WORKERS_CONFIG @ a58ad44eb0ce.
/// Patterns are verbatim, in the order of those files; methods and upstream names were chosen for the
/// tests (some groups GET-only or POST,PUT-only, so every method class has different rules), and
/// media's three path prefixes stay unanchored as `workers.md` writes them.
enum SynapseWorkerRoutesFixture {
    /// The upstream names the rules use.
    static let upstreams: Set<String> = ["account_data", "client_reader", "event_creator", "federation_inbound", "federation_reader", "generic_worker", "main", "media_repository", "pagination", "presence", "push_rules", "receipts", "sso", "stream_account_data", "stream_device_lists", "stream_presence", "stream_push_rules", "stream_quarantined_media_changes", "stream_receipts", "stream_to_device", "stream_typing", "synchrotron", "thread_subscriptions", "to_device", "typing", "user_dir"]

    static let text = #"""
# workers.md generic_worker.get_only: Any generic_worker, GET requests only (writes go to the stream writer)
GET        ^/_matrix/client/(api/v1|r0|v3|unstable)/pushrules/                    proxy generic_worker
GET        ^/_matrix/client/(r0|v3|unstable)/.*/tags                              proxy generic_worker
GET        ^/_matrix/client/(r0|v3|unstable)/.*/account_data                      proxy generic_worker
GET        ^/_matrix/client/(api/v1|r0|v3|unstable)/presence/                     proxy generic_worker
GET        ^/_synapse/admin/v2/users/[^/]+$                                       proxy generic_worker

# workers.md stream.typing: Route to the `typing` stream writer
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/typing               proxy stream_typing

# workers.md stream.to_device: Route to the `to_device` stream writer
*          ^/_matrix/client/(r0|v3|unstable)/sendToDevice/                        proxy stream_to_device

# workers.md stream.account_data: Route to the `account_data` stream writer
*          ^/_matrix/client/(r0|v3|unstable)/.*/tags                              proxy stream_account_data
*          ^/_matrix/client/(r0|v3|unstable)/.*/account_data                      proxy stream_account_data

# workers.md stream.receipts: Route to one of the `receipts` stream writers (multi-writer)
*          ^/_matrix/client/(r0|v3|unstable)/rooms/.*/receipt                     proxy stream_receipts
*          ^/_matrix/client/(r0|v3|unstable)/rooms/.*/read_markers                proxy stream_receipts

# workers.md stream.presence: Route to the `presence` stream writer
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/presence/                     proxy stream_presence

# workers.md stream.push_rules: Route to the `push_rules` stream writer
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/pushrules/                    proxy stream_push_rules

# workers.md stream.device_lists: Route to one of the `device_lists` stream writers (multi-writer)
*          ^/_matrix/client/(r0|v3)/delete_devices$                               proxy stream_device_lists
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/devices(/|$)                  proxy stream_device_lists
*          ^/_matrix/client/(r0|v3|unstable)/keys/upload                          proxy stream_device_lists
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/keys/device_signing/upload$   proxy stream_device_lists
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/keys/signatures/upload$       proxy stream_device_lists

# workers.md stream.quarantined_media_changes: Route to one of the `quarantined_media_changes` stream writers
*          ^/_synapse/admin/v1/quarantine_media/.*$                               proxy stream_quarantined_media_changes

# workers.md media_repository.prefixes: media_repository worker: path PREFIXES (not regexes)
*          /_matrix/media/                                                        proxy media_repository
*          /_matrix/client/v1/media/                                              proxy media_repository
*          /_matrix/federation/v1/media/                                          proxy media_repository

# workers.md media_repository.admin: media_repository worker: media admin API regexes
*          ^/_synapse/admin/v1/purge_media_cache$                                 proxy media_repository
*          ^/_synapse/admin/v1/room/.*/media.*$                                   proxy media_repository
*          ^/_synapse/admin/v1/user/.*/media.*$                                   proxy media_repository
*          ^/_synapse/admin/v1/media/.*$                                          proxy media_repository
*          ^/_synapse/admin/v1/quarantine_media/.*$                               proxy media_repository
*          ^/_synapse/admin/v1/users/.*/media$                                    proxy media_repository

# workers.md generic_worker.pagination: Any generic_worker, but all requests for one room must hit the same instance
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/messages$            proxy pagination

# workers.md generic_worker.any: Any generic_worker (client_reader/sync/federation_reader/event_creator...): all methods
*          ^/_matrix/client/(r0|v3)/sync$                                         proxy generic_worker
*          ^/_matrix/client/(api/v1|r0|v3)/events$                                proxy generic_worker
*          ^/_matrix/client/(api/v1|r0|v3)/initialSync$                           proxy generic_worker
*          ^/_matrix/client/(api/v1|r0|v3)/rooms/[^/]+/initialSync$               proxy generic_worker
*          ^/_matrix/federation/v1/version$                                       proxy generic_worker
*          ^/_matrix/federation/v1/event/                                         proxy generic_worker
*          ^/_matrix/federation/v1/state/                                         proxy generic_worker
*          ^/_matrix/federation/v1/state_ids/                                     proxy generic_worker
*          ^/_matrix/federation/v1/backfill/                                      proxy generic_worker
*          ^/_matrix/federation/v1/get_missing_events/                            proxy generic_worker
*          ^/_matrix/federation/v1/publicRooms                                    proxy generic_worker
*          ^/_matrix/federation/v1/query/                                         proxy generic_worker
*          ^/_matrix/federation/v1/make_join/                                     proxy generic_worker
*          ^/_matrix/federation/v1/make_leave/                                    proxy generic_worker
*          ^/_matrix/federation/(v1|v2)/send_join/                                proxy generic_worker
*          ^/_matrix/federation/(v1|v2)/send_leave/                               proxy generic_worker
*          ^/_matrix/federation/v1/make_knock/                                    proxy generic_worker
*          ^/_matrix/federation/v1/send_knock/                                    proxy generic_worker
*          ^/_matrix/federation/(v1|v2)/invite/                                   proxy generic_worker
*          ^/_matrix/federation/v1/event_auth/                                    proxy generic_worker
*          ^/_matrix/federation/v1/timestamp_to_event/                            proxy generic_worker
*          ^/_matrix/federation/v1/exchange_third_party_invite/                   proxy generic_worker
*          ^/_matrix/federation/v1/user/devices/                                  proxy generic_worker
*          ^/_matrix/key/v2/query                                                 proxy generic_worker
*          ^/_matrix/federation/v1/hierarchy/                                     proxy generic_worker
*          ^/_matrix/federation/v1/send/                                          proxy generic_worker
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/createRoom$                   proxy generic_worker
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/publicRooms$                  proxy generic_worker
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/joined_members$      proxy generic_worker
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/context/.*$          proxy generic_worker
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/members$             proxy generic_worker
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/state$               proxy generic_worker
*          ^/_matrix/client/v1/rooms/.*/hierarchy$                                proxy generic_worker
*          ^/_matrix/client/(v1|unstable)/rooms/.*/relations/                     proxy generic_worker
*          ^/_matrix/client/v1/rooms/.*/threads$                                  proxy generic_worker
*          ^/_matrix/client/unstable/im.nheko.summary/summary/.*$                 proxy generic_worker
*          ^/_matrix/client/v1/room_summary/.*$                                   proxy generic_worker
*          ^/_matrix/client/(r0|v3|unstable)/account/3pid$                        proxy generic_worker
*          ^/_matrix/client/(r0|v3|unstable)/account/whoami$                      proxy generic_worker
*          ^/_matrix/client/(r0|v3|unstable)/account/deactivate$                  proxy generic_worker
*          ^/_matrix/client/(r0|v3)/delete_devices$                               proxy generic_worker
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/devices(/|$)                  proxy generic_worker
*          ^/_matrix/client/versions$                                             proxy generic_worker
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/voip/turnServer$              proxy generic_worker
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/event/               proxy generic_worker
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/joined_rooms$                 proxy generic_worker
*          ^/_matrix/client/v1/rooms/.*/timestamp_to_event$                       proxy generic_worker
*          ^/_matrix/client/(api/v1|r0|v3|unstable/.*)/rooms/.*/aliases           proxy generic_worker
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/search$                       proxy generic_worker
*          ^/_matrix/client/(r0|v3|unstable)/user/.*/filter(/|$)                  proxy generic_worker
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/directory/room/.*$            proxy generic_worker
*          ^/_matrix/client/(r0|v3|unstable)/capabilities$                        proxy generic_worker
*          ^/_matrix/client/(r0|v3|unstable)/notifications$                       proxy generic_worker
*          ^/_synapse/admin/v1/rooms/[^/]+$                                       proxy generic_worker
*          ^/_matrix/client/(r0|v3|unstable)/keys/query$                          proxy generic_worker
*          ^/_matrix/client/(r0|v3|unstable)/keys/changes$                        proxy generic_worker
*          ^/_matrix/client/(r0|v3|unstable)/keys/claim$                          proxy generic_worker
*          ^/_matrix/client/(r0|v3|unstable)/room_keys/                           proxy generic_worker
*          ^/_matrix/client/(r0|v3|unstable)/keys/upload                          proxy generic_worker
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/keys/device_signing/upload$   proxy generic_worker
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/keys/signatures/upload$       proxy generic_worker
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/login$                        proxy generic_worker
*          ^/_matrix/client/(r0|v3|unstable)/register$                            proxy generic_worker
*          ^/_matrix/client/(r0|v3|unstable)/register/available$                  proxy generic_worker
*          ^/_matrix/client/v1/register/m.login.registration_token/validity$      proxy generic_worker
*          ^/_matrix/client/(r0|v3|unstable)/password_policy$                     proxy generic_worker
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/redact               proxy generic_worker
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/send                 proxy generic_worker
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/state/               proxy generic_worker
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/(join|invite|leave|ban|unban|kick)$ proxy generic_worker
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/join/                         proxy generic_worker
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/knock/                        proxy generic_worker
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/profile/                      proxy generic_worker
*          ^/_matrix/client/(r0|v3|unstable)/user_directory/search$               proxy generic_worker
*          ^/_matrix/client/unstable/org.matrix.msc4140/delayed_events(/.*/restart)?$ proxy generic_worker

# workers.md generic_worker.sso: SSO endpoints, single process (NOT applicable with MAS: SSO is forbidden when MAS is enabled)
GET,POST   ^/_matrix/client/(api/v1|r0|v3|unstable)/login/sso/redirect            proxy sso
GET,POST   ^/_synapse/client/pick_idp$                                            proxy sso
GET,POST   ^/_synapse/client/pick_username                                        proxy sso
GET,POST   ^/_synapse/client/new_user_consent$                                    proxy sso
GET,POST   ^/_synapse/client/sso_register$                                        proxy sso
GET,POST   ^/_synapse/client/oidc/callback$                                       proxy sso
GET,POST   ^/_synapse/client/saml2/authn_response$                                proxy sso
GET,POST   ^/_matrix/client/(api/v1|r0|v3|unstable)/login/cas/ticket$             proxy sso

# workers.md generic_worker.user_directory: Any worker; optionally the update_user_directory_from_worker worker
*          ^/_matrix/client/(r0|v3|unstable)/user_directory/search$               proxy generic_worker

# workers.md user_dir.deprecated: legacy synapse.app.user_dir (deprecated)
*          ^/_matrix/client/(r0|v3|unstable)/user_directory/search$               proxy user_dir

# docker/configure_workers_and_start.py WORKERS_CONFIG user_dir
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/user_directory/search$        proxy user_dir

# docker/configure_workers_and_start.py WORKERS_CONFIG media_repository
*          ^/_matrix/media/                                                       proxy media_repository
*          ^/_synapse/admin/v1/purge_media_cache$                                 proxy media_repository
*          ^/_synapse/admin/v1/room/.*/media.*$                                   proxy media_repository
*          ^/_synapse/admin/v1/user/.*/media.*$                                   proxy media_repository
*          ^/_synapse/admin/v1/media/.*$                                          proxy media_repository
*          ^/_synapse/admin/v1/quarantine_media/.*$                               proxy media_repository
*          ^/_matrix/client/v1/media/.*$                                          proxy media_repository
*          ^/_matrix/federation/v1/media/.*$                                      proxy media_repository

# docker/configure_workers_and_start.py WORKERS_CONFIG synchrotron
GET        ^/_matrix/client/(v2_alpha|r0|v3)/sync$                                proxy synchrotron
GET        ^/_matrix/client/(api/v1|v2_alpha|r0|v3)/events$                       proxy synchrotron
GET        ^/_matrix/client/(api/v1|r0|v3)/initialSync$                           proxy synchrotron
GET        ^/_matrix/client/(api/v1|r0|v3)/rooms/[^/]+/initialSync$               proxy synchrotron

# docker/configure_workers_and_start.py WORKERS_CONFIG client_reader
GET        ^/_matrix/client/(api/v1|r0|v3|unstable)/publicRooms$                  proxy client_reader
GET        ^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/joined_members$      proxy client_reader
GET        ^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/context/.*$          proxy client_reader
GET        ^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/members$             proxy client_reader
GET        ^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/state$               proxy client_reader
GET        ^/_matrix/client/v1/rooms/.*/hierarchy$                                proxy client_reader
GET        ^/_matrix/client/(v1|unstable)/rooms/.*/relations/                     proxy client_reader
GET        ^/_matrix/client/v1/rooms/.*/threads$                                  proxy client_reader
GET        ^/_matrix/client/(api/v1|r0|v3|unstable)/login$                        proxy client_reader
GET        ^/_matrix/client/(api/v1|r0|v3|unstable)/account/3pid$                 proxy client_reader
GET        ^/_matrix/client/(api/v1|r0|v3|unstable)/account/whoami$               proxy client_reader
GET        ^/_matrix/client/(api/v1|r0|v3|unstable)/account/deactivate$           proxy client_reader
GET        ^/_matrix/client/(api/v1|r0|v3|unstable)/devices(/|$)                  proxy client_reader
GET        ^/_matrix/client/(r0|v3)/delete_devices$                               proxy client_reader
GET        ^/_matrix/client/versions$                                             proxy client_reader
GET        ^/_matrix/client/(api/v1|r0|v3|unstable)/voip/turnServer$              proxy client_reader
GET        ^/_matrix/client/(r0|v3|unstable)/register$                            proxy client_reader
GET        ^/_matrix/client/(r0|v3|unstable)/register/available$                  proxy client_reader
GET        ^/_matrix/client/(r0|v3|unstable)/auth/.*/fallback/web$                proxy client_reader
GET        ^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/messages$            proxy client_reader
GET        ^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/event                proxy client_reader
GET        ^/_matrix/client/(api/v1|r0|v3|unstable)/joined_rooms                  proxy client_reader
GET        ^/_matrix/client/(api/v1|r0|v3|unstable/.*)/rooms/.*/aliases           proxy client_reader
GET        ^/_matrix/client/v1/rooms/.*/timestamp_to_event$                       proxy client_reader
GET        ^/_matrix/client/(api/v1|r0|v3|unstable)/search                        proxy client_reader
GET        ^/_matrix/client/(r0|v3|unstable)/user/.*/filter(/|$)                  proxy client_reader
GET        ^/_matrix/client/(r0|v3|unstable)/password_policy$                     proxy client_reader
GET        ^/_matrix/client/(api/v1|r0|v3|unstable)/directory/room/.*$            proxy client_reader
GET        ^/_matrix/client/(r0|v3|unstable)/capabilities$                        proxy client_reader
GET        ^/_matrix/client/(r0|v3|unstable)/notifications$                       proxy client_reader
GET        ^/_matrix/client/(api/v1|r0|v3|unstable)/keys/upload                   proxy client_reader
GET        ^/_matrix/client/(api/v1|r0|v3|unstable)/keys/device_signing/upload$   proxy client_reader
GET        ^/_matrix/client/(api/v1|r0|v3|unstable)/keys/signatures/upload$       proxy client_reader
GET        ^/_matrix/client/unstable/org.matrix.msc4140/delayed_events(/.*/restart)?$ proxy client_reader

# docker/configure_workers_and_start.py WORKERS_CONFIG federation_reader
*          ^/_matrix/federation/v1/version$                                       proxy federation_reader
*          ^/_matrix/federation/(v1|v2)/event/                                    proxy federation_reader
*          ^/_matrix/federation/(v1|v2)/state/                                    proxy federation_reader
*          ^/_matrix/federation/(v1|v2)/state_ids/                                proxy federation_reader
*          ^/_matrix/federation/(v1|v2)/backfill/                                 proxy federation_reader
*          ^/_matrix/federation/(v1|v2)/get_missing_events/                       proxy federation_reader
*          ^/_matrix/federation/(v1|v2)/publicRooms                               proxy federation_reader
*          ^/_matrix/federation/(v1|v2)/query/                                    proxy federation_reader
*          ^/_matrix/federation/(v1|v2)/make_join/                                proxy federation_reader
*          ^/_matrix/federation/(v1|v2)/make_leave/                               proxy federation_reader
*          ^/_matrix/federation/(v1|v2)/send_join/                                proxy federation_reader
*          ^/_matrix/federation/(v1|v2)/send_leave/                               proxy federation_reader
*          ^/_matrix/federation/v1/make_knock/                                    proxy federation_reader
*          ^/_matrix/federation/v1/send_knock/                                    proxy federation_reader
*          ^/_matrix/federation/(v1|v2)/invite/                                   proxy federation_reader
*          ^/_matrix/federation/(v1|v2)/query_auth/                               proxy federation_reader
*          ^/_matrix/federation/(v1|v2)/event_auth/                               proxy federation_reader
*          ^/_matrix/federation/v1/timestamp_to_event/                            proxy federation_reader
*          ^/_matrix/federation/(v1|v2)/exchange_third_party_invite/              proxy federation_reader
*          ^/_matrix/federation/(v1|v2)/user/devices/                             proxy federation_reader
*          ^/_matrix/federation/(v1|v2)/get_groups_publicised$                    proxy federation_reader
*          ^/_matrix/key/v2/query                                                 proxy federation_reader

# docker/configure_workers_and_start.py WORKERS_CONFIG federation_inbound
PUT        /_matrix/federation/(v1|v2)/send/                                      proxy federation_inbound

# docker/configure_workers_and_start.py WORKERS_CONFIG event_creator
POST,PUT   ^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/redact               proxy event_creator
POST,PUT   ^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/send                 proxy event_creator
POST,PUT   ^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/(join|invite|leave|ban|unban|kick)$ proxy event_creator
POST,PUT   ^/_matrix/client/(api/v1|r0|v3|unstable)/join/                         proxy event_creator
POST,PUT   ^/_matrix/client/(api/v1|r0|v3|unstable)/knock/                        proxy event_creator
POST,PUT   ^/_matrix/client/(api/v1|r0|v3|unstable)/profile/                      proxy event_creator

# docker/configure_workers_and_start.py WORKERS_CONFIG account_data
*          ^/_matrix/client/(r0|v3|unstable)/.*/tags                              proxy account_data
*          ^/_matrix/client/(r0|v3|unstable)/.*/account_data                      proxy account_data

# docker/configure_workers_and_start.py WORKERS_CONFIG presence
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/presence/                     proxy presence

# docker/configure_workers_and_start.py WORKERS_CONFIG receipts
*          ^/_matrix/client/(r0|v3|unstable)/rooms/.*/receipt                     proxy receipts
*          ^/_matrix/client/(r0|v3|unstable)/rooms/.*/read_markers                proxy receipts

# docker/configure_workers_and_start.py WORKERS_CONFIG to_device
*          ^/_matrix/client/(r0|v3|unstable)/sendToDevice/                        proxy to_device

# docker/configure_workers_and_start.py WORKERS_CONFIG typing
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/typing               proxy typing

# docker/configure_workers_and_start.py WORKERS_CONFIG push_rules
*          ^/_matrix/client/(api/v1|r0|v3|unstable)/pushrules/                    proxy push_rules

# docker/configure_workers_and_start.py WORKERS_CONFIG thread_subscriptions
*          ^/_matrix/client/unstable/io.element.msc4306/.*                        proxy thread_subscriptions

# Not served by Synapse once MAS (here: Gatehouse) handles authentication (mas_notes).
*          ^/_synapse/mas/                                                        proxy main
*          ^/_matrix/client/[^/]+/logout(/all)?$                                  proxy main
*          ^/_matrix/client/[^/]+/refresh$                                        proxy main

# The catch-all of Synapse docs/reverse_proxy.md.
*          ^(/_matrix|/_synapse/client)                                           proxy main
"""#
}
