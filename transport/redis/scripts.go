package redis

import "github.com/redis/rueidis"

// The store is a set of Lua scripts: each write is one script, so it is
// atomic and decides its transitions in the same step. Every key lives
// under KEYS[1], the driver's base (prefix plus one hash tag), so that a
// script touches one slot on Redis Cluster. Layout, with B the base:
//
//	B:e            epoch, a random token set at the first registration
//	               after the store was empty; a write naming another
//	               epoch learns the store was wiped
//	B:l            ZSET incarnation -> lease expiry (server ms)
//	B:n            HASH incarnation -> node name
//	B:d            ZSET reaped incarnation -> when (tombstones, 1 h)
//	B:h            ZSET channel key -> earliest pending hold
//	B:i:<inc>      ZSET keys the incarnation wrote -> 0 while it
//	               contributes, else when it stopped (its version is
//	               forgotten a minute later)
//	B:o:<n>:<app>  SET occupied channels of app
//	B:c:<n>:<app>:<channel>
//	               HASH k=c A=app C=channel S=subscribers q=seq
//	               vd/vq=vacate hold due/seq, s:<inc>=subscribers,
//	               v:<inc>=version, n:<user>=user's sockets,
//	               m:<inc>:<user>=inc's sockets of user, k:<inc>=inc's
//	               member count, rq:<user>=seq of a held removal
//	  ...:i        HASH member -> user_info (the member list)
//	  ...:r        ZSET held member_removed -> due
//	B:u:<n>:<app>:<user>  HASH k=u A U T=signed-in sockets s:<inc> v:<inc>
//	B:a:<n>:<app>         HASH k=a A T=connections s:<inc> v:<inc>
//
// <n> is the byte length of app, so that names cannot collide whatever
// they contain. Records without contributions expire after a day, so
// that their sequence survives a brief vacancy while idle ones go away;
// the registry keys (e, l, n, d, h) expire a day after the last node
// renewed, so that a prefix nobody uses leaves nothing behind.
//
// Transitions come back flat, seven fields each: kind, app, channel,
// user, resumed (0/1), seq, info.

