/**
 * A master of a real Redis Cluster fails over under load, for node-redis's cluster client and
 * ioredis's and iovalkey's `Cluster` from one source (`CLUSTER_CLIENTS`): 3 masters and a replica
 * of each on loopback (`--cluster-node-timeout 2000`), one cluster per client library. Each case
 * runs bank transfers between accounts of one hash tag (one slot, on one master) in one mode, and
 * fails that master over: killed for real (SIGKILL, its replica promoted by the cluster after the
 * node timeout), or `CLUSTER FAILOVER FORCE` on its replica while it still runs. Each case fails
 * over another master, so the three cases share the cluster.
 */
import { createTransactor, isTransactError, type RetryEvent, type TransactMode, type Transactor } from '../../lib';
import { CLUSTER_CLIENTS, type ClusterClientKind, type ClusterNode, keySlot, type RedisClusterHarness, startRedisCluster } from '../support/redis-cluster';
import { commandCalls, waitFor } from '../support/redis';

/** Accounts per case, and the opening balance of each. */
const ACCOUNTS = 8;
const OPENING = 100;
/** Transfers in flight at any time. */
const WORKERS = 16;

/** A hash tag whose slot is on `master` now. */
function tagOn(cluster: RedisClusterHarness, master: ClusterNode, prefix: string): string {
  for (let n = 0; ; n++) {
    const tag = `{${prefix}:${n}}`;
    if (cluster.nodeForSlot(keySlot(tag)) === master) return tag;
  }
}

/**
 * Every client connection each node in `nodes` lists (CLIENT LIST), through `admins`, by
 * `port/id`, with its CLIENT LIST line; not the replication links (flags S and M), which come and
 * go with the failover.
 */
async function connectionsOn(admins: ReadonlyArray<{ sendCommand<T>(args: string[]): Promise<T> }>, nodes: readonly ClusterNode[]): Promise<Map<string, string>> {
  const lists = await Promise.all(admins.map((admin) => admin.sendCommand<string>(['CLIENT', 'LIST'])));
  return new Map(
    lists.flatMap((list, i) =>
      list
        .trim()
        .split('\n')
        .filter((line) => !/\bflags=\w*[SM]/.test(line))
        .map((line): [string, string] => [`${nodes[i]!.port}/${/\bid=(\d+)/.exec(line)![1]}`, line]),
    ),
  );
}

/**
 * `port/id` of the connections the app's own cluster client holds now: the transactor's are
 * copies of them (duplicates), never these. A connection that does not answer is skipped.
 */
async function appConnections(kind: ClusterClientKind, app: any): Promise<Set<string>> {
  const ids: string[] = [];
  if (kind.kind.library === 'node-redis') {
    const nodes = [...(app.nodeByAddress as Map<string, { client?: any; pubSub?: { client?: any } }>).entries()];
    await Promise.all(
      nodes.flatMap(([address, node]) =>
        [node.client, node.pubSub?.client]
          .filter((client) => client?.isReady === true)
          .map(async (client) => ids.push(`${address.slice(address.lastIndexOf(':') + 1)}/${await client.clientId()}`)),
      ),
    );
  } else {
    await Promise.all(
      (app.nodes('all') as any[])
        .filter((node) => node.status === 'ready')
        .map(async (node) => ids.push(`${node.options.port}/${await node.client('ID')}`)),
    );
  }
  return new Set(ids);
}

/** An error's class name and message, as a failed expectation shows it. */
function describeError(err: unknown): string {
  return err instanceof Error ? `${err.constructor.name}(${(err as { code?: string }).code ?? ''}): ${err.message}` : String(err);
}

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

