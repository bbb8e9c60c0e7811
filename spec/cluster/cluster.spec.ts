import { createTransactor, CrossSlotError, type RetryEvent, type Transactor, type TransactorOptions } from '../../lib';
import { keyHashSlot } from '../../lib/cluster/hash-slot';
import { resourceKeys } from '../../lib/lock/lock-keys';
import type { Cluster } from 'ioredis';
import { CLUSTER_CLIENTS, type RedisClusterHarness, useRedisCluster } from '../support/redis-cluster';
import { waitFor, waitUntilExecIsHeld } from '../support/redis';
import { TcpProxy } from '../support/tcp-proxy';

const redis = useRedisCluster();

/** Commands processed by every node so far (each count includes the INFO that asks). */
async function commandsOnAllNodes(nodes: ReadonlyArray<Awaited<ReturnType<RedisClusterHarness['connectNode']>>>): Promise<number[]> {
  return Promise.all(nodes.map(async (node) => Number(/total_commands_processed:(\d+)/.exec(await node.info('stats'))?.[1])));
}

/**
 * The behaviours every cluster client shares, run for node-redis's cluster client and ioredis's and
 * iovalkey's `Cluster` (the harness's node-redis `redis.client` sets up and checks). `fn` uses the
 * commands every client spells alike, and `kind.queue` for the rest.
 */
