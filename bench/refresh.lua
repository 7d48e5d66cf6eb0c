-- wrk: refresh_token grant that follows rotation. Each answer's new refresh token
-- goes back into this thread's queue, so every chain always presents its newest
-- token. Starting tokens come from $TOKENS_FILE, dealt round-robin to threads.
local threads_started = 0
function setup(thread)
  thread:set("thread_index", threads_started)
  threads_started = threads_started + 1
end

local queue, first, last = {}, 1, 0
local path = os.getenv("TOKEN_PATH")
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }

function init(args)
  local threads = tonumber(os.getenv("THREADS"))
  local i = 0
  for line in io.lines(os.getenv("TOKENS_FILE")) do
    if i % threads == thread_index then
      last = last + 1
      queue[last] = line
    end
    i = i + 1
  end
end

function request()
  if first > last then
    -- A chain broke (an error answer carries no token): count it as a failure.
    return wrk.format("GET", "/bench-no-token-left")
  end
  local token = queue[first]
  queue[first] = nil
  first = first + 1
  return wrk.format("POST", path, headers,
    "grant_type=refresh_token&client_id=app&refresh_token=" .. token)
end

-- Optional pacing ($REFRESH_DELAY_MS per request and connection) for a steady
-- background load instead of a closed loop at full speed.
local pause = tonumber(os.getenv("REFRESH_DELAY_MS") or "0")
if pause > 0 then
  function delay()
    return pause
  end
end

function response(status, headers, body)
  local token = body:match('"refresh_token":"([^"]+)"')
  if token then
    last = last + 1
    queue[last] = token
  end
end
