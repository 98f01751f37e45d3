-- W1 claim on etcd for wrk (bench/group.sh): each request is the transaction
-- "create_revision(key) == 0 -> put key" on a key never used before (named by
-- BENCH_RUN, the thread and a counter), posted to the JSON gateway (POST
-- /v3/kv/txn, base64 keys and values), one at a time per connection. A reply that
-- is not 200 or whose txn did not succeed is counted and printed as "failed: N".

local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local k1 = math.floor(n / 262144) % 64
    local k2 = math.floor(n / 4096) % 64
    local k3 = math.floor(n / 64) % 64
    local k4 = n % 64
    out[#out + 1] = b64chars:sub(k1 + 1, k1 + 1) .. b64chars:sub(k2 + 1, k2 + 1) ..
        (b and b64chars:sub(k3 + 1, k3 + 1) or "=") .. (c and b64chars:sub(k4 + 1, k4 + 1) or "=")
  end
  return table.concat(out)
end

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- Runs share a cluster (unpipelined, then pipelined): the run's name keeps their keys apart.
local run = os.getenv("BENCH_RUN") or "run"
local counter = 0
failed = 0 -- global: done() reads it with thread:get
local value = base64("o1")
local headers = { ["Content-Type"] = "application/json" }

local function one()
  counter = counter + 1
  -- wrk also calls request() once in its main state, where there is no tid.
  local key = base64(string.format("c:%s:%d:%d", run, tid or -1, counter))
  local body = '{"compare":[{"key":"' .. key .. '","target":"CREATE","result":"EQUAL",' ..
      '"create_revision":"0"}],"success":[{"request_put":{"key":"' .. key ..
      '","value":"' .. value .. '"}}]}'
  return wrk.format("POST", nil, headers, body)
end

function request()
  return one()
end

function response(status, headers, body)
  if status ~= 200 or not body:find('"succeeded":true', 1, true) then
    failed = failed + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + (t:get("failed") or 0) end
  if total > 0 then io.write(string.format("failed: %d\n", total)) end
end