describe.each(CLUSTER_CLIENTS)('createTransactor on Redis Cluster: $name', (cluster) => {
  const { kind } = cluster;
  const transactor = (options?: TransactorOptions): Promise<Transactor> => redis.transactorOn(cluster, options);

  it.each(['optimistic', 'lock', 'auto'] as const)('resolves EXEC’s replies for what fn queued, in %s mode', async (mode) => {
    const tx = await transactor();
    const key = `{replies:${kind.name}:${mode}}:n`;
    const log = `{replies:${kind.name}:${mode}}:log`;
    const one = await tx.transact([key], (t) => void t.write.incr(key), { mode });
    const two = await tx.transact([key, log], (t) => void kind.queue(t.write.incr(key), ['RPUSH', log, 'x']), { mode });
    expect(one.replies).toEqual([1]);
    expect(two.replies).toEqual([2, 1]);
  });

  it('sells inventory across many slots on every master, never oversold', async () => {
    const tx = await transactor({ retry: { maxAttempts: 200, baseDelayMs: 1, maxDelayMs: 20 } });
    const skus = Array.from({ length: 24 }, (_, i) => `{sku:${kind.name}:${i}}`);
    await Promise.all(skus.map((sku) => redis.client.set(`${sku}:stock`, '5')));
    const owners = new Set(skus.map((sku) => redis.cluster.nodeForKey(`${sku}:stock`).port));
    expect(owners.size).toBe(3);

    const outcomes = await Promise.all(
      Array.from({ length: 240 }, (_, buyer) => {
        const sku = skus[buyer % skus.length]!;
        return tx.transact([`${sku}:stock`, `${sku}:orders`], async (t) => {
          const stock = Number(await t.read.get(`${sku}:stock`));
          if (stock <= 0) return 'sold-out';
          kind.queue(t.write.decr(`${sku}:stock`), ['RPUSH', `${sku}:orders`, `buyer-${buyer}`]);
          return 'bought';
        });
      }),
    );

    expect(outcomes.filter((o) => o.value === 'bought')).toHaveLength(24 * 5);
    for (const sku of skus) {
      expect(await redis.client.get(`${sku}:stock`)).toBe('0');
      expect(await redis.client.lLen(`${sku}:orders`)).toBe(5);
    }
  });

  it('moves money between accounts in many slots and keeps every group’s total', async () => {
    const tx = await transactor({ retry: { maxAttempts: 200, baseDelayMs: 1, maxDelayMs: 20 } });
    const groups = Array.from({ length: 12 }, (_, g) => `{bank:${kind.name}:${g}}`);
    const account = (g: string, n: number) => `${g}:acct:${n}`;
    await Promise.all(groups.flatMap((g) => [0, 1, 2, 3].map((n) => redis.client.set(account(g, n), '100'))));

    await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const g = groups[i % groups.length]!;
        const from = account(g, i % 4);
        const to = account(g, (i + 1 + (i % 3)) % 4);
        return tx.transact([from, to], async (t) => {
          const [a, b] = (await Promise.all([t.read.get(from), t.read.get(to)])).map(Number) as [number, number];
          const amount = 1 + (i % 17);
          if (a < amount) return 'insufficient';
          t.write.set(from, String(a - amount)).set(to, String(b + amount));
          return 'moved';
        });
      }),
    );

    for (const g of groups) {
      const balances = (await Promise.all([0, 1, 2, 3].map((n) => redis.client.get(account(g, n))))).map(Number);
      expect(balances.reduce((s, b) => s + b, 0)).toBe(400);
      expect(balances.every((b) => b >= 0)).toBe(true);
    }
  });

  it('refuses keys in different slots with CrossSlotError, before sending anything', async () => {
    const tx = await transactor();
    await tx.transact(['{warm}:a'], (t) => t.read.get('{warm}:a')); // connections opened
    const nodes = await Promise.all(redis.cluster.nodes.map((_, i) => redis.cluster.connectNode(i)));
    const before = await commandsOnAllNodes(nodes);

    const failure = tx.transact(['stock:42', 'orders:42'], (t) => void t.write.set('stock:42', '1'));

    await expect(failure).rejects.toBeInstanceOf(CrossSlotError);
    await expect(failure).rejects.toMatchObject({
      code: 'ERR_TRANSACT_CROSS_SLOT',
      slots: { 'stock:42': keyHashSlot('stock:42'), 'orders:42': keyHashSlot('orders:42') },
    });
    await expect(failure).rejects.toThrow('give them a common hash tag, e.g. {order:42}:stock and {order:42}:orders');
    const after = await commandsOnAllNodes(nodes);
    expect(after.map((n, i) => n - before[i]!)).toEqual([1, 1, 1]); // each node only saw our INFO
  });

  it('refuses t.watch() of a key in another slot', async () => {
    const tx = await transactor();

    const failure = tx.transact(['{a}:one'], async (t) => {
      await t.watch('{b}:two');
    });

    await expect(failure).rejects.toBeInstanceOf(CrossSlotError);
  });

  it('takes locks and runs lock mode with the fenced EXEC on a cluster', async () => {
    const tx = await transactor();
    await redis.client.del('{order:7}:stock');
    expect(keyHashSlot(resourceKeys('{order:7}:stock').lock)).toBe(keyHashSlot('{order:7}:stock'));
    expect(keyHashSlot(resourceKeys('plain:key').lock)).toBe(keyHashSlot('plain:key'));

    const lock = await tx.lock(['{order:7}:stock', '{order:7}:orders']);
    expect(Number.isSafeInteger(lock.fencingToken) && lock.fencingToken > 0).toBe(true);
    await lock.release();
    await expect(tx.lock(['a', 'b'])).rejects.toBeInstanceOf(CrossSlotError);

    await redis.client.set('{order:7}:stock', '3');
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        tx.transact(['{order:7}:stock'], async (t) => {
          const stock = Number(await t.read.get('{order:7}:stock'));
          if (stock <= 0) return false;
          t.write.set('{order:7}:stock', String(stock - 1));
          return true;
        }, { mode: 'lock', retry: { maxAttempts: 1 } }),
      ),
    );
    expect(results.filter((r) => r.value)).toHaveLength(3);
    expect(await redis.client.get('{order:7}:stock')).toBe('0');
  });

  it('applies the cluster client’s keyPrefix to transactions and keeps lock keys in the data keys’ slot', async () => {
    const tx = await redis.transactorOn(cluster, {}, { keyPrefix: 'app:' });
    await redis.client.del(['plain', 'app:app:plain']);
    await redis.client.set('app:plain', '1');
    await redis.client.set('app:{o:1}:stock', '5');

    await tx.transact(['plain'], async (t) => {
      const n = Number(await t.read.get('plain'));
      t.write.set('plain', String(n + 1));
    });
    await tx.transact(['{o:1}:stock'], async (t) => {
      const n = Number(await t.read.get('{o:1}:stock'));
      t.write.set('{o:1}:stock', String(n - 1));
    }, { mode: 'lock' });

    expect(await redis.client.get('app:plain')).toBe('2');
    expect(await redis.client.get('app:{o:1}:stock')).toBe('4');
    expect(await redis.client.exists('plain')).toBe(0); // nothing written without the prefix
    expect(await redis.client.exists('app:app:plain')).toBe(0); // nor with it twice
    expect(keyHashSlot(`app:${resourceKeys('plain', 'app:').lock}`)).toBe(keyHashSlot('app:plain'));
  });

  it('rethrows a MOVED for a key read outside the transaction’s slot (fn’s own mistake, not retried)', async () => {
    const tx = await transactor();
    const other = ['{x}:1', '{y}:1', '{z}:1', '{w}:1'].find((k) => redis.cluster.nodeForKey(k) !== redis.cluster.nodeForKey('{a}:1'))!;
    let runs = 0;

    const failure = tx.transact(['{a}:1'], async (t) => {
      runs++;
      await t.read.get(other);
    });

    await expect(failure).rejects.toThrow(/^MOVED /);
    expect(runs).toBe(1);
  });

  it('refuses work after close()', async () => {
    const tx = await transactor();
    await tx.transact(['{a}:1'], (t) => t.read.get('{a}:1'));
    await tx.close();
    await expect(tx.transact(['{a}:1'], () => 1)).rejects.toThrow('the transactor is closed');
  });

  it.each(['auto', 'optimistic', 'lock'] as const)('loses and doubles nothing while the slot moves to another master mid-traffic (%s mode)', async (mode) => {
    const redirects: RetryEvent[] = [];
    const tx = await transactor({
      mode,
      retry: { maxAttempts: 1_000, backoff: 'exponential', baseDelayMs: 1, maxDelayMs: 10 },
      hooks: { onRetry: (e) => void (e.reason === 'redirect' && redirects.push(e)) },
    });
    const tag = `{moving:${kind.name}:${mode}}`;
    const slot = keyHashSlot(tag);
    const from = redis.cluster.nodes.indexOf(redis.cluster.nodeForSlot(slot));
    const to = (from + 1) % redis.cluster.nodes.length;
    let committed = 0;
    let running = true;

    const traffic = Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        for (let i = 0; running || i < 5; i++) {
          const id = `w${worker}-${i}`;
          await tx.transact([`${tag}:counter`, `${tag}:log`], async (t) => {
            const n = Number(await t.read.get(`${tag}:counter`));
            kind.queue(t.write.set(`${tag}:counter`, String(n + 1)), ['RPUSH', `${tag}:log`, id]);
          });
          committed++;
        }
      }),
    );
    await waitFor(() => committed >= 20, 'traffic to flow');
    await redis.cluster.moveSlot(slot, to, {
      afterMigrating: async () => {
        // Not in lock mode: while the slot is MIGRATING, a lock script whose keys are partly moved
        // (the lock key absent, the slot's counters present) is answered TRYAGAIN until the move
        // ends, so a lock taken then waits for it (the traffic holding the lock goes on).
        if (mode === 'lock') return;
        const mark = committed;
        await waitFor(() => committed >= mark + 10, 'traffic during the migration');
      },
    });
    const moved = committed;
    await waitFor(() => committed >= moved + 20, 'traffic on the new owner');
    running = false;
    await traffic;

    const log = await redis.client.lRange(`${tag}:log`, 0, -1);
    expect(Number(await redis.client.get(`${tag}:counter`))).toBe(committed);
    expect(log).toHaveLength(committed);
    expect(new Set(log).size).toBe(committed);
    expect(redis.cluster.nodeForSlot(slot)).toBe(redis.cluster.nodes[to]);
    expect(redirects.length).toBeGreaterThan(0); // the move was really seen by transactions
  });
});