const prelude = `
local B = KEYS[1]
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function num(v)
  if v then return tonumber(v) end
  return 0
end
-- newer compares versions written as 20 zero-padded digits, in two
-- halves so that each fits a Lua number exactly.
local function newer(v, old)
  if not old then return true end
  local a, b = tonumber(string.sub(v, 1, 10)), tonumber(string.sub(old, 1, 10))
  if a ~= b then return a > b end
  return tonumber(string.sub(v, 11)) > tonumber(string.sub(old, 11))
end
-- guard returns why incarnation inc of epoch may not act, or nil.
local function guard(inc, epoch, now)
  if redis.call('GET', B .. ':e') ~= epoch then return 'WIPED' end
  local exp = redis.call('ZSCORE', B .. ':l', inc)
  if not exp then
    if redis.call('ZSCORE', B .. ':d', inc) then return 'REAPED' end
    return 'GONE'
  end
  if tonumber(exp) <= now then return 'EXPIRED' end
  return nil
end
local function ckey(app, chan) return B .. ':c:' .. #app .. ':' .. app .. ':' .. chan end
local function ukey(app, user) return B .. ':u:' .. #app .. ':' .. app .. ':' .. user end
local function akey(app) return B .. ':a:' .. #app .. ':' .. app end
local function push(out, kind, app, chan, user, resumed, seq, info)
  local n = #out
  out[n + 1] = kind
  out[n + 2] = app
  out[n + 3] = chan
  out[n + 4] = user
  out[n + 5] = resumed and 1 or 0
  out[n + 6] = seq
  out[n + 7] = info or ''
end
local function track(inc, key, on, now)
  local score = now
  if on then score = 0 end
  redis.call('ZADD', B .. ':i:' .. inc, score, key)
end
local function schedule(ck, at)
  redis.call('ZADD', B .. ':h', 'LT', at, ck)
  redis.call('PEXPIRE', B .. ':h', 86400000)
end
-- The registry keys expire a day after the last node touched them, so
-- that a prefix nobody uses any more leaves nothing behind.
local function touch(key) redis.call('PEXPIRE', key, 86400000) end
-- keep expires a record without contributions or holds after a day.
local function keep(key, empty)
  if empty then redis.call('PEXPIRE', key, 86400000) else redis.call('PERSIST', key) end
end
local function settle(ck)
  keep(ck, num(redis.call('HGET', ck, 'S')) == 0 and redis.call('EXISTS', ck .. ':i') == 0 and
    redis.call('EXISTS', ck .. ':r') == 0 and redis.call('HEXISTS', ck, 'vd') == 0)
end

-- apply_channel sets inc's subscribers of a channel and its sockets of
-- each member in members ({user, sockets, info}, sorted), appending the
-- transitions to out. quiet (restore) reports none and holds nothing;
-- hold < 0 confirms removals at once.
local function apply_channel(app, chan, inc, subs, members, hold, now, quiet, out)
  local ck = ckey(app, chan)
  if redis.call('HSETNX', ck, 'k', 'c') == 1 then redis.call('HSET', ck, 'A', app, 'C', chan) end
  local function seq() return redis.call('HINCRBY', ck, 'q', 1) end
  local before = num(redis.call('HGET', ck, 'S'))
  local total = before + subs - num(redis.call('HGET', ck, 's:' .. inc))
  redis.call('HSET', ck, 'S', total)
  if subs > 0 then redis.call('HSET', ck, 's:' .. inc, subs) else redis.call('HDEL', ck, 's:' .. inc) end
  local occ = B .. ':o:' .. #app .. ':' .. app
  if before == 0 and total > 0 then
    local resumed = redis.call('HEXISTS', ck, 'vd') == 1
    redis.call('HDEL', ck, 'vd', 'vq')
    redis.call('SADD', occ, chan)
    if not quiet then push(out, 1, app, chan, '', resumed, seq(), '') end
  end
  for _, m in ipairs(members) do
    local user, n = m[1], m[2]
    local mk = 'm:' .. inc .. ':' .. user
    local mine = num(redis.call('HGET', ck, mk))
    local ub = num(redis.call('HGET', ck, 'n:' .. user))
    local ut = ub + n - mine
    if n > 0 then
      if mine == 0 then redis.call('HINCRBY', ck, 'k:' .. inc, 1) end
      redis.call('HSET', ck, mk, n)
    elseif mine > 0 then
      redis.call('HDEL', ck, mk)
      if redis.call('HINCRBY', ck, 'k:' .. inc, -1) <= 0 then redis.call('HDEL', ck, 'k:' .. inc) end
    end
    if ut > 0 then redis.call('HSET', ck, 'n:' .. user, ut) else redis.call('HDEL', ck, 'n:' .. user) end
    if ub == 0 and ut > 0 then
      local resumed = redis.call('ZREM', ck .. ':r', user) == 1
      redis.call('HDEL', ck, 'rq:' .. user)
      redis.call('HSET', ck .. ':i', user, m[3])
      if not quiet then push(out, 4, app, chan, user, resumed, seq(), m[3]) end
    elseif ub > 0 and ut == 0 then
      redis.call('HDEL', ck .. ':i', user)
      if not quiet then
        local s = seq()
        push(out, 5, app, chan, user, false, s, '')
        if hold < 0 then
          push(out, 6, app, chan, user, false, s, '')
        else
          redis.call('ZADD', ck .. ':r', now + hold, user)
          redis.call('HSET', ck, 'rq:' .. user, s)
          schedule(ck, now + hold)
        end
      end
    end
  end
  if before > 0 and total == 0 then
    redis.call('SREM', occ, chan)
    if not quiet then
      local s = seq()
      push(out, 2, app, chan, '', false, s, '')
      if hold < 0 then
        push(out, 3, app, chan, '', false, s, '')
      else
        redis.call('HSET', ck, 'vd', now + hold, 'vq', s)
        schedule(ck, now + hold)
      end
    end
  end
  track(inc, ck, subs > 0 or num(redis.call('HGET', ck, 'k:' .. inc)) > 0, now)
  settle(ck)
end

-- apply_count sets inc's count in a user or app record; it returns the
-- total before and after.
local function apply_count(key, kind, app, user, inc, n, now)
  if redis.call('HSETNX', key, 'k', kind) == 1 then redis.call('HSET', key, 'A', app, 'U', user) end
  local before = num(redis.call('HGET', key, 'T'))
  local after = before + n - num(redis.call('HGET', key, 's:' .. inc))
  redis.call('HSET', key, 'T', after)
  if n > 0 then redis.call('HSET', key, 's:' .. inc, n) else redis.call('HDEL', key, 's:' .. inc) end
  track(inc, key, n > 0, now)
  keep(key, after == 0)
  return before, after
end

local function apply_user(app, user, inc, n, now, quiet, out)
  local before, after = apply_count(ukey(app, user), 'u', app, user, inc, n, now)
  if not quiet then
    if before == 0 and after > 0 then push(out, 7, app, '', user, false, 0, '') end
    if before > 0 and after == 0 then push(out, 8, app, '', user, false, 0, '') end
  end
  return after
end

-- remove_all takes up to limit (-1: all) of the keys inc wrote out of
-- the store, through the usual transitions unless quiet, and forgets its
-- versions of them. It returns true once none is left: a node's removal
-- may take several calls, so that no call blocks Redis for long, and
-- each key is removed by exactly one of them.
local function remove_all(inc, hold, now, quiet, out, limit)
  local idx = B .. ':i:' .. inc
  local stop = limit - 1
  if limit < 0 then stop = -1 end
  local keys = redis.call('ZRANGE', idx, 0, stop)
  table.sort(keys)
  for _, key in ipairs(keys) do
    local f = redis.call('HMGET', key, 'k', 'A', 'C', 'U')
    if f[1] == 'c' then
      local members = {}
      local all = redis.call('HGETALL', key)
      local p = 'm:' .. inc .. ':'
      for i = 1, #all, 2 do
        if string.sub(all[i], 1, #p) == p then
          members[#members + 1] = {string.sub(all[i], #p + 1), 0, ''}
        end
      end
      table.sort(members, function(a, b) return a[1] < b[1] end)
      apply_channel(f[2], f[3], inc, 0, members, hold, now, quiet, out)
    elseif f[1] == 'u' then
      apply_user(f[2], f[4], inc, 0, now, quiet, out)
    elseif f[1] == 'a' then
      apply_count(key, 'a', f[2], '', inc, 0, now)
    end
    if f[1] then redis.call('HDEL', key, 'v:' .. inc) end
  end
  -- Only now: removing a contribution indexes its key again.
  if limit < 0 then
    redis.call('DEL', idx)
  elseif #keys > 0 then
    redis.call('ZREM', idx, unpack(keys))
  end
  return redis.call('EXISTS', idx) == 0
end

-- forget drops the versions of keys inc stopped contributing to a minute
-- ago: no write of them can still be in flight.
local function forget(inc, now)
  local idx = B .. ':i:' .. inc
  local keys = redis.call('ZRANGEBYSCORE', idx, 1, now - 60000, 'LIMIT', 0, 100)
  for _, key in ipairs(keys) do
    redis.call('HDEL', key, 'v:' .. inc)
    redis.call('ZREM', idx, key)
  end
end
`

