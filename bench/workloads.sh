# The workloads' definitions, shared by bench/run.sh and bench/instructions.sh (sourced):
# key spaces, the fixtures each system needs, and each system's op.
# A system here is exactly-*, redis-* (or plain exactly, redis); W4's op is only the
# acquire (bench/lock_load.cc drives the whole op in run.sh).

# Key spaces. W1/W2 draw from 10^8 so almost every op hits a new key; W3 uses two
# pools of 5,000 accounts (payers a:, payees b:) so from != to by construction:
# redis-benchmark exits on the first error reply, and a from == to transfer is one.
claim_range=100000000
draw_range=100000000
pool=5000
fund=1000000
stock=1000000000
# W4: 10,000 lock names, 5 s leases; W5: 100,000 limit keys, 100 requests per 1,000 ms.
lock_names=10000
lease_ms=5000
limit_range=100000
limit_n=100
limit_ms=1000

# Prints the setup commands (one per line) for resp.py.
resp_setup() {
  local system=$1 w=$2 i id
  case "${system%%-*}:$w" in
    exactly:W1 | redis:W1) ;;
    exactly:W2)
      printf '%s\n' "ACCOUNT stock" "ACCOUNT src MIN -inf" \
        "TRANSFER fund src stock $stock" "ACCOUNT won MAX +inf"
      ;;
    redis:W2) echo "SET stock $stock" ;;
    exactly:W3)
      echo "ACCOUNT src MIN -inf"
      for ((i = 0; i < pool; i++)); do
        printf -v id '%012d' "$i"
        printf 'ACCOUNT a:%s\nACCOUNT b:%s\nTRANSFER fund:a:%s src a:%s %d\nTRANSFER fund:b:%s src b:%s %d\n' \
          "$id" "$id" "$id" "$id" "$fund" "$id" "$id" "$fund"
      done
      ;;
    redis:W3)
      for ((i = 0; i < pool; i++)); do
        printf -v id '%012d' "$i"
        printf 'SET a:%s %d\nSET b:%s %d\n' "$id" "$fund" "$id" "$fund"
      done
      ;;
  esac
}

# Sets op (array) and range for redis-benchmark; $3 is the loaded script's sha, if any.
resp_op() {
  local system=$1 w=$2 sha=${3:-}
  case "${system%%-*}:$w" in
    exactly:W1) op=(CLAIM 'c:__rand_int__' o1); range=$claim_range ;;
    redis:W1) op=(SET 'c:__rand_int__' o1 NX); range=$claim_range ;;
    exactly:W2) op=(TRANSFER 'draw:__rand_int__' stock won 1); range=$draw_range ;;
    redis:W2) op=(EVALSHA "$sha" 2 stock winners '__rand_int__'); range=$draw_range ;;
    exactly:W3)
      op=(TRANSFER 't:__rand_int__:__rand_int__:__rand_int__' 'a:__rand_int__' 'b:__rand_int__' 1)
      range=$pool
      ;;
    redis:W3)
      op=(EVALSHA "$sha" 3 't:__rand_int__:__rand_int__:__rand_int__' 'a:__rand_int__'
        'b:__rand_int__' 1)
      range=$pool
      ;;
    # W4 is driven by lock_load, not redis-benchmark; op is only the smoke's acquire.
    exactly:W4) op=(LOCK 'l:__rand_int__' o LEASE "$lease_ms"); range=$lock_names ;;
    redis:W4) op=(SET 'l:__rand_int__' t NX PX "$lease_ms"); range=$lock_names ;;
    exactly:W5) op=(LIMIT 'r:__rand_int__' WINDOW "$limit_n" PER "$limit_ms"); range=$limit_range ;;
    redis:W5) op=(EVALSHA "$sha" 1 'r:__rand_int__' "$limit_n" "$limit_ms"); range=$limit_range ;;
  esac
}


# The Lua script (under bench/redis/) of Redis' op in workload $1, if it has one.
redis_script() {
  case "$1" in
    W2) echo flash_sale.lua ;;
    W3) echo transfer.lua ;;
    W4) echo unlock.lua ;;
    W5) echo rate_limit.lua ;;
  esac
}
