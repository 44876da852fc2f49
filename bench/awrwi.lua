-- wrk script for bench/awrwi.py: POSTs AssumeRoleWithWebIdentity forms read
-- from a file (one complete url-encoded body per line, each with its own
-- pre-minted token), rotating through them so consecutive requests never
-- repeat a token. Each wrk thread starts at a different line.
--
--   wrk -t2 -c16 -d10s -s bench/awrwi.lua http://127.0.0.1:PORT/ -- BODIES_FILE

local bodies = {}
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local path = args[1]
  if path == nil then
    error("usage: wrk ... -s awrwi.lua URL -- BODIES_FILE")
  end
  for line in io.lines(path) do
    if #line > 0 then
      table.insert(bodies, line)
    end
  end
  if #bodies == 0 then
    error("no request bodies in " .. path)
  end
  -- Spread the threads over the token list.
  index = (id * 7919) % #bodies
  failures = 0
  wrk.method = "POST"
  wrk.path = "/"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
end

function request()
  index = index % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[index])
end

function response(status, headers, body)
  if status ~= 200 then
    failures = failures + 1
    if failures == 1 then
      io.stderr:write("first failure: HTTP " .. status .. " " .. string.sub(body, 1, 300) .. "\n")
    end
  end
end

function done(summary, latency, requests)
  local f = 0
  for _, t in ipairs(threads) do
    f = f + (t:get("failures") or 0)
  end
  io.write(string.format("awrwi.lua: %d requests, %d failures\n", summary.requests, f))
end
