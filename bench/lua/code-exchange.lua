-- POST /oauth2/token with grant_type=authorization_code, each code once (PKCE S256, public client).
-- Environment: GH_OAUTH_DIR, written by oauth_setup.py (client_id, verifier, redirect_uri, codes.txt).
-- Prints "ok_per_sec N" (successful exchanges per second) and warns if the codes ran out.
local threads = {}

local function read(path)
  local file = assert(io.open(path, "r"))
  local text = file:read("*a")
  file:close()
  return text
end

local function urlencode(text)
  return (text:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local dir = os.getenv("GH_OAUTH_DIR")
  codes = {}
  for line in io.lines(dir .. "/codes.txt") do
    if #line > 0 then table.insert(codes, line) end
  end
  next_code = 1
  prefix = "grant_type=authorization_code&client_id=" .. urlencode(read(dir .. "/client_id")) ..
    "&redirect_uri=" .. urlencode(read(dir .. "/redirect_uri")) ..
    "&code_verifier=" .. urlencode(read(dir .. "/verifier")) .. "&code="
  ok = 0
  ran_out = 0
end

function request()
  local code = codes[next_code]
  if code == nil then
    ran_out = 1
    code = "exhausted"
  end
  next_code = next_code + 1
  return wrk.format("POST", nil, { ["Content-Type"] = "application/x-www-form-urlencoded" }, prefix .. code)
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
  elseif not reported and status ~= 200 then
    reported = true
    io.stderr:write("code-exchange: first failure: HTTP " .. status .. " " .. body .. "\n")
  end
end

function done(summary, latency, requests)
  local total, exhausted = 0, 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("ok")
    exhausted = exhausted + thread:get("ran_out")
  end
  io.write(string.format("ok_per_sec %.1f\n", total / (summary.duration / 1e6)))
  if exhausted > 0 then io.write("warning: the codes ran out; raise CODES\n") end
end
