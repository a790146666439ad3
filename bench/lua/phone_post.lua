-- POST a JSON body with a phone never used before in this run.
-- wrk ... -s phone_post.lua URL -- <path> <base> <per_thread> [code]
--   thread n (1, 2, ...) sends phones base + (n-1)*per_thread + 0, 1, 2, ...
--   as +7999 and seven digits; with a code, the body carries it too (step 2).
package.path = "bench/lua/?.lua;" .. package.path
require("common")

local path, base, per_thread, code
local i = 0

function init(args)
  path = args[1]
  per_thread = tonumber(args[3])
  base = tonumber(args[2]) + (id - 1) * per_thread
  code = args[4]
end

function request()
  local n = base + i
  i = i + 1
  local body
  if code then
    body = string.format('{"phone": "+7999%07d", "code": "%s"}', n, code)
  else
    body = string.format('{"phone": "+7999%07d"}', n)
  end
  return wrk.format("POST", path, {["Content-Type"] = "application/json"}, body)
end
