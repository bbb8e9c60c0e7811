import { createHash } from 'node:crypto';

/**
 * The lock's Lua scripts, each defined once with its SHA1. Keys only through KEYS, values only
 * through ARGV. Every script but {@link TAKE} takes four KEYS per resource, in `resourceKeys`
 * order: lock, meta, queue, expiry.
 */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

function script(name: string, source: string): LuaScript {
  return Object.freeze({ name, source, sha: createHash('sha1').update(source).digest('hex') });
}

// Shared prelude. The server's clock is read only when needed (TIME is not free, and the release
// of an uncontended lock, which runs inside every lock-mode MULTI, never needs it).
//
// A fair waiter is recorded twice per resource: its place in the queue (by ticket) and in the
// expiry set (by when it must refresh), plus a field 'w:<token>' in the resource's meta hash with
// what a release needs to hand it the lock: its lease and its four keys per resource (all in one
// slot), msgpack-encoded (binary-safe for any key name). Every path that drops a place drops the
// field with it.
const PRELUDE = `
local t, now
local function clock()
  if not t then
    t = redis.call('TIME')
    now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return now
end
-- Drops waiters whose entries expired (they crashed or gave up without leaving), so a dead waiter
-- cannot stay in line for longer than its entry TTL.
local function prune(meta, queue, expiry)
  local dead = redis.call('ZRANGEBYSCORE', expiry, '-inf', clock())
  if #dead > 0 then
    redis.call('ZREM', queue, unpack(dead))
    redis.call('ZREM', expiry, unpack(dead))
    for j = 1, #dead do dead[j] = 'w:' .. dead[j] end
    redis.call('HDEL', meta, unpack(dead))
  end
end
`;

/**
 * Takes every resource, or none. ARGV: token, ttlMs, entryTtlMs, fair ('1': single-node locks,
 * waiters queued and handed the lock at release; '0': quorum locks, whoever asks first when free),
 * then optionally timeFloor ('1': quorum locks; absent or '0': a plain counter). A token that
 * already holds a resource (a retried acquire whose first reply was lost, or a waiter a release
 * handed the lock to) takes it again. Returns `{1, fencingToken}` when taken, or `{0, waitHintMs}`
 * when busy (the longest remaining lease); a fair waiter is then queued (or its entry refreshed).
 *
 * A free resource is never refused because others wait for it: a waiter holds and reserves
 * nothing it has not acquired (a reservation lets a holder that asks for one more free resource
 * wait behind a waiter that waits for the holder: a deadlock until a timeout). What keeps a
 * multi-resource waiter from starving is the hand-over in {@link RELEASE}.
 *
 * The fencing token is one more than the largest of the resources' last tokens, and becomes the
 * last token of each: one bump per grant (a hand-over does not bump; the waiter's own acquire,
 * which finds itself holder, does). With timeFloor it is also at least the server's clock in
 * microseconds (16 digits; below 2^53, so exact in Lua's doubles and in JS, until the year 2255):
 * a quorum can be formed by nodes that all lost or never saw the last token (one restarted empty,
 * one that was down), and only a clock still orders their tokens after the ones issued before.
 * Stored through redis.call, which writes numbers with 17 significant digits (never tostring or
 * `..`, which keep 14 and would round the token).
 */
