-- wrk: POST chat completions whose question differs on every request, so
-- none can be answered from the cache (the uncached proxy path). The tag
-- makes every run and every thread ask new questions (wrk seeds math.random
-- the same way each run, so a random number alone would repeat the last
-- run's questions and turn them into cache hits).
local counter = 0
local tag = ""
init = function(args)
  tag = tostring(os.time()) .. "-" .. tostring({}):sub(8)
end
request = function()
  counter = counter + 1
  local body = '{"model":"bench","messages":[{"role":"user","content":"question ' ..
               tostring(counter) .. ' of run ' .. tag .. '"}]}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