describe.each(CLUSTER_CLIENTS)('exactly-once on Redis Cluster: $name', (cluster) => {
  const { kind } = cluster;

  it('settles an EXEC held by CLIENT PAUSE and killed as not committed, with the marker in the keys’ slot', async () => {
    const tx = await redis.transactorOn(cluster, { exactlyOnce: true });
    const balance = `{once:paused:${kind.name}}:balance`;
    const orders = `{once:paused:${kind.name}}:orders`;
    await redis.client.set(balance, '100');
    const node = await redis.cluster.connectNode(redis.cluster.nodeForKey(balance));
    let id = 0;
    let runs = 0;

    const result = tx.transact([balance, orders], async (t) => {
      runs++;
      if (t.attempt === 1) {
        id = Number(await kind.command(t.read, ['CLIENT', 'ID']));
        await node.sendCommand(['CLIENT', 'PAUSE', '10000', 'WRITE']);
      }
      const b = Number(await t.read.get(balance));
      kind.queue(t.write.set(balance, String(b - 30)), ['RPUSH', orders, 'o-1']);
      return b - 30;
    });
    await waitFor(() => id !== 0, 'fn to run');
    await waitUntilExecIsHeld(node, id);
    await node.clientKill({ filter: 'ID', id });
    await node.sendCommand(['CLIENT', 'UNPAUSE']);

    await expect(result).resolves.toMatchObject({ value: 70, attempts: 2, repliesLost: false });
    expect(runs).toBe(2);
    expect(await redis.client.get(balance)).toBe('70');
    expect(await redis.client.lRange(orders, 0, -1)).toEqual(['o-1']);
    const markers = (await node.keys('rtonce:*')).filter((m) => keyHashSlot(m) === keyHashSlot(balance)); // attempt 1's claim and attempt 2's commit
    expect(markers).toHaveLength(2);
    for (const marker of markers) expect(keyHashSlot(marker)).toBe(keyHashSlot(balance));
  });

  it('resolves as committed, applied once, when the reply was cut after the node ran EXEC', async () => {
    const balance = `{once:cut:${kind.name}}:balance`;
    const orders = `{once:cut:${kind.name}}:orders`;
    const owner = redis.cluster.nodeForKey(balance);
    const proxy = await TcpProxy.inFrontOf(owner.url);
    const { port } = new URL(proxy.url);
    // Every connection to the key's master goes through the proxy (node-redis's nodeAddressMap,
    // ioredis's natMap); the other masters are direct.
    const tx = await redis.transactorOn(cluster, { exactlyOnce: true }, {
      addressMap: (host, nodePort) => (nodePort === owner.port ? { host: '127.0.0.1', port: Number(port) } : { host, port: nodePort }),
    });
    await redis.client.set(balance, '100');
    let runs = 0;
    proxy.atExec('cut-after-reply', { every: true });

    const result = await tx.transact([balance, orders], async (t) => {
      runs++;
      const b = Number(await t.read.get(balance));
      kind.queue(t.write.set(balance, String(b - 30)), ['RPUSH', orders, 'o-1']);
      return b - 30;
    });

    expect(result).toMatchObject({ value: 70, attempts: 1, repliesLost: true, replies: [] });
    expect(runs).toBe(1);
    expect(await redis.client.get(balance)).toBe('70');
    expect(await redis.client.lRange(orders, 0, -1)).toEqual(['o-1']);
    await tx.close();
    await proxy.stop();
  });
});