describe.each(CLUSTER_CLIENTS)('failover on Redis Cluster: $name', (clusterKind) => {
  const { kind } = clusterKind;
  let cluster: RedisClusterHarness;
  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicas: true });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it.each([
    { mode: 'optimistic', master: 0, fault: 'kill' },
    { mode: 'lock', master: 1, fault: 'kill' },
    { mode: 'auto', master: 2, fault: 'force' },
  ] as Array<{ mode: TransactMode; master: number; fault: 'kill' | 'force' }>)(
    '$mode mode, master $fault: every call settles, typed errors only, the total holds, new calls commit on the promoted replica, close() leaves nothing',
    async ({ mode, master: index, fault }) => {
      const master = cluster.nodes[index]!;
      const replica = cluster.replicas[index]!;
      const tag = tagOn(cluster, master, `bank:${kind.name}:${mode}`);
      const accounts = Array.from({ length: ACCOUNTS }, (_, n) => `${tag}:acct:${n}`);
      const log = `${tag}:log`;
      const masterAdmin = await cluster.connectNode(master);
      await masterAdmin.mSet(accounts.map((account) => [account, String(OPENING)] as [string, string]));
      // The replica has the opening balances before anything can be lost with its master.
      expect(await masterAdmin.wait(1, 5_000)).toBe(1);
      // Admin connections to every live node, made before the app's client: the transactor's
      // connections are the ones a node lists later that are neither these nor the app's.
      const live = cluster.liveNodes();
      const admins = await Promise.all(live.map((node) => cluster.connectNode(node)));
      const replicaAdmin = admins[live.indexOf(replica)]!;
      const before = await connectionsOn(admins, live);

      const app = await clusterKind.open(cluster);
      const retries: RetryEvent['reason'][] = [];
      const tx: Transactor = createTransactor(app, {
        mode,
        // A failover takes seconds (the node timeout, then an election): calls wait it out.
        retry: { maxAttempts: 10_000, backoff: 'exponential', baseDelayMs: 5, maxDelayMs: 100, deadlineMs: 30_000 },
        // A lock its holder lost with the killed master lives on in the replica until its lease
        // ends: a short lease keeps the case short.
        lock: { ttlMs: 2_000, acquireTimeoutMs: 30_000 },
        hooks: { onRetry: (e) => void retries.push(e.reason) },
      });
      /** How each call ended, by its id (also the id it appends to the log in its MULTI). */
      const outcomes = new Map<string, { committed: boolean; error?: unknown }>();
      let started = 0;
      let committed = 0;
      let running = true;

      const transfer = async (worker: number) => {
        const id = `w${worker}-${started++}`;
        const from = accounts[Math.floor(Math.random() * ACCOUNTS)]!;
        const to = accounts[(accounts.indexOf(from) + 1 + Math.floor(Math.random() * (ACCOUNTS - 1))) % ACCOUNTS]!;
        try {
          await tx.transact([from, to, log], async (t) => {
            const [a, b] = (await Promise.all([t.read.get(from), t.read.get(to)])).map(Number) as [number, number];
            const amount = Math.min(a, 1 + Math.floor(Math.random() * 10));
            kind.queue(t.write.set(from, String(a - amount)).set(to, String(b + amount)), ['RPUSH', log, id]);
          });
          outcomes.set(id, { committed: true });
          committed++;
        } catch (error) {
          outcomes.set(id, { committed: false, error });
        }
      };
      const traffic = Promise.all(
        Array.from({ length: WORKERS }, async (_, worker) => {
          while (running) await transfer(worker);
        }),
      );

      try {
        await waitFor(() => committed >= 50, 'transfers to flow before the failover', 20_000);
        if (fault === 'kill') await cluster.kill(master);
        else await replicaAdmin.sendCommand(['CLUSTER', 'FAILOVER', 'FORCE']);
        await cluster.waitForPromotion(replica);
        const promoted = committed;
        // The same transactor goes on, on the promoted replica, nothing recreated.
        await waitFor(() => committed >= promoted + 50, 'transfers to flow after the failover', 20_000);
      } finally {
        // Also when a wait above failed: the workers must not go on for ever.
        running = false;
        await traffic; // every call settles: none hangs (the test's timeout bounds this)
      }
      expect(outcomes.size).toBe(started);

      // A new call on the same keys commits on the promoted replica.
      const promotedAdmin = replicaAdmin;
      const execs = await commandCalls(promotedAdmin, 'exec');
      const probe = await tx.transact([accounts[0]!, log], (t) => void kind.queue(t.write, ['RPUSH', log, 'probe']));
      expect(probe.replies).toEqual([expect.any(Number)]);
      expect(await commandCalls(promotedAdmin, 'exec')).toBeGreaterThan(execs);
      expect(await promotedAdmin.lIndex(log, -1)).toBe('probe');

      // Read back from the new master: every transfer applied whole or not at all.
      const balances = (await promotedAdmin.mGet(accounts)).map(Number);
      const applied = await promotedAdmin.lRange(log, 0, -2);
      const failures = [...outcomes].filter(([, o]) => !o.committed);
      const lost = [...outcomes].filter(([id, o]) => o.committed && !applied.includes(id));
      console.info(
        `cluster failover (${clusterKind.name}, ${mode}, ${fault}): ${started} calls, ${committed} committed ` +
          `(${lost.length} of them lost with the old master: replication is asynchronous), ${failures.length} failed: ` +
          `${JSON.stringify(countBy(failures.map(([, o]) => (o.error as Error).name)))}; retries: ${JSON.stringify(countBy(retries))}`,
      );
      expect(balances.reduce((sum, b) => sum + b, 0)).toBe(ACCOUNTS * OPENING);
      expect(balances.every((b) => b >= 0)).toBe(true);
      // Nothing applied twice, and only calls that were made.
      expect(new Set(applied).size).toBe(applied.length);
      expect(applied.filter((id) => !outcomes.has(id))).toEqual([]);
      // A call that failed did so with the library's own errors, and applied nothing unless the
      // library said it could not tell (TransactOutcomeUnknownError).
      expect(failures.filter(([, o]) => !isTransactError(o.error)).map(([id, o]) => `${id}: ${describeError(o.error)}`)).toEqual([]);
      expect(
        failures
          .filter(([id, o]) => applied.includes(id) && (o.error as { code?: string }).code !== 'ERR_TRANSACT_OUTCOME_UNKNOWN')
          .map(([id, o]) => `${id}: ${describeError(o.error)}`),
      ).toEqual([]);
      // The failover was really met by calls in flight.
      expect(retries.filter((reason) => reason !== 'conflict').length + failures.length).toBeGreaterThan(0);

      // close() leaves no connection of the transactor on any live node (the app's stay).
      await tx.close();
      const stillLive = cluster.liveNodes();
      const liveAdmins = admins.filter((_, i) => stillLive.includes(live[i]!));
      const liveNodes = live.filter((node) => stillLive.includes(node));
      let left: string[] = [];
      await waitFor(
        async () => {
          const mine = await appConnections(clusterKind, app);
          left = [...(await connectionsOn(liveAdmins, liveNodes))]
            .filter(([id]) => !before.has(id) && !mine.has(id))
            .map(([id, line]) => `${id} (${line.replace(/ (fd|qbuf|qbuf-free|argv-mem|multi-mem|obl|oll|omem|tot-mem|events|rbs|rbp|resp|lib-ver|redir|user|db|sub|psub|ssub|multi|watch|laddr)=\S*/g, '')})`);
          return left.length === 0;
        },
        'every connection of the transactor to close',
      ).catch(() => {
        throw new Error(`connections left open by the transactor after close():\n${left.join('\n')}`);
      });
      await clusterKind.close(app);
    },
    60_000,
  );
});
