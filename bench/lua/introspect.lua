-- POST /oauth2/introspect exactly as Synapse sends it (headers and form body).
-- Environment: GH_SECRET (shared secret), GH_TOKEN (an active access token).
wrk.method = "POST"
wrk.body = "token=" .. os.getenv("GH_TOKEN") .. "&token_type_hint=access_token"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("GH_SECRET")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/json"
wrk.headers["X-MAS-Supports-Device-Id"] = "1"
wrk.headers["User-Agent"] = "Synapse/1.163.2"
