-- W5 fixed-window rate limit for Redis: the INCR + PEXPIRE idiom (S3's limiter).
-- The window starts at the key's first request and lasts ARGV[2] ms; a request is
-- limited when it would be the (ARGV[1] + 1)th in the window.
-- KEYS[1] limit key; ARGV[1] requests per window, ARGV[2] window ms.
local n = redis.call('INCR', KEYS[1])
if n == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if n > tonumber(ARGV[1]) then
  return 'limited'
end
return 'allowed'
