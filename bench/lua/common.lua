-- Shared by the bench scripts: per-thread ids, a non-2xx counter, and a JSON summary at the
-- end (one line starting with "BENCH ", read by bench/run.py).
local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

bad = 0
function response(status, headers, body)
  if status < 200 or status > 299 then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local nbad = 0
  for _, t in ipairs(threads) do
    nbad = nbad + (t:get("bad") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "non2xx": %d, ' ..
    '"socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), nbad,
    e.connect + e.read + e.write + e.timeout))
end
