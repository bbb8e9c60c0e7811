import { createHash } from 'node:crypto';

/**
 * The lock's Lua scripts, each defined once with its SHA1. Keys only through KEYS, values only
 * through ARGV. Every script but {@link TAKE} takes four KEYS per resource, in `resourceKeys`
 * order (lock, counters, queue, expiry), then the caller's waiter record (see `LockKeyspace.keys`).
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
// KEYS of every script but TAKE: four per resource (its lock key, the counters of its hash slot,
// its wait queue and the queue's expiry index), then the key of the caller's waiter record. A fair
// waiter has one place per resource in the queue (by ticket) and in the expiry index (by when it
// must refresh), both under the name of its record, and one record: what a release needs to hand
// it the lock (its token, its lease and its keys, msgpack-encoded: binary-safe for any key name),
// written once whatever the number of resources, with the same TTL as its places. Nothing a
// waiter leaves outlives its TTL; the only keys without one are the counters, one hash per hash
// slot in use ('fence': the last fencing token; 'seq': the last waiter ticket).
const PRELUDE = `
local t, now
local function clock()
  if not t then
    t = redis.call('TIME')
    now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return now
end
local n = #KEYS - 1
local record = KEYS[#KEYS]
-- Drops waiters whose entries expired (they crashed or gave up without leaving), with their
-- records, so a dead waiter cannot stay in line for longer than its entry TTL.
local function prune(queue, expiry)
  local dead = redis.call('ZRANGEBYSCORE', expiry, '-inf', clock())
  if #dead > 0 then
    redis.call('ZREM', queue, unpack(dead))
    redis.call('ZREM', expiry, unpack(dead))
    redis.call('DEL', unpack(dead))
  end
end
`;

/**
 * Takes every resource, or none. ARGV: token, ttlMs, entryTtlMs, fair ('1': single-node locks,
 * waiters queued and handed the lock at release; '0': quorum locks, whoever asks first when free).
 * A token that already holds a resource (a retried acquire whose first reply was lost, or a waiter
 * a release handed the lock to) takes it again. Returns `{1, fencingToken}` when taken, or
 * `{0, waitHintMs, ticket}` when busy (the longest remaining lease); a fair waiter is then queued
 * (or its places and record refreshed), and `ticket` is its place in line: a hand-over names it.
 * (`{0, waitHintMs}` when not fair.)
 *
 * A free resource is never refused because others wait for it: a waiter holds and reserves
 * nothing it has not acquired (a reservation lets a holder that asks for one more free resource
 * wait behind a waiter that waits for the holder: a deadlock until a timeout). What keeps a
 * multi-resource waiter from starving is the hand-over in {@link RELEASE}.
 *
 * The fencing token is one more than the largest last token of the resources' hash slots, and at
 * least the server's clock in microseconds (16 digits; below 2^53, so exact in Lua's doubles and
 * in JS, until the year 2255); it becomes the last token of each of those slots. One bump per
 * grant (a hand-over does not bump; the waiter's own acquire, which finds itself holder, does).
 * The clock keeps tokens increasing where a counter cannot: a server restarted empty, a quorum
 * formed by nodes that all lost or never saw the last token, and tokens issued by earlier versions
 * of these scripts (per-resource counters). Stored through redis.call, which writes numbers with
 * 17 significant digits (never tostring or `..`, which keep 14 and would round the token).
 */
