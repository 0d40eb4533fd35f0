-- wrk: POST chat completions whose question differs on every request, so
-- none can be answered from the cache (the uncached proxy path).
local counter = 0
request = function()
  counter = counter + 1
  local body = '{"model":"bench","messages":[{"role":"user","content":"question ' ..
               tostring(counter) .. ' from thread ' .. tostring(math.random(1e9)) .. '"}]}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
