-- GET a path with one header: wrk ... -s header_get.lua URL -- <path> <name> <value>
-- (e.g. "Authorization" "Api-Key ...", or "Cookie" "sessionid=...").
package.path = "bench/lua/?.lua;" .. package.path
require("common")

local req

function init(args)
  req = wrk.format("GET", args[1], {[args[2]] = args[3]})
end

function request()
  return req
end
