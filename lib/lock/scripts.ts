import { createHash } from 'node:crypto';

/**
 * The lock's Lua scripts, each defined once with its SHA1. Keys only through KEYS, values only
 * through ARGV. Every script takes four KEYS per resource, in `resourceKeys` order:
 * lock, meta, queue, expiry.
 */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

function script(name: string, source: string): LuaScript {
  return Object.freeze({ name, source, sha: createHash('sha1').update(source).digest('hex') });
}

// Shared prelude: server time in ms, and dropping waiters whose entries expired (they crashed or
// gave up without leaving), so a dead waiter cannot block the queue for longer than its entry TTL.
const PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function prune(queue, expiry)
  local dead = redis.call('ZRANGEBYSCORE', expiry, '-inf', now)
  if #dead > 0 then
    redis.call('ZREM', queue, unpack(dead))
    redis.call('ZREM', expiry, unpack(dead))
  end
end
`;

/**
 * Takes every resource, or none. ARGV: token, ttlMs, entryTtlMs, fair ('1': first come, first
 * served; '0': whoever asks first when free), then optionally timeFloor ('1': quorum locks; absent
 * or '0': a plain counter). A token that already holds a resource (a retried acquire whose first
 * reply was lost) takes it again. Returns `{1, fencingToken}` when taken, or `{0, waitHintMs}`
 * when busy (the longest remaining lease, or the time until the waiter ahead must refresh); a
 * fair waiter is then queued (or its entry refreshed).
 *
 * The fencing token is one more than the largest of the resources' last tokens, and becomes the
 * last token of each. With timeFloor it is also at least the server's clock in microseconds
 * (16 digits; below 2^53, so exact in Lua's doubles and in JS, until the year 2255): a quorum
 * can be formed by nodes that all lost or never saw the last token (one restarted empty, one
 * that was down), and only a clock still orders their tokens after the ones issued before.
 * Stored through redis.call, which writes numbers with 17 significant digits (never tostring or
 * `..`, which keep 14 and would round the token).
 */
export const ACQUIRE = script(
  'acquire',
  `${PRELUDE}
local token, ttl, entryTtl, fair, timeFloor = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == '1', ARGV[5] == '1'
local busy, waitHint = false, 0
for i = 1, #KEYS, 4 do
  local lock, queue, expiry = KEYS[i], KEYS[i + 2], KEYS[i + 3]
  if fair then prune(queue, expiry) end
  local holder = redis.call('GET', lock)
  if holder and holder ~= token then
    busy = true
    waitHint = math.max(waitHint, redis.call('PTTL', lock))
  elseif fair and not holder then
    local head = redis.call('ZRANGE', queue, 0, 0)[1]
    if head and head ~= token then
      busy = true
      waitHint = math.max(waitHint, tonumber(redis.call('ZSCORE', expiry, head)) - now)
    end
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
      if not redis.call('ZSCORE', KEYS[i + 2], token) then everywhere = false end
    end
    for i = 1, #KEYS, 4 do
      local meta, queue, expiry = KEYS[i + 1], KEYS[i + 2], KEYS[i + 3]
      if not everywhere then
        redis.call('ZADD', queue, redis.call('HINCRBY', meta, 'seq', 1), token)
      end
      redis.call('ZADD', expiry, now + entryTtl, token)
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
if timeFloor then fence = math.max(fence, tonumber(t[1]) * 1000000 + tonumber(t[2])) end
for i = 1, #KEYS, 4 do
  redis.call('SET', KEYS[i], token, 'PX', ttl)
  redis.call('HSET', KEYS[i + 1], 'fence', fence)
  if fair then
    redis.call('ZREM', KEYS[i + 2], token)
    redis.call('ZREM', KEYS[i + 3], token)
  end
end
return {1, fence}
`,
);

/**
 * Releases the resources this token holds (never another holder's) and takes the token out of
 * their wait queues (a waiter that gives up). Each release, or departure from the head of a queue
 * of a free resource, is announced on the resource's channel with the token whose turn it is next;
 * with nobody queued, a fair lock announces nothing (every fair waiter is queued) and a plain one
 * announces '' (everyone may try). ARGV: token, fair ('1' or '0'), then one channel per resource.
 * Returns how many resources were released.
 */
export const RELEASE = script(
  'release',
  `${PRELUDE}
local token, fair, released = ARGV[1], ARGV[2] == '1', 0
for i = 1, #KEYS, 4 do
  local lock, queue, expiry = KEYS[i], KEYS[i + 2], KEYS[i + 3]
  local wasHead = fair and redis.call('ZRANGE', queue, 0, 0)[1] == token
  if fair then
    redis.call('ZREM', queue, token)
    redis.call('ZREM', expiry, token)
  end
  local holder = redis.call('GET', lock)
  if holder == token then
    redis.call('DEL', lock)
    released = released + 1
  end
  if holder == token or (wasHead and not holder) then
    local channel = ARGV[(i + 3) / 4 + 2]
    if fair then
      prune(queue, expiry)
      local head = redis.call('ZRANGE', queue, 0, 0)[1]
      if head then redis.call('SPUBLISH', channel, head) end
    else
      redis.call('SPUBLISH', channel, '')
    end
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