// register: ARGV inc, proposed epoch, lease ms, name. Returns the epoch.
var registerScript = rueidis.NewLuaScript(prelude + `
local now = now_ms()
redis.call('SET', B .. ':e', ARGV[2], 'NX')
redis.call('ZADD', B .. ':l', now + tonumber(ARGV[3]), ARGV[1])
redis.call('HSET', B .. ':n', ARGV[1], ARGV[4])
touch(B .. ':e')
touch(B .. ':l')
touch(B .. ':n')
return redis.call('GET', B .. ':e')
`)

// renew: ARGV inc, epoch, lease ms. Returns {status, live nodes}.
var renewScript = rueidis.NewLuaScript(prelude + `
local now = now_ms()
local g = guard(ARGV[1], ARGV[2], now)
if g then return {g, 0} end
redis.call('ZADD', B .. ':l', now + tonumber(ARGV[3]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', B .. ':d', '-inf', now - 3600000)
touch(B .. ':e')
touch(B .. ':l')
touch(B .. ':n')
forget(ARGV[1], now)
return {'OK', redis.call('ZCOUNT', B .. ':l', now, '+inf')}
`)

// set_channel: ARGV inc, epoch, version, app, channel, subscribers, hold
// ms, member limit, user (” for none), sockets, info. Returns {status,
// subscribers, users, seq, transitions, members (user, info, ...)}.
var setChannelScript = rueidis.NewLuaScript(prelude + `
local inc, app, chan, user = ARGV[1], ARGV[4], ARGV[5], ARGV[9]
local now = now_ms()
local g = guard(inc, ARGV[2], now)
if g then return {g} end
local ck = ckey(app, chan)
local function result(status, out)
  local ms = {}
  if status == 'OK' and user ~= '' and tonumber(ARGV[10]) > 0 then ms = redis.call('HGETALL', ck .. ':i') end
  return {status, num(redis.call('HGET', ck, 'S')), redis.call('HLEN', ck .. ':i'), num(redis.call('HGET', ck, 'q')), out, ms}
end
if not newer(ARGV[3], redis.call('HGET', ck, 'v:' .. inc)) then return result('STALE', {}) end
local limit, sockets = tonumber(ARGV[8]), tonumber(ARGV[10])
if user ~= '' and sockets > 0 and limit > 0 and redis.call('HEXISTS', ck .. ':i', user) == 0 and
  redis.call('HLEN', ck .. ':i') >= limit then
  return {'LIMIT', redis.call('HLEN', ck .. ':i')}
end
redis.call('HSET', ck, 'v:' .. inc, ARGV[3])
local members = {}
if user ~= '' then members = {{user, sockets, ARGV[11]}} end
local out = {}
apply_channel(app, chan, inc, tonumber(ARGV[6]), members, tonumber(ARGV[7]), now, false, out)
return result('OK', out)
`)

