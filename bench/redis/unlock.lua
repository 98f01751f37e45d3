-- W4 lock release for Redis: delete the lock only if it still holds this caller's token
-- (the compare-and-delete of the usual SET NX PX lock recipe).
-- KEYS[1] lock name; ARGV[1] the token the acquire stored. Returns 1 released, 0 not.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
