-- W2 flash sale for Redis: "if this user has not won and stock > 0, take one".
-- KEYS[1] stock counter, KEYS[2] set of winners; ARGV[1] user id.
-- Runs atomically inside Redis, so it is the strongest Redis equivalent of
-- exactly's TRANSFER draw:<user> stock won 1.
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  return 'again'
end
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n <= 0 then
  return 'insufficient'
end
redis.call('DECR', KEYS[1])
redis.call('SADD', KEYS[2], ARGV[1])
return 'ok'