// set_user: ARGV inc, epoch, version, app, user, sockets. Returns
// {status, sockets, transitions}.
var setUserScript = rueidis.NewLuaScript(prelude + `
local inc, app, user = ARGV[1], ARGV[4], ARGV[5]
local now = now_ms()
local g = guard(inc, ARGV[2], now)
if g then return {g} end
local uk = ukey(app, user)
if not newer(ARGV[3], redis.call('HGET', uk, 'v:' .. inc)) then
  return {'STALE', num(redis.call('HGET', uk, 'T')), {}}
end
redis.call('HSET', uk, 'v:' .. inc, ARGV[3])
local out = {}
local after = apply_user(app, user, inc, tonumber(ARGV[6]), now, false, out)
return {'OK', after, out}
`)

// set_conns: ARGV inc, epoch, version, app, connections, limit. Returns
// {status, total}.
var setConnsScript = rueidis.NewLuaScript(prelude + `
local inc, app = ARGV[1], ARGV[4]
local now = now_ms()
local g = guard(inc, ARGV[2], now)
if g then return {g} end
local ak = akey(app)
local total, mine = num(redis.call('HGET', ak, 'T')), num(redis.call('HGET', ak, 's:' .. inc))
if not newer(ARGV[3], redis.call('HGET', ak, 'v:' .. inc)) then return {'STALE', total} end
local n, limit = tonumber(ARGV[5]), tonumber(ARGV[6])
if limit > 0 and n > mine and total - mine + n > limit then return {'LIMIT', total} end
redis.call('HSET', ak, 'v:' .. inc, ARGV[3])
local _, after = apply_count(ak, 'a', app, '', inc, n, now)
return {'OK', after}
`)