describe.each(CLUSTER_CLIENTS.filter((c) => c.kind.library !== 'node-redis'))('$name only', (cluster) => {
  it.each(['optimistic', 'lock', 'auto'] as const)('never sends a command through the app’s Cluster (%s mode)', async (mode) => {
    const app = await redis.connect(cluster);
    const sent: string[] = [];
    const send = app.sendCommand.bind(app);
    app.sendCommand = (command: { name: string }, ...rest: unknown[]) => {
      sent.push(command.name);
      return send(command, ...rest);
    };
    const tx = redis.track(createTransactor(app));
    const key = `{app:${cluster.name}:${mode}}:n`;

    await tx.transact([key], async (t) => {
      const n = Number(await t.read.get(key));
      t.write.set(key, String(n + 1));
    }, { mode, exactlyOnce: true });
    await (await tx.lock([key])).release();

    expect(await redis.client.get(key)).toBe('1');
    expect(sent).toEqual([]);
  });

  it('serves a call made while the Cluster is still connecting: tried again until it knows the slot map', async () => {
    const app = await redis.connect(cluster, { connecting: true });
    expect(app.status).not.toBe('ready');
    const tx = redis.track(createTransactor(app));

    const key = `{early:${cluster.name}}:n`;
    const result = await tx.transact([key], (t) => void t.write.incr(key), { retry: { maxAttempts: 1_000, baseDelayMs: 1, maxDelayMs: 5 } });

    expect(result.replies).toEqual([1]);
    expect(await redis.client.get(key)).toBe('1');
  });

  it('applies a keyPrefix given in redisOptions once', async () => {
    const tx = await redis.transactorOn(cluster, {}, { native: { redisOptions: { keyPrefix: 'opt:' } } });
    await redis.client.del(['opt:{p}:n', 'opt:opt:{p}:n', '{p}:n']); // ioredis and iovalkey share these keys

    for (const mode of ['optimistic', 'lock'] as const) {
      await tx.transact(['{p}:n'], async (t) => {
        const n = Number(await t.read.get('{p}:n'));
        t.write.set('{p}:n', String(n + 1));
      }, { mode });
    }

    expect(await redis.client.get('opt:{p}:n')).toBe('2');
    expect(await redis.client.exists(['{p}:n', 'opt:opt:{p}:n'])).toBe(0);
  });

  it('types t.read as the cluster’s node client and t.write as its typed pipeline', () => {
    // Compiled, never run: a misspelt command is a compile error.
    const typed = (tx: Transactor<Cluster>) =>
      tx.transact(['n'], async (t) => {
        const n: string | null = await t.read.get('n');
        t.write.set('n', String(n)).incr('m').rpush('l', 'x');
        // @ts-expect-error: no such command
        t.write.sett('n', '1');
        // @ts-expect-error: no such command
        await t.read.gett('n');
      });
    expect(typeof typed).toBe('function');
  });
});