export const ACQUIRE = script(
  'acquire',
  `${PRELUDE}
local token, ttl, entryTtl, fair = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == '1'
local busy, waitHint = false, 0
for i = 1, n, 4 do
  local holder = redis.call('GET', KEYS[i])
  if holder and holder ~= token then
    busy = true
    waitHint = math.max(waitHint, redis.call('PTTL', KEYS[i]))
  end
end
if busy then
  if fair then
    -- A waiter holds one place in every queue of its resources, in the same order everywhere (its
    -- ticket is the same in all of them, drawn atomically here from the counters of every slot it
    -- queues in): two multi-resource waiters can never each be ahead of the other. If pruning
    -- dropped one of its places (it stalled past its entry TTL), it gives up all of them and
    -- queues again at the back of every queue.
    local everywhere = true
    for i = 1, n, 4 do
      prune(KEYS[i + 2], KEYS[i + 3])
      if not redis.call('ZSCORE', KEYS[i + 2], record) then everywhere = false end
    end
    local entry = { token, ttl }
    for i = 1, n do entry[i + 2] = KEYS[i] end
    redis.call('SET', record, cmsgpack.pack(entry), 'PX', entryTtl * 2)
    local ticket
    if not everywhere then
      ticket = 0
      for i = 1, n, 4 do ticket = math.max(ticket, tonumber(redis.call('HGET', KEYS[i + 1], 'seq') or '0')) end
      ticket = ticket + 1
    end
    for i = 1, n, 4 do
      local counters, queue, expiry = KEYS[i + 1], KEYS[i + 2], KEYS[i + 3]
      if ticket then
        redis.call('HSET', counters, 'seq', ticket)
        redis.call('ZADD', queue, ticket, record)
      end
      redis.call('ZADD', expiry, clock() + entryTtl, record)
      redis.call('PEXPIRE', queue, entryTtl * 2)
      redis.call('PEXPIRE', expiry, entryTtl * 2)
    end
    return {0, waitHint, ticket or tonumber(redis.call('ZSCORE', KEYS[3], record))}
  end
  return {0, waitHint}
end
local fence = 0
for i = 1, n, 4 do
  fence = math.max(fence, tonumber(redis.call('HGET', KEYS[i + 1], 'fence') or '0'))
end
clock()
fence = math.max(fence + 1, tonumber(t[1]) * 1000000 + tonumber(t[2]))
for i = 1, n, 4 do
  redis.call('SET', KEYS[i], token, 'PX', ttl)
  redis.call('HSET', KEYS[i + 1], 'fence', fence)
  if fair then
    redis.call('ZREM', KEYS[i + 2], record)
    redis.call('ZREM', KEYS[i + 3], record)
  end
end
if fair then redis.call('DEL', record) end
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
 * lease, its places and record removed), and its token and ticket (`token:ticket`) are published
 * on the resource's channel; it wakes and takes the lock as handed over (a lane's lock), or
 * acquires again, finding itself holder. Waiters blocked on another resource are
 * skipped, never reserved for (the release of that resource considers them), and with nobody
 * eligible nothing is published. So a free resource with an eligible waiter never stays free
 * after a release: newcomers cannot overtake a queued waiter forever. With no queue key the
 * release is a GET and a DEL (no clock, no pruning). Plain ('0'): a release announces '' (everyone
 * may try).
 */
export const RELEASE = script(
  'release',
  `${PRELUDE}
local token, fair, released, waited = ARGV[1], ARGV[2] == '1', 0, false
local freed = {}
for i = 1, n, 4 do
  local lock, queue, expiry = KEYS[i], KEYS[i + 2], KEYS[i + 3]
  local queued, left = fair and redis.call('EXISTS', queue) == 1, false
  if queued then
    left = redis.call('ZREM', queue, record) == 1
    redis.call('ZREM', expiry, record)
    waited = waited or left
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
if waited then redis.call('DEL', record) end
-- Hand-overs come after every release: a waiter for several of these resources must find them
-- all free, not lose the first one to a single-resource waiter behind it.
local function eligible(entry)
  for j = 3, #entry, 4 do
    local holder = redis.call('GET', entry[j])
    if holder and holder ~= entry[1] then return false end
  end
  return true
end
local function grant(entry, waiter)
  for j = 3, #entry, 4 do
    redis.call('SET', entry[j], entry[1], 'PX', entry[2])
    redis.call('ZREM', entry[j + 2], waiter)
    redis.call('ZREM', entry[j + 3], waiter)
  end
  redis.call('DEL', waiter)
end
local PAGE = 16
for _, i in ipairs(freed) do
  local lock, queue, expiry = KEYS[i], KEYS[i + 2], KEYS[i + 3]
  -- An earlier hand-over in this loop may have taken it (a waiter for several of them), and the
  -- last waiter may just have left.
  if redis.call('EXISTS', lock) == 0 and redis.call('EXISTS', queue) == 1 then
    prune(queue, expiry)
    local from, done = 0, false
    repeat
      local page = redis.call('ZRANGE', queue, from, from + PAGE - 1)
      for _, waiter in ipairs(page) do
        -- A waiter without a readable record (its record expired, or was written by another
        -- version of these scripts) is skipped: it still finds the lock by itself, at its next
        -- refresh at the latest.
        local packed = redis.call('GET', waiter)
        local ok, entry = pcall(cmsgpack.unpack, packed or '')
        if ok and type(entry) == 'table' and type(entry[1]) == 'string' and eligible(entry) then
          -- The hand-over names the waiter and its place in line: a waiter that lost this grant
          -- and queued again holds another place, and must not take this message as its grant.
          local ticket = redis.call('ZSCORE', queue, waiter)
          grant(entry, waiter)
          redis.call('SPUBLISH', ARGV[(i + 3) / 4 + 2], entry[1] .. ':' .. ticket)
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
for i = 1, #KEYS - 1, 4 do
  if redis.call('GET', KEYS[i]) ~= token then return 0 end
end
for i = 1, #KEYS - 1, 4 do redis.call('PEXPIRE', KEYS[i], ttl) end
return 1
`,
);

/**
 * Raises the fencing counter of each resource's hash slot to at least ARGV[1] (quorum locks: makes
 * the token a majority agreed on the floor for every later acquisition on those nodes). Returns 1.
 */
export const RAISE_FENCE = script(
  'raise-fence',
  `
local fence = tonumber(ARGV[1])
for i = 1, #KEYS - 1, 4 do
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