// reap: ARGV inc, epoch, hold ms, limit. Removes up to limit keys of
// the contributions of one expired incarnation other than inc, leaving
// a tombstone; its lease goes with its last key. Returns {status} or
// {'OK', reaped, 1 when done, transitions}; status NONE when no lease
// has run out.
var reapScript = rueidis.NewLuaScript(prelude + `
local now = now_ms()
local g = guard(ARGV[1], ARGV[2], now)
if g then return {g} end
local dead = redis.call('ZRANGEBYSCORE', B .. ':l', '-inf', now, 'LIMIT', 0, 2)
for _, inc in ipairs(dead) do
  if inc ~= ARGV[1] then
    local out = {}
    redis.call('ZADD', B .. ':d', now, inc)
    touch(B .. ':d')
    local done = remove_all(inc, tonumber(ARGV[3]), now, false, out, tonumber(ARGV[4]))
    if done then
      redis.call('ZREM', B .. ':l', inc)
      redis.call('HDEL', B .. ':n', inc)
    end
    return {'OK', inc, done and 1 or 0, out}
  end
end
return {'NONE'}
`)

// due: ARGV inc, epoch. Confirms up to 100 channels' holds that ran out.
// Returns {status, transitions}.
var dueScript = rueidis.NewLuaScript(prelude + `
local now = now_ms()
local g = guard(ARGV[1], ARGV[2], now)
if g then return {g} end
local out = {}
local keys = redis.call('ZRANGEBYSCORE', B .. ':h', '-inf', now, 'LIMIT', 0, 100)
for _, ck in ipairs(keys) do
  local f = redis.call('HMGET', ck, 'A', 'C', 'vd', 'vq')
  local app, chan = f[1], f[2]
  if app then
    local users = redis.call('ZRANGEBYSCORE', ck .. ':r', '-inf', now)
    table.sort(users)
    for _, u in ipairs(users) do
      push(out, 6, app, chan, u, false, num(redis.call('HGET', ck, 'rq:' .. u)), '')
      redis.call('ZREM', ck .. ':r', u)
      redis.call('HDEL', ck, 'rq:' .. u)
    end
    if f[3] and tonumber(f[3]) <= now then
      push(out, 3, app, chan, '', false, tonumber(f[4]), '')
      redis.call('HDEL', ck, 'vd', 'vq')
    end
    local next = redis.call('ZRANGE', ck .. ':r', 0, 0, 'WITHSCORES')
    local at = nil
    if next[2] then at = tonumber(next[2]) end
    local vd = redis.call('HGET', ck, 'vd')
    if vd and (not at or tonumber(vd) < at) then at = tonumber(vd) end
    if at then redis.call('ZADD', B .. ':h', at, ck) else redis.call('ZREM', B .. ':h', ck) end
    settle(ck)
  else
    redis.call('ZREM', B .. ':h', ck)
  end
end
return {'OK', out}
`)

// leave: ARGV inc, epoch, hold ms, limit. Removes up to limit keys of
// inc's contributions, and its registration with the last (Deregister).
// Returns {status, 1 when done, transitions}.
var leaveScript = rueidis.NewLuaScript(prelude + `
local now = now_ms()
local g = guard(ARGV[1], ARGV[2], now)
if g then return {g} end
local out = {}
local done = remove_all(ARGV[1], tonumber(ARGV[3]), now, false, out, tonumber(ARGV[4]))
if done then
  redis.call('ZREM', B .. ':l', ARGV[1])
  redis.call('HDEL', B .. ':n', ARGV[1])
end
return {'OK', done and 1 or 0, out}
`)

