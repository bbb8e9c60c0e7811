import { createClient, SimpleError, type RedisClientType } from 'redis';
import { CLUSTER_SLOTS, keySlot, type RedisClusterHarness, startRedisCluster } from './redis-cluster';
import { waitFor } from './redis';

/** The `myself` line of a node's CLUSTER NODES: it carries the node's migrating/importing slots. */
async function myselfLine(client: RedisClientType): Promise<string> {
  const nodes = await client.clusterNodes();
  return nodes.split('\n').find((line) => line.includes('myself')) ?? '';
}

/** The index, in `cluster.nodes`, of the node that owns `key` now. */
function ownerIndex(cluster: RedisClusterHarness, key: string): number {
  return cluster.nodes.indexOf(cluster.nodeForKey(key));
}

describe('startRedisCluster', () => {
  let cluster: RedisClusterHarness;
  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('starts 3 loopback masters that all report cluster_state:ok and split the slots evenly', async () => {
    expect(cluster.nodes).toHaveLength(3);
    expect(new Set(cluster.nodes.map((node) => node.id)).size).toBe(3);
    expect(cluster.rootNodes).toEqual(cluster.nodes.map((node) => ({ url: node.url })));
    for (const node of cluster.nodes) {
      expect(node).toMatchObject({ host: '127.0.0.1', url: `redis://127.0.0.1:${node.port}` });
      const client = await cluster.connectNode(node);
      expect(await client.clusterMyId()).toBe(node.id);
      const info = await client.clusterInfo();
      expect(info).toContain('cluster_state:ok');
      expect(info).toContain('cluster_known_nodes:3');
      expect(info).toContain(`cluster_slots_assigned:${CLUSTER_SLOTS}`);
    }
    const ranges = await (await cluster.connectNode(0)).clusterSlots();
    expect(ranges).toHaveLength(3);
    for (const { from, to, master } of ranges) {
      expect(to - from + 1).toBeGreaterThanOrEqual(Math.floor(CLUSTER_SLOTS / 3));
      expect(cluster.nodeForSlot(from)).toMatchObject({ id: master.id, port: master.port });
      expect(cluster.nodeForSlot(to).id).toBe(master.id);
    }
  });

  it('computes the same key slots as Redis, hash tags included', async () => {
    const client = await cluster.connectNode(0);
    for (const key of ['a', 'user:1', '{user:1}:cart', 'foo{}{bar}', 'foo{{bar}}zap', 'foo{bar}{zap}', '{}', 'ключ']) {
      expect(keySlot(key)).toBe(await client.clusterKeySlot(key));
    }
  });

  it('spreads keys with different hash tags over several masters, each held by its owner only', async () => {
    const client = await cluster.createClusterClient();
    const keys = Array.from({ length: 8 }, (_, i) => `{tag${i}}:key`);
    await Promise.all(keys.map((key) => client.set(key, key.toUpperCase())));

    expect(new Set(keys.map((key) => cluster.nodeForKey(key).id)).size).toBeGreaterThanOrEqual(2);
    for (const key of keys) {
      const owner = cluster.nodeForKey(key);
      expect(await (await cluster.connectNode(owner)).get(key)).toBe(key.toUpperCase());
      const other = cluster.nodes.find((node) => node !== owner)!;
      await expect((await cluster.connectNode(other)).get(key)).rejects.toThrow(
        `MOVED ${keySlot(key)} ${owner.host}:${owner.port}`,
      );
    }
  });

  it('moveSlot moves a slot and its key to another master, and cluster clients follow', async () => {
    const key = '{moved}:key';
    const slot = keySlot(key);
    const client = await cluster.createClusterClient();
    await client.set(key, 'value');
    const from = ownerIndex(cluster, key);
    const to = (from + 1) % cluster.nodes.length;

    await cluster.moveSlot(slot, to);

    expect(cluster.nodeForSlot(slot)).toBe(cluster.nodes[to]);
    const target = await cluster.connectNode(to);
    const source = await cluster.connectNode(from);
    expect(await target.clusterCountKeysInSlot(slot)).toBe(1);
    expect(await source.clusterCountKeysInSlot(slot)).toBe(0);
    expect(await target.get(key)).toBe('value');
    await expect(source.get(key)).rejects.toThrow(`MOVED ${slot} 127.0.0.1:${cluster.nodes[to]!.port}`);
    for (const node of [source, target]) {
      const owner = (await node.clusterSlots()).find((range) => range.from <= slot && slot <= range.to);
      expect(owner?.master.id).toBe(cluster.nodes[to]!.id);
    }
    expect(await client.get(key)).toBe('value'); // its slot map is stale: it follows MOVED
    expect(await (await cluster.createClusterClient()).get(key)).toBe('value');
  });

  it('moveSlot calls afterMigrating while the slot is half-migrated, answering with ASK and MOVED', async () => {
    const key = '{half}:key';
    const slot = keySlot(key);
    const client = await cluster.createClusterClient();
    await client.set(key, 'old');
    const from = ownerIndex(cluster, key);
    const to = (from + 2) % cluster.nodes.length;
    const source = await cluster.connectNode(from);
    const target = await cluster.connectNode(to);
    const { port: sourcePort, id: sourceId } = cluster.nodes[from]!;
    const { port: targetPort, id: targetId } = cluster.nodes[to]!;
    let calls = 0;

    await cluster.moveSlot(slot, to, {
      afterMigrating: async () => {
        calls++;
        expect(await myselfLine(source)).toContain(`[${slot}->-${targetId}]`);
        expect(await myselfLine(target)).toContain(`[${slot}-<-${sourceId}]`);
        // The key has not moved yet: the target, asked without ASKING, sends clients back.
        const moved = await target.get(key).catch((error: unknown) => error);
        expect(moved).toBeInstanceOf(SimpleError);
        expect((moved as Error).message).toBe(`MOVED ${slot} 127.0.0.1:${sourcePort}`);
        // A key the source does not hold is the target's business now.
        await expect(source.get('{half}:new')).rejects.toThrow(`ASK ${slot} 127.0.0.1:${targetPort}`);
        // The cluster client follows both: the old key from the source, the new one via ASK.
        expect(await client.get(key)).toBe('old');
        await client.set('{half}:new', 'new');
        expect(await target.sendCommand(['CLUSTER', 'COUNTKEYSINSLOT', String(slot)])).toBe(1);
      },
    });

    expect(calls).toBe(1);
    expect(await myselfLine(source)).not.toContain('->-');
    expect(await myselfLine(target)).not.toContain('-<-');
    expect(await target.clusterCountKeysInSlot(slot)).toBe(2);
    expect(await source.clusterCountKeysInSlot(slot)).toBe(0);
    expect(await client.mGet([key, '{half}:new'])).toEqual(['old', 'new']);
  });

  it('moveSlot refuses a slot that does not exist or a move onto the current owner', async () => {
    const slot = keySlot('{refused}');
    await expect(cluster.moveSlot(CLUSTER_SLOTS, 0)).rejects.toThrow(RangeError);
    await expect(cluster.moveSlot(slot, cluster.nodes.length)).rejects.toThrow(RangeError);
    await expect(cluster.moveSlot(slot, ownerIndex(cluster, '{refused}'))).rejects.toThrow(/already on node/);
  });
});

