/**
 * `gatherWrites` (`lib/connection/ioredis-writes.ts`): what an ioredis client sends in one tick
 * goes out in one socket write, as node-redis sends it, where ioredis alone writes each command
 * as it is made. On a real redis-server, counting the socket's writes.
 */
import type Redis from 'ioredis';
import type { IoredisClient } from '../../lib/connection/ioredis-types';
import { gatherWrites } from '../../lib/connection/ioredis-writes';
import { IOREDIS, useClients } from '../support/clients';

const redis = useClients();

/** Counts `client`'s socket writes (each a system call) from now on. */
function countWrites(client: Redis): { readonly count: number } {
  const socket = client.stream as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>;
  const counter = { count: 0 };
  for (const method of ['_write', '_writev'] as const) {
    const original = socket[method].bind(socket);
    socket[method] = (...args: unknown[]) => {
      counter.count++;
      return original(...args);
    };
  }
  return counter;
}

const gather = (client: Redis) => gatherWrites(client as unknown as IoredisClient);

describe('gatherWrites', () => {
  it('sends the commands of a tick in one write, in order', async () => {
    const client = (await redis.connect(IOREDIS)) as Redis;
    const writes = countWrites(client);

    gather(client);
    const replies = Promise.all([client.watch('k'), client.get('k'), client.incr('n')]);
    gather(client); // again in the same tick: nothing changes
    expect(writes.count).toBe(0); // held until the tick ends

    expect(await replies).toEqual(['OK', null, 1]);
    expect(writes.count).toBe(1);
  });

  it('holds nothing past its tick: a later command goes out at once', async () => {
    const client = (await redis.connect(IOREDIS)) as Redis;
    gather(client);
    await client.get('k');
    const writes = countWrites(client);

    const reply = client.incr('n');
    expect(writes.count).toBe(1);
    expect(await reply).toBe(1);
  });

  it('holds them to the end of the event loop\'s turn when asked: what later ticks of the turn send goes with them', async () => {
    const client = (await redis.connect(IOREDIS)) as Redis;
    const writes = countWrites(client);

    gatherWrites(client as unknown as IoredisClient, 'loop-turn');
    const first = client.incr('n');
    await new Promise((resolve) => process.nextTick(resolve)); // a later tick, the same turn
    const second = client.incr('n');
    expect(writes.count).toBe(0);

    expect([await first, await second]).toEqual([1, 2]);
    expect(writes.count).toBe(1);
  });

  it('by turn: holds to the end of the turn after a turn in which several sockets wrote, else to the end of the tick', async () => {
    const [a, b] = (await Promise.all([redis.connect(IOREDIS), redis.connect(IOREDIS)])) as Redis[];
    const byTurn = (client: Redis) => gatherWrites(client as unknown as IoredisClient, 'by-turn');
    const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
    const writesA = countWrites(a!);

    // A turn with one socket writing: the next one alone is held to the end of its tick only.
    await nextTurn();
    byTurn(a!);
    await Promise.all([a!.incr('n'), nextTurn()]);
    await nextTurn();
    byTurn(a!);
    const alone = a!.incr('n');
    await new Promise((resolve) => process.nextTick(resolve)); // the tick has ended
    expect(writesA.count).toBe(2);
    expect(await alone).toBe(2);

    // A turn with two sockets writing: the next one is held to the end of its turn.
    await nextTurn();
    byTurn(a!);
    byTurn(b!);
    await Promise.all([a!.incr('n'), b!.incr('m'), nextTurn()]);
    await nextTurn();
    byTurn(a!);
    const busy = a!.incr('n');
    await new Promise((resolve) => process.nextTick(resolve));
    expect(writesA.count).toBe(3); // still held
    expect(await busy).toBe(4);
    expect(writesA.count).toBe(4);
  });

  it('is needed: ioredis alone writes each command as it is made', async () => {
    const client = (await redis.connect(IOREDIS)) as Redis;
    const writes = countWrites(client);

    await Promise.all([client.watch('k'), client.get('k'), client.incr('n')]);

    expect(writes.count).toBe(3);
  });
});
