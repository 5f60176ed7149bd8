-- POST /oauth2/introspect as Synapse sends it, each time with a token never seen before: well-formed
-- (`mct_` + 30 random base62 characters + the CRC-32 checksum of TokenFormat), so it passes the format
-- check and is looked up in the store, where it is not found. Measures the store's lookup path, which
-- the cache hides in `introspect`.
-- Environment: GH_SECRET (shared secret).
local bit = require("bit")
local alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
local crc_table = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do
    if bit.band(c, 1) == 1 then c = bit.bxor(bit.rshift(c, 1), 0xEDB88320) else c = bit.rshift(c, 1) end
  end
  crc_table[i] = c
end

local function crc32(s)
  local crc = 0xFFFFFFFF
  for i = 1, #s do
    crc = bit.bxor(crc_table[bit.band(bit.bxor(crc, s:byte(i)), 0xFF)], bit.rshift(crc, 8))
  end
  crc = bit.bxor(crc, 0xFFFFFFFF)
  if crc < 0 then crc = crc + 4294967296 end
  return crc
end

-- Base62, least significant digit first, then left-padded with '0' to six characters (MAS's order).
local function checksum(n)
  local digits = ""
  repeat
    local d = n % 62
    digits = digits .. alphabet:sub(d + 1, d + 1)
    n = math.floor(n / 62)
  until n == 0
  return string.rep("0", 6 - #digits) .. digits
end

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

function request()
  local chars = {}
  for i = 1, 30 do
    local d = math.random(62)
    chars[i] = alphabet:sub(d, d)
  end
  local body = "mct_" .. table.concat(chars)
  local token = body .. "_" .. checksum(crc32(body))
  return wrk.format("POST", nil, {
    ["Authorization"] = "Bearer " .. os.getenv("GH_SECRET"),
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Accept"] = "application/json",
    ["X-MAS-Supports-Device-Id"] = "1",
    ["User-Agent"] = "Synapse/1.163.2",
  }, "token=" .. token .. "&token_type_hint=access_token")
end

function response(status, headers, body)
  if (status ~= 200 or not body:find('"active":false', 1, true)) and not reported then
    reported = true
    io.stderr:write("introspect-miss: first failure: HTTP " .. status .. " " .. body .. "\n")
  end
end
