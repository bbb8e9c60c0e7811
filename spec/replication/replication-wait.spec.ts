import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type RedisClientType } from 'redis';
import { type EmbeddedRedis, startEmbeddedRedis } from '../../examples/support/embedded-redis';
import { createTransactor, InvalidOptionsError, type Transactor } from '../../lib';
import { injectFaults } from '../../lib/testing';
import { commandCalls, waitFor } from '../support/redis';
import { TcpProxy } from '../support/tcp-proxy';

/** A primary and one replica, each with files in a temp dir of its own. */
let dir: string;
let primary: EmbeddedRedis;
let primaryClient: RedisClientType | undefined;
let replica: EmbeddedRedis;
const opened: Array<{ close(): Promise<unknown> }> = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'replication-wait-'));
  const files = (name: string) => ['--dir', dir, '--dbfilename', `${name}.rdb`, '--save', '', '--appendonly', 'no'];
  primary = await startEmbeddedRedis({ args: files('primary') });
  replica = await startEmbeddedRedis({ args: [...files('replica'), '--replicaof', primary.host, String(primary.port)] });
  const admin = await connect(replica.url);
  await waitFor(async () => /master_link_status:up/.test(await admin.info('replication')), 'the replica to sync', 10_000);
  primaryClient = createClient({ url: primary.url });
  await primaryClient.connect();
}, 30_000);
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close().catch(() => {})));
});
afterAll(async () => {
  await primaryClient?.close();
  await replica?.stop();
  await primary?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function connect(url: string): Promise<RedisClientType> {
  const client: RedisClientType = createClient({ url });
  client.on('error', () => {});
  opened.push(client);
  return client.connect();
}

function transactor(client: RedisClientType, options?: Parameters<typeof createTransactor>[1]): Transactor {
  const tx = createTransactor(client, options);
  opened.push(tx);
  return tx;
}

const increment = (key: string) => async (t: { read: RedisClientType; write: { set(k: string, v: string): unknown } }) => {
  t.write.set(key, String(Number(await t.read.get(key)) + 1));
};

describe('replication: wait for replicas after the commit (WAIT)', () => {
  it('reports how many replicas acknowledged the commit, and the replica has it when the call resolves', async () => {
    const tx = transactor(await connect(primary.url));
    const onReplica = await connect(replica.url);

    for (let i = 1; i <= 20; i++) {
      const result = await tx.transact(['n'], increment('n'), { replication: { replicas: 1, timeoutMs: 5_000 } });
      expect(result.replicatedTo).toBe(1);
      expect(await onReplica.get('n')).toBe(String(i)); // no read-your-writes lag: it was acknowledged
    }
  });

  it('rides in the same write as EXEC: an uncontended transaction still costs two round trips', async () => {
    const proxy = await TcpProxy.inFrontOf(primary.url);
    try {
      const tx = transactor(await proxy.connectClient(), { replication: { replicas: 1, timeoutMs: 5_000 } });
      const admin = await connect(primary.url);
      await tx.transact(['rt'], increment('rt')); // opens the dedicated connection
      const waits = await commandCalls(admin, 'wait');
      const before = proxy.flights;

      const result = await tx.transact(['rt'], increment('rt'));

      expect(proxy.flights - before).toBe(2);
      expect(result.replicatedTo).toBe(1);
      expect(await commandCalls(admin, 'wait')).toBe(waits + 1);
    } finally {
      await proxy.stop();
    }
  });

  // A WAIT sent before EXEC (on a fresh connection: nothing written yet) would answer 1 at once:
  // the count of 0 here also pins WAIT behind EXEC.
  it('reports 0 when no replica acknowledged within timeoutMs: the commit stands on the primary', async () => {
    const tx = transactor(await connect(primary.url));
    const onReplica = await connect(replica.url);
    // The replica stops applying (and acknowledging) the replication stream while paused.
    await onReplica.sendCommand(['CLIENT', 'PAUSE', '500', 'ALL']);

    const result = await tx.transact(['p'], increment('p'), { replication: { replicas: 1, timeoutMs: 50 } });

    expect(result.replicatedTo).toBe(0);
    expect(await (await connect(primary.url)).get('p')).toBe('1');
    await waitFor(async () => (await onReplica.get('p')) === '1', 'the replica to catch up once unpaused', 5_000);
  });

  it('ends the wait with the call’s deadline: 0 replicas, long before timeoutMs, the commit standing', async () => {
    const tx = transactor(await connect(primary.url));
    const onReplica = await connect(replica.url);
    await onReplica.sendCommand(['CLIENT', 'PAUSE', '1500', 'ALL']);

    const result = await tx.transact(['d'], increment('d'), { replication: { replicas: 1, timeoutMs: 60_000 }, retry: { deadlineMs: 200 } });

    expect(result.replicatedTo).toBe(0);
    // The replica has not acknowledged the commit yet (it is still paused): the call did not wait for it.
    const info = await (await connect(primary.url)).info('replication');
    const acked = Number(/slave0:[^\r\n]*offset=(\d+)/.exec(info)![1]);
    expect(acked).toBeLessThan(Number(/master_repl_offset:(\d+)/.exec(info)![1]));
    expect(await (await connect(primary.url)).get('d')).toBe('1');
    await waitFor(async () => (await onReplica.get('d')) === '1', 'the replica to catch up once unpaused', 10_000);
  });

  it.each(['optimistic', 'lock'] as const)('sends no WAIT and reports nothing when fn queued nothing (%s mode)', async (mode) => {
    const tx = transactor(await connect(primary.url), { replication: { replicas: 1, timeoutMs: 1_000 } });
    const admin = await connect(primary.url);
    const waits = await commandCalls(admin, 'wait');

    const result = await tx.transact(['quiet'], (t) => t.read.get('quiet'), { mode });

    expect('replicatedTo' in result).toBe(false);
    expect(await commandCalls(admin, 'wait')).toBe(waits);
  });

  it('takes a call’s replication over the transactor’s', async () => {
    const tx = transactor(await connect(primary.url), { replication: { replicas: 1, timeoutMs: 1 } });
    const onReplica = await connect(replica.url);

    // While the replica is paused for 300 ms, the transactor's 1 ms wait sees no replica, and the
    // call's own 5 s wait sees it once it resumes.
    await onReplica.sendCommand(['CLIENT', 'PAUSE', '300', 'ALL']);
    const byDefault = await tx.transact(['o'], increment('o'));
    const ownWait = await tx.transact(['o'], increment('o'), { replication: { replicas: 1, timeoutMs: 5_000 } });

    expect(byDefault.replicatedTo).toBe(0);
    expect(ownWait.replicatedTo).toBe(1);
  });

  it('has nothing to report when the EXEC reply was lost and settled (exactly-once): replicatedTo is absent', async () => {
    const tx = transactor(await connect(primary.url));
    const faulty = injectFaults(tx, { lostReply: 'committed' });
    const plain = await tx.transact(['lost'], increment('lost'), { exactlyOnce: true, replication: { replicas: 1, timeoutMs: 1_000 } });

    const result = await faulty.transact(['lost'], increment('lost'), { exactlyOnce: true, replication: { replicas: 1, timeoutMs: 1_000 } });

    expect(plain.replicatedTo).toBe(1); // the same call without the fault reports it
    expect(result).toMatchObject({ repliesLost: true });
    expect('replicatedTo' in result).toBe(false);
  });

  it('refuses a transactor’s bad replication option', () => {
    expect(() => createTransactor(primaryClient!, { replication: { replicas: 101, timeoutMs: 1 } })).toThrow(
      'options.replication.replicas: must be a whole number from 1 to 100, got 101',
    );
  });

  it.each([
    [{ replicas: 0, timeoutMs: 100 }, 'options.replication.replicas: must be a whole number from 1 to 100, got 0'],
    [{ replicas: 1, timeoutMs: 0 }, 'options.replication.timeoutMs: must be a whole number of milliseconds, at least 1 (WAIT with 0 never ends), got 0'],
    [{ replicas: 1, timeoutMs: 2 ** 31 }, 'options.replication.timeoutMs: must be at most 2147483647'],
    [{ replicas: 1 }, 'options.replication.timeoutMs: is required'],
  ])('refuses replication %j before anything is sent', async (replication, message) => {
    const tx = transactor(await connect(primary.url));
    const admin = await connect(primary.url);
    const watches = await commandCalls(admin, 'watch');

    const call = tx.transact(['bad'], increment('bad'), { replication: replication as never });

    await expect(call).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(call).rejects.toThrow(message);
    expect(await commandCalls(admin, 'watch')).toBe(watches);
  });
});