// restore: ARGV inc, the epoch the node knows, a new epoch to set if the
// store has none, lease ms, name, snapshot JSON. Replaces inc's
// contributions quietly and registers it again. Returns {status, epoch}.
var restoreScript = rueidis.NewLuaScript(prelude + `
local inc = ARGV[1]
local now = now_ms()
if redis.call('ZSCORE', B .. ':d', inc) then return {'REAPED'} end
local e = redis.call('GET', B .. ':e')
if e == ARGV[2] then
  local g = guard(inc, e, now)
  if g then return {g} end
elseif not e then
  e = ARGV[3]
  redis.call('SET', B .. ':e', e)
end
remove_all(inc, 0, now, true, {}, -1)
redis.call('ZADD', B .. ':l', now + tonumber(ARGV[4]), inc)
redis.call('HSET', B .. ':n', inc, ARGV[5])
touch(B .. ':e')
touch(B .. ':l')
touch(B .. ':n')
local s = cjson.decode(ARGV[6])
local function version(key, v)
  if newer(v, redis.call('HGET', key, 'v:' .. inc)) then redis.call('HSET', key, 'v:' .. inc, v) end
end
for _, op in ipairs(s.c) do
  local members = {}
  if op.u ~= '' then members = {{op.u, op.m, op.i}} end
  apply_channel(op.a, op.n, inc, op.s, members, 0, now, true, {})
  version(ckey(op.a, op.n), op.v)
end
for _, op in ipairs(s.u) do
  apply_user(op.a, op.n, inc, op.s, now, true, {})
  version(ukey(op.a, op.n), op.v)
end
for _, op in ipairs(s.a) do
  apply_count(akey(op.a), 'a', op.a, '', inc, op.s, now)
  version(akey(op.a), op.v)
end
return {'OK', e}
`)

// channel: ARGV app, channel. Returns {subscribers, users}.
var channelScript = rueidis.NewLuaScriptReadOnly(prelude + `
local ck = ckey(ARGV[1], ARGV[2])
return {num(redis.call('HGET', ck, 'S')), redis.call('HLEN', ck .. ':i')}
`)

// channels: ARGV app, prefix, cursor. Scans one batch of app's occupied
// channels (SSCAN), so that listing a large app takes several short
// calls. Returns {next cursor, {name, subscribers, users, ...}}.
var channelsScript = rueidis.NewLuaScriptReadOnly(prelude + `
local app, prefix = ARGV[1], ARGV[2]
local scan = redis.call('SSCAN', B .. ':o:' .. #app .. ':' .. app, ARGV[3], 'COUNT', 500)
local out = {}
for _, chan in ipairs(scan[2]) do
  if string.sub(chan, 1, #prefix) == prefix then
    local ck = ckey(app, chan)
    local s = num(redis.call('HGET', ck, 'S'))
    if s > 0 then
      out[#out + 1] = chan
      out[#out + 1] = s
      out[#out + 1] = redis.call('HLEN', ck .. ':i')
    end
  end
end
return {scan[1], out}
`)

// members: ARGV app, channel. Returns {seq, {user, info, ...}}.
var membersScript = rueidis.NewLuaScriptReadOnly(prelude + `
local ck = ckey(ARGV[1], ARGV[2])
return {num(redis.call('HGET', ck, 'q')), redis.call('HGETALL', ck .. ':i')}
`)

// online: ARGV app, users... Returns each user's signed-in sockets.
var onlineScript = rueidis.NewLuaScriptReadOnly(prelude + `
local out = {}
for i = 2, #ARGV do out[#out + 1] = num(redis.call('HGET', ukey(ARGV[1], ARGV[i]), 'T')) end
return out
`)

// connections: ARGV app. Returns the app's connections.
var connectionsScript = rueidis.NewLuaScriptReadOnly(prelude + `
return num(redis.call('HGET', akey(ARGV[1]), 'T'))
`)
