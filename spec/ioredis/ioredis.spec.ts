import { createRedlock, createTransactor, InvalidOptionsError, type TransactMode } from '../../lib';
import { IOREDIS, IOREDIS_RESP2, IOVALKEY, useClients } from '../support/clients';

/**
 * What only ioredis (and iovalkey, its fork) needs checked, on a real redis-server: EXEC's
 * replies as ioredis shapes them, its own key prefix applied once, and the deployments it is
 * refused for. Transactions, faults, locks, close() and bad input are specified once for every
 * client in `spec/clients/`; the reconnect trap (re-send, offline queue) in
 * `spec/clients/reconnect-trap.spec.ts`.
 */
const clients = useClients();
const MODES: TransactMode[] = ['optimistic', 'lock', 'auto'];

describe.each([IOREDIS, IOREDIS_RESP2, IOVALKEY])('$name', (kind) => {
  it('hands over EXEC’s replies as ioredis shapes them for each command', async () => {
    const { tx, client } = await clients.transactor(kind);
    await client.hset('h', 'a', '1');

    const result = await tx.transact(['n', 'h'], async (t) => {
      const n = Number(await t.read.get('n'));
      t.write.set('n', String(n + 1)).incr('m').hgetall('h').getBuffer('n');
      return n;
    });

    expect(result).toEqual({ value: 0, replies: ['OK', 1, { a: '1' }, Buffer.from('1')], attempts: 1, repliesLost: false });
  });

  it('queues on t.write what ioredis’s own MULTI takes: the client’s scripts (the `scripts` option), `call`, and its length', async () => {
    const scripts = { bump: { numberOfKeys: 1, lua: "return redis.call('INCRBY', KEYS[1], ARGV[1])" } };
    const { tx } = await clients.transactor(kind, {}, { keyPrefix: 'app:', native: { scripts } });
    const admin = await clients.admin();
    let queued = -1;

    const result = await tx.transact(['n'], (t) => {
      (t.write as { bump(key: string, by: number): unknown }).bump('n', 5);
      t.write.call('incrby', 'n', '2');
      queued = t.write.length;
    });

    expect(result.replies).toEqual([5, 7]);
    expect(queued).toBe(2);
    // The script's key and call's key under the prefix once.
    expect(await admin.get('app:n')).toBe('7');
    expect(await admin.keys('*')).toEqual(['app:n']);
  });

  it.each(MODES)('applies the client keyPrefix once, to fn’s keys, the lock and the commit marker (%s mode)', async (mode) => {
    const { tx } = await clients.transactor(kind, { exactlyOnce: true }, { keyPrefix: 'app:' });
    const admin = await clients.admin();
    let lockKeys: string[] = [];

    await tx.transact(['n'], async (t) => {
      const n = Number(await t.read.get('n'));
      lockKeys = await admin.keys('*rtlock:lock:*');
      t.write.set('n', String(n + 1));
    }, { mode });

    expect(await admin.get('app:n')).toBe('1');
    const keys = await admin.keys('*');
    expect(keys.filter((k) => !k.startsWith('app:'))).toEqual([]);
    expect(keys.filter((k) => k.startsWith('app:app:'))).toEqual([]);
    expect(keys.filter((k) => k.startsWith('app:rtonce:'))).toHaveLength(1);
    expect(lockKeys.map((k) => k.slice(0, 'app:rtlock:'.length))).toEqual(mode === 'lock' ? ['app:rtlock:'] : []);
  });

  it('refuses a Cluster or a Sentinel-configured instance as a Redlock node, and a replica of a Sentinel deployment, by name, before connecting', async () => {
    // A Cluster is a transactor's source (spec/cluster/cluster.spec.ts), but not one server.
    const cluster = Object.create(await clients.connect(kind), { isCluster: { value: true } });
    expect(() => createRedlock([cluster])).toThrow('clients[0]: an ioredis Cluster is not one server');
    const client = await clients.connect(kind);
    const viaSentinels = (role: string) => Object.create(client, { options: { value: { ...client.options, sentinels: [{ port: 1 }], name: 'mymaster', role } } });

    const replica = () => createTransactor(viaSentinels('slave'));
    expect(replica).toThrow(InvalidOptionsError);
    expect(replica).toThrow("client: an ioredis instance with role 'slave' reaches a replica, and transactions and locks need the primary");
    expect(() => createRedlock([client, viaSentinels('master')])).toThrow('clients[1]: an ioredis instance configured for Sentinel is not a Redlock node');
    // Accepted as a transactor's client: nothing is opened until a call.
    await createTransactor(viaSentinels('master')).close();
  });
});
