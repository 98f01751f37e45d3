-- W3 idempotent transfer for Redis, mirroring exactly's TRANSFER outcomes.
-- KEYS[1] transfer id key, KEYS[2] from balance, KEYS[3] to balance; ARGV[1] amount.
-- The id key stores the first outcome (kept 30 days, exactly's default retention),
-- so a retry answers `again` after `ok` and repeats a refusal.
local first = redis.call('GET', KEYS[1])
if first then
  if first == 'ok' then return 'again' end
  return first
end
local amount = tonumber(ARGV[1])
local from = tonumber(redis.call('GET', KEYS[2]))
if from == nil or redis.call('EXISTS', KEYS[3]) == 0 then
  return 'no_account'
end
local outcome = 'ok'
if from - amount < 0 then
  outcome = 'insufficient'
else
  redis.call('DECRBY', KEYS[2], amount)
  redis.call('INCRBY', KEYS[3], amount)
end
redis.call('SET', KEYS[1], outcome, 'EX', 2592000)
return outcome