export const ACQUIRE = script(
  'acquire',
  `${PRELUDE}
local token, ttl, entryTtl, fair, timeFloor = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == '1', ARGV[5] == '1'
local busy, waitHint = false, 0
for i = 1, #KEYS, 4 do
  local holder = redis.call('GET', KEYS[i])
  if holder and holder ~= token then
    busy = true
    waitHint = math.max(waitHint, redis.call('PTTL', KEYS[i]))
  end
end
if busy then
  if fair then
    -- A waiter holds one place in every queue of its resources, in the same order everywhere
    -- (queues on one server are appended atomically here): two multi-resource waiters can never
    -- each be ahead of the other. If pruning dropped one of its places (it stalled past its entry
    -- TTL), it gives up all of them and queues again at the back of every queue.
    local everywhere = true
    for i = 1, #KEYS, 4 do
      local meta, queue, expiry = KEYS[i + 1], KEYS[i + 2], KEYS[i + 3]
      if redis.call('EXISTS', queue) == 1 then
        prune(meta, queue, expiry)
      else
        -- No queue, no waiter: 'w:' fields left here are from waiters whose whole queue expired
        -- (none left to prune them). They go now: the meta hash never expires.
        local stale = {}
        for _, field in ipairs(redis.call('HKEYS', meta)) do
          if string.sub(field, 1, 2) == 'w:' then stale[#stale + 1] = field end
        end
        if #stale > 0 then redis.call('HDEL', meta, unpack(stale)) end
      end
      if not redis.call('ZSCORE', queue, token) then everywhere = false end
    end
    local record = { ARGV[2] }
    for i = 1, #KEYS do record[i + 1] = KEYS[i] end
    record = cmsgpack.pack(record)
    for i = 1, #KEYS, 4 do
      local meta, queue, expiry = KEYS[i + 1], KEYS[i + 2], KEYS[i + 3]
      if not everywhere then
        redis.call('ZADD', queue, redis.call('HINCRBY', meta, 'seq', 1), token)
      end
      redis.call('ZADD', expiry, clock() + entryTtl, token)
      redis.call('HSET', meta, 'w:' .. token, record)
      redis.call('PEXPIRE', queue, entryTtl * 2)
      redis.call('PEXPIRE', expiry, entryTtl * 2)
    end
  end
  return {0, waitHint}
end
local fence = 0
for i = 1, #KEYS, 4 do
  fence = math.max(fence, tonumber(redis.call('HGET', KEYS[i + 1], 'fence') or '0'))
end
fence = fence + 1
if timeFloor then
  clock()
  fence = math.max(fence, tonumber(t[1]) * 1000000 + tonumber(t[2]))
end
for i = 1, #KEYS, 4 do
  redis.call('SET', KEYS[i], token, 'PX', ttl)
  redis.call('HSET', KEYS[i + 1], 'fence', fence)
  if fair then
    redis.call('ZREM', KEYS[i + 2], token)
    redis.call('ZREM', KEYS[i + 3], token)
    redis.call('HDEL', KEYS[i + 1], 'w:' .. token)
  end
end
return {1, fence}
`,
);

/**
 * Releases the resources this token holds (never another holder's) and takes the token out of
 * their wait queues (a waiter that gives up). ARGV: token, fair ('1' or '0'), then one channel per
 * resource. Returns how many resources were released.
 *
 * Fair ('1'): once every resource is let go, each one freed (released, or left by a waiter while
 * free) is handed over: its queue is walked in order and the first waiter whose every resource is
 * free (or its own) gets all of them here, atomically (its lock keys set to its token for its
 * lease, its places and records removed), and its token is published on the resource's channel;
 * it wakes and acquires again, finding itself holder. Waiters blocked on another resource are
 * skipped, never reserved for (the release of that resource considers them), and with nobody
 * eligible nothing is published. So a free resource with an eligible waiter never stays free
 * after a release: newcomers cannot overtake a queued waiter forever. With no queue key the
 * release is a GET and a DEL (no clock, no pruning). Plain ('0'): a release announces '' (everyone
 * may try).
 */
