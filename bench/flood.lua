-- wrk: password grants for random usernames (a guessing flood): each request
-- names a username nobody has, so every one costs the server a dummy hash.
wrk.method = "POST"
wrk.path = os.getenv("TOKEN_PATH")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
math.randomseed(os.time())

function request()
  local body = string.format(
    "grant_type=password&client_id=app&username=flood-%d-%d&password=guess",
    math.random(1, 1000000000), math.random(1, 1000000000))
  return wrk.format(nil, nil, nil, body)
end

-- Count answers by status in each thread; report them at the end.
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

shed, refused, other = 0, 0, 0
function response(status, headers, body)
  if status == 503 then
    shed = shed + 1
  elseif status == 401 then
    refused = refused + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local s, r, o = 0, 0, 0
  for _, thread in ipairs(threads) do
    s = s + thread:get("shed")
    r = r + thread:get("refused")
    o = o + thread:get("other")
  end
  io.write(string.format("statuses: 503=%d 401=%d other=%d\n", s, r, o))
end
