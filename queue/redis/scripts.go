package redis

import "github.com/redis/rueidis"

// Every script reads the time from the Redis server, so consumers with
// skewed clocks agree on due times and lease deadlines.
const nowMillis = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// enqueueScript stores a job and makes it ready.
// KEYS: ready, payload, enqueued. ARGV: id, payload.
var enqueueScript = rueidis.NewLuaScript(nowMillis + `
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[1], now)
redis.call('LPUSH', KEYS[1], ARGV[1])
return now
`)

// takeScript moves due retries and expired leases back to ready, then
// leases up to ARGV[2] ready jobs for ARGV[1] milliseconds and returns
// them as a flat list of id, payload, attempt, enqueued-at quadruples.
// KEYS: ready, delayed, leased, payload, attempts, enqueued.
var takeScript = rueidis.NewLuaScript(nowMillis + `
for i = 2, 3 do
  local due = redis.call('ZRANGEBYSCORE', KEYS[i], '-inf', now, 'LIMIT', 0, 100)
  for _, id in ipairs(due) do
    redis.call('ZREM', KEYS[i], id)
    redis.call('RPUSH', KEYS[1], id)
  end
end
local out = {}
local deadline = now + tonumber(ARGV[1])
for _ = 1, tonumber(ARGV[2]) do
  local id = redis.call('RPOP', KEYS[1])
  if not id then break end
  local payload = redis.call('HGET', KEYS[4], id)
  if payload then
    -- Lease first, and never let a corrupted attempts field raise an error
    -- here: Redis would not undo the RPOP above, and the job would be lost.
    redis.call('ZADD', KEYS[3], deadline, id)
    local attempt = (tonumber(redis.call('HGET', KEYS[5], id)) or 0) + 1
    redis.call('HSET', KEYS[5], id, attempt)
    out[#out + 1] = id
    out[#out + 1] = payload
    out[#out + 1] = attempt
    out[#out + 1] = redis.call('HGET', KEYS[6], id) or '0'
  end
end
return out
`)

// ackScript removes a job if the caller still holds its lease (the
// attempt matches). It returns 1 when the job was removed.
// KEYS: leased, payload, attempts, enqueued. ARGV: id, attempt.
var ackScript = rueidis.NewLuaScript(`
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then return 0 end
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
return 1
`)

// nackScript reschedules a job ARGV[3] milliseconds ahead if the caller
// still holds its lease. It returns 1 when the job was rescheduled.
// KEYS: leased, delayed, ready, attempts. ARGV: id, attempt, delay.
var nackScript = rueidis.NewLuaScript(nowMillis + `
if redis.call('HGET', KEYS[4], ARGV[1]) ~= ARGV[2] then return 0 end
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
local delay = tonumber(ARGV[3])
if delay > 0 then
  redis.call('ZADD', KEYS[2], now + delay, ARGV[1])
else
  redis.call('RPUSH', KEYS[3], ARGV[1])
end
return 1
`)

// renewScript extends the leases that the caller still holds by ARGV[1]
// milliseconds from now and returns how many it extended.
// KEYS: leased, attempts. ARGV: lease, then id, attempt pairs.
var renewScript = rueidis.NewLuaScript(nowMillis + `
local deadline = now + tonumber(ARGV[1])
local n = 0
for i = 2, #ARGV, 2 do
  if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[i + 1] and redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], deadline, ARGV[i])
    n = n + 1
  end
end
return n
`)

// pendingScript counts the stored jobs at one instant: ready, delayed and
// leased.
// KEYS: ready, delayed, leased.
var pendingScript = rueidis.NewLuaScript(`
return redis.call('LLEN', KEYS[1]) + redis.call('ZCARD', KEYS[2]) + redis.call('ZCARD', KEYS[3])
`)
