-- POST /oauth2/token with grant_type=refresh_token, chaining each answer's new refresh token into a
-- later request (every refresh token is used exactly once, as a client does).
-- Environment: GH_OAUTH_DIR, written by oauth_setup.py (client_id, refresh.txt with at least as many
-- tokens as connections, plus spares: wrk asks for one request more than it sends).
-- Prints "ok_per_sec N" (successful refreshes per second).
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local dir = os.getenv("GH_OAUTH_DIR")
  local file = assert(io.open(dir .. "/client_id", "r"))
  client_id = file:read("*a")
  file:close()
  tokens = {}
  for line in io.lines(dir .. "/refresh.txt") do
    if #line > 0 then table.insert(tokens, line) end
  end
  ok = 0
end

function request()
  local token = table.remove(tokens) or "mar_none"
  return wrk.format("POST", nil, { ["Content-Type"] = "application/x-www-form-urlencoded" },
    "grant_type=refresh_token&client_id=" .. client_id .. "&refresh_token=" .. token)
end

function response(status, headers, body)
  if status ~= 200 and not reported then
    reported = true
    io.stderr:write("refresh: first failure: HTTP " .. status .. " " .. body .. "\n")
  end
  if status == 200 then
    ok = ok + 1
    local token = body:match('"refresh_token"%s*:%s*"(mar_[%w_]+)"')
    if token then table.insert(tokens, token) end
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("ok") end
  io.write(string.format("ok_per_sec %.1f\n", total / (summary.duration / 1e6)))
end