describe.each(CLUSTER_CLIENTS.filter((c) => c.kind.library !== 'node-redis'))('$name: release notifications', (cluster) => {
  it('subscribes a waiter’s release channel again on the slot’s new master after the slot moved', async () => {
    const tx = await redis.transactorOn(cluster);
    const key = `{resubscribed:${cluster.name}}:k`;
    const slot = keyHashSlot(key);
    const from = redis.cluster.nodes.indexOf(redis.cluster.nodeForSlot(slot));
    const to = (from + 1) % redis.cluster.nodes.length;
    const nodes = await Promise.all(redis.cluster.nodes.map((_, i) => redis.cluster.connectNode(i)));
    const channelsOfSlot = async (node: number) =>
      (await nodes[node]!.sendCommand<string[]>(['PUBSUB', 'SHARDCHANNELS'])).filter((c) => keyHashSlot(c) === slot);
    const holder = await tx.lock([key]);
    const waiter = tx.lock([key], { acquireTimeoutMs: 30_000 });
    await waitFor(async () => (await channelsOfSlot(from)).length > 0, 'the waiter to subscribe');

    await redis.cluster.moveSlot(slot, to);
    // ioredis 6 hears the old master drop the channel; iovalkey does not, and follows the slot when
    // the lock service's Cluster next reads the slot map: here, when a lock script meets the MOVED.
    if (cluster.kind.library === 'iovalkey') await (await tx.lock([`{resubscribed:${cluster.name}}:other`])).release();

    await waitFor(async () => (await channelsOfSlot(to)).length > 0, 'the channel on the new master');
    await holder.release();
    const lock = await waiter;
    expect(lock.fencingToken).toBeGreaterThan(holder.fencingToken);
    await lock.release();
  });
});

describe.each(CLUSTER_CLIENTS)('close() on Redis Cluster: $name', (cluster) => {
  it('leaves no connection of the transactor open on any node', async () => {
    const nodes = await Promise.all(redis.cluster.nodes.map((_, i) => redis.cluster.connectNode(i)));
    const app = await redis.connect(cluster);
    const clientsOnNodes = () => Promise.all(nodes.map(async (node) => Number(/connected_clients:(\d+)/.exec(await node.info('clients'))?.[1])));
    const before = await clientsOnNodes();
    const tx = createTransactor(app);
    const keys = ['{left:a}:n', '{left:b}:n', '{left:c}:n', '{left:d}:n'];
    expect(new Set(keys.map((k) => redis.cluster.nodeForKey(k))).size).toBeGreaterThan(1);

    for (const key of keys) {
      for (const mode of ['optimistic', 'lock'] as const) await tx.transact([key], (t) => void t.write.incr(key), { mode });
      const holder = await tx.lock([key]);
      const waiter = tx.lock([key]); // subscribes to the release channel on the key's master
      await holder.release();
      await (await waiter).release();
    }
    expect((await clientsOnNodes()).some((n, i) => n > before[i]!)).toBe(true);
    await tx.close();

    await waitFor(async () => (await clientsOnNodes()).every((n, i) => n === before[i]), 'every node back to the connections it had');
  });
});
