-- POST a JSON body with a different bearer token each time (tokens from a file, one a line):
-- wrk ... -s auth_post.lua URL -- <path> <tokens_file> <body>
--   thread n uses lines n, n + threads, ... so no token is sent twice.
package.path = "bench/lua/?.lua;" .. package.path
require("common")

local path, body
local tokens = {}
local i = 0

function init(args)
  path, body = args[1], args[3]
  local all = {}
  for line in io.lines(args[2]) do
    table.insert(all, line)
  end
  local nthreads = tonumber(args[4])
  for k = id, #all, nthreads do
    table.insert(tokens, all[k])
  end
end

function request()
  i = i + 1
  local token = tokens[i] or "exhausted"
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token
  }, body)
end