export const RELEASE = script(
  'release',
  `${PRELUDE}
local token, fair, released = ARGV[1], ARGV[2] == '1', 0
local freed = {}
for i = 1, #KEYS, 4 do
  local lock, meta, queue, expiry = KEYS[i], KEYS[i + 1], KEYS[i + 2], KEYS[i + 3]
  local queued, left = fair and redis.call('EXISTS', queue) == 1, false
  if queued then
    left = redis.call('ZREM', queue, token) == 1
    redis.call('ZREM', expiry, token)
    redis.call('HDEL', meta, 'w:' .. token)
  end
  local holder = redis.call('GET', lock)
  if holder == token then
    redis.call('DEL', lock)
    released = released + 1
  end
  if holder == token or (left and not holder) then
    local channel = ARGV[(i + 3) / 4 + 2]
    if not fair then
      redis.call('SPUBLISH', channel, '')
    elseif queued then
      freed[#freed + 1] = i
    end
  end
end
-- Hand-overs come after every release: a waiter for several of these resources must find them
-- all free, not lose the first one to a single-resource waiter behind it.
local function eligible(record, waiter)
  for j = 2, #record, 4 do
    local holder = redis.call('GET', record[j])
    if holder and holder ~= waiter then return false end
  end
  return true
end
local function grant(record, waiter)
  for j = 2, #record, 4 do
    redis.call('SET', record[j], waiter, 'PX', record[1])
    redis.call('ZREM', record[j + 2], waiter)
    redis.call('ZREM', record[j + 3], waiter)
    redis.call('HDEL', record[j + 1], 'w:' .. waiter)
  end
end
local PAGE = 16
for _, i in ipairs(freed) do
  local lock, meta, queue, expiry = KEYS[i], KEYS[i + 1], KEYS[i + 2], KEYS[i + 3]
  -- An earlier hand-over in this loop may have taken it (a waiter for several of them), and the
  -- last waiter may just have left.
  if redis.call('EXISTS', lock) == 0 and redis.call('EXISTS', queue) == 1 then
    prune(meta, queue, expiry)
    local from, done = 0, false
    repeat
      local page = redis.call('ZRANGE', queue, from, from + PAGE - 1)
      for _, waiter in ipairs(page) do
        -- A waiter without a readable record (written by another version of these scripts) is
        -- skipped: it still finds the lock by itself, at its next refresh at the latest.
        local packed = redis.call('HGET', meta, 'w:' .. waiter)
        local ok, record = pcall(cmsgpack.unpack, packed or '')
        if ok and type(record) == 'table' and eligible(record, waiter) then
          grant(record, waiter)
          redis.call('SPUBLISH', ARGV[(i + 3) / 4 + 2], waiter)
          done = true
          break
        end
      end
      from = from + PAGE
    until done or #page < PAGE
  end
end
return released
`,
);

/**
 * Renews the lease of every resource, only if this token holds all of them. ARGV: token, ttlMs.
 * Returns 1 when renewed, 0 when the token no longer holds them all (nothing is changed then).
 */
export const EXTEND = script(
  'extend',
  `
local token, ttl = ARGV[1], tonumber(ARGV[2])
for i = 1, #KEYS, 4 do
  if redis.call('GET', KEYS[i]) ~= token then return 0 end
end
for i = 1, #KEYS, 4 do redis.call('PEXPIRE', KEYS[i], ttl) end
return 1
`,
);

/**
 * Raises the fencing counter of each resource to at least ARGV[1] (quorum locks: makes the token
 * a majority agreed on, time floor included, the floor for every later acquisition on those
 * nodes). Returns 1.
 */
export const RAISE_FENCE = script(
  'raise-fence',
  `
local fence = tonumber(ARGV[1])
for i = 1, #KEYS, 4 do
  if tonumber(redis.call('HGET', KEYS[i + 1], 'fence') or '0') < fence then
    redis.call('HSET', KEYS[i + 1], 'fence', fence)
  end
end
return 1
`,
);

/**
 * Takes every resource at once if all are free (or held by this token already), else nothing:
 * the fast path of an uncontended lock-mode call. KEYS: one lock key per resource (already
 * prefixed), nothing else. ARGV: token, ttlMs. Returns 1 when taken, 0 when any is busy. No
 * clock, no queue (a caller that finds the lock busy waits through {@link ACQUIRE}), no fencing
 * token (lock mode's commit is fenced by WATCH on the lock keys).
 */
export const TAKE = script(
  'take',
  `
local token, ttl = ARGV[1], ARGV[2]
for i = 1, #KEYS do
  local holder = redis.call('GET', KEYS[i])
  if holder and holder ~= token then return 0 end
end
for i = 1, #KEYS do redis.call('SET', KEYS[i], token, 'PX', ttl) end
return 1
`,
);

/** The scripts single-node locks and lock mode run, loaded into the script cache up front. */
export const SINGLE_NODE_SCRIPTS: readonly LuaScript[] = Object.freeze([ACQUIRE, EXTEND, RELEASE, TAKE]);
