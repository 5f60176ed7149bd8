-- POST /_matrix/client/v3/login with a password (a new device per login).
-- Environment: GH_USER, GH_PASSWORD.
wrk.method = "POST"
wrk.body = '{"type":"m.login.password","identifier":{"type":"m.id.user","user":"' .. os.getenv("GH_USER") ..
  '"},"password":"' .. os.getenv("GH_PASSWORD") .. '"}'
wrk.headers["Content-Type"] = "application/json"
