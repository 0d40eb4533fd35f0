-- wrk: POST /chat with a different question and a new conversation on
-- every request, so none is a cache hit and every one loads and appends
-- history (see post_unique.lua for why the tag).
local counter = 0
local tag = ""
init = function(args)
  tag = tostring(os.time()) .. "-" .. tostring({}):sub(8)
end
request = function()
  counter = counter + 1
  local body = '{"message":"How do I upload a document? (' .. tostring(counter) ..
               ')","conversation_id":"b' .. tostring(counter) .. '-' .. tag .. '"}'
  return wrk.format("POST", "/chat", {["Content-Type"] = "application/json"}, body)
end
