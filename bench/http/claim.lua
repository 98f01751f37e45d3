-- wrk script of HTTP W1 (bench/run.sh): POST /v1/claim, every request a new key.
-- Arguments after `--`: a key prefix unique to the run, and the pipeline depth (how
-- many requests each write carries; wrk counts each response).
-- Keys are "<prefix>:<thread>:<n>", so no two requests of a run, or of two runs on one
-- server, claim the same key: every answer is `won`, as W1's RESP op on a fresh key.

local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

local prefix, depth, counter

function init(args)
  prefix = args[1] or "h"
  depth = tonumber(args[2] or "1")
  counter = 0
end

local headers = {["Content-Type"] = "application/json"}

local function one()
  counter = counter + 1
  local body = string.format('{"key":"%s:%d:%d","owner":"o1"}', prefix, thread_id, counter)
  return wrk.format("POST", "/v1/claim", headers, body)
end

function request()
  if depth == 1 then return one() end
  local batch = {}
  for i = 1, depth do batch[i] = one() end
  return table.concat(batch)
end