describe('RedisClusterHarness.stop', () => {
  it('closes its clients, stops its nodes, and can be called twice', async () => {
    const cluster = await startRedisCluster({ masters: 1 });
    const clusterClient = await cluster.createClusterClient();
    const nodeClient = await cluster.connectNode(0);
    expect(await clusterClient.set('k', 'v')).toBe('OK');

    await cluster.stop();
    await cluster.stop();

    expect(clusterClient.isOpen).toBe(false);
    expect(nodeClient.isOpen).toBe(false);
    const late = createClient({ url: cluster.nodes[0]!.url, socket: { reconnectStrategy: false } });
    late.on('error', () => {});
    await expect(late.connect()).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('startRedisCluster with replicas', () => {
  it('starts a replica per master, linked up, and promotes it when its master is killed or frozen', async () => {
    const cluster = await startRedisCluster({ masters: 3, replicas: true });
    try {
      expect(cluster.replicas).toHaveLength(3);
      expect(cluster.rootNodes).toEqual(cluster.nodes.map((node) => ({ url: node.url })));
      for (const [i, replica] of cluster.replicas.entries()) {
        const admin = await cluster.connectNode(replica);
        const info = await admin.info('replication');
        expect(info).toContain('role:slave');
        expect(info).toContain(`master_port:${cluster.nodes[i]!.port}`);
        expect(info).toContain('master_link_status:up');
        expect(await admin.clusterInfo()).toContain('cluster_known_nodes:6');
      }
      const ranges = await (await cluster.connectNode(0)).clusterSlots();
      expect(ranges.map((r) => [r.master.id, r.replicas.map((x) => x.id)])).toEqual(
        cluster.nodes.map((node, i) => [node.id, [cluster.replicas[i]!.id]]),
      );

      const key = ['{a}:k', '{b}:k', '{c}:k', '{d}:k'].find((k) => cluster.nodeForKey(k) === cluster.nodes[0])!;
      const master = await cluster.connectNode(0);
      await master.set(key, 'kept');
      expect(await master.wait(1, 5_000)).toBe(1);
      await cluster.kill(cluster.nodes[0]!);
      expect(cluster.liveNodes().map((n) => n.id)).not.toContain(cluster.nodes[0]!.id);
      await cluster.waitForPromotion(cluster.replicas[0]!);

      expect(cluster.nodeForKey(key)).toBe(cluster.replicas[0]);
      const promoted = await cluster.connectNode(cluster.replicas[0]!);
      expect(await promoted.info('replication')).toContain('role:master');
      expect(await promoted.get(key)).toBe('kept');
      expect(await (await cluster.createClusterClient({ rootNodes: [{ url: cluster.nodes[1]!.url }] })).get(key)).toBe('kept');

      // A frozen master (SIGSTOP) fails over too; thawed, it learns it lost and follows its replica.
      const old = await cluster.connectNode(1);
      await cluster.freeze(cluster.nodes[1]!);
      await cluster.waitForPromotion(cluster.replicas[1]!);
      cluster.thaw(cluster.nodes[1]!);
      expect(cluster.liveNodes()).toContain(cluster.nodes[1]);
      await waitFor(async () => (await old.info('replication')).includes(`master_port:${cluster.replicas[1]!.port}`), 'the thawed master to follow its replica');
    } finally {
      await cluster.stop();
    }
  }, 60_000);
});
