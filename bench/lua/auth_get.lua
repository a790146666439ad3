-- GET a path with a bearer token: wrk ... -s auth_get.lua URL -- <path> <token>
package.path = "bench/lua/?.lua;" .. package.path
require("common")

local req

function init(args)
  req = wrk.format("GET", args[1], {["Authorization"] = "Bearer " .. args[2]})
end

function request()
  return req
end
