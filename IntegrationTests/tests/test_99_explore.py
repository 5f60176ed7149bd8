from test_13_compat_login import *

def test_explore_cache(gatehouse, secret, h1):
    name = register(gatehouse, "explore-cache")
    a = logged_in(password_login(h1, name, device_id="EXPL", refresh_token=True), name)
    assert_works(gatehouse, a["access_token"], name)
    b = logged_in(password_login(h1, name, device_id="EXPL"), name)
    print("same-device, cached first token whoami:", whoami(gatehouse, a["access_token"]).status_code)
    c = logged_in(password_login(h1, name, refresh_token=True), name)
    assert_works(gatehouse, c["access_token"], name)
    r = h1.post("/_matrix/client/v3/refresh", json={"refresh_token": c["refresh_token"]})
    print("refresh:", r.status_code, r.text)
    print("refreshed-away, cached token whoami:", whoami(gatehouse, c["access_token"]).status_code)
    print("introspect old", introspect(gatehouse, secret, c["access_token"]))
    assert False
