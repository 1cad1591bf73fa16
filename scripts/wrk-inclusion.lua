-- wrk script: random inclusion proofs at a fixed tree size.
--   wrk -t1 -c64 -d30s -s scripts/wrk-inclusion.lua http://127.0.0.1:7350 -- SIZE
-- Each request asks GET /proof/inclusion?index=I&size=SIZE for a uniformly
-- random I < SIZE; non-200 answers are counted and printed at the end.
local size
local counter = 0
local bad = 0

function init(args)
  size = tonumber(args[1])
  assert(size and size > 0, "pass the tree size after --")
  math.randomseed(os.time() + counter)
end

function request()
  local i = math.random(0, size - 1)
  return wrk.format("GET", "/proof/inclusion?index=" .. i .. "&size=" .. size)
end

function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
    if bad <= 3 then io.stderr:write("status " .. status .. ": " .. body .. "\n") end
  end
end
