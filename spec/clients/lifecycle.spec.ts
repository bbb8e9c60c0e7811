import { isTransactorClosedError, TransactorClosedError, TransactTimeoutError } from '../../lib';
import { CLIENTS, useClients } from '../support/clients';
import { waitFor } from '../support/redis';

/** `tx.close()`, written once and run for every client of the matrix. */
const clients = useClients();

describe.each(CLIENTS)('tx.close() on $name', (kind) => {
  it('lets every call accepted before it finish, and refuses calls and locks asked for after it', async () => {
    const admin = await clients.admin();
    const { tx } = await clients.transactor(kind, { maxConnections: 1 });
    const calls = Array.from({ length: 50 }, (_, i) =>
      tx.transact([`k${i}`], async (t) => {
        await t.read.get(`k${i}`);
        t.write.incr(`k${i}`);
        return i;
      }),
    );
    const closing = tx.close();
    const late = tx.transact(['late'], (t) => void t.write.set('late', 'x'));

    await expect(late).rejects.toBeInstanceOf(TransactorClosedError);
    expect(isTransactorClosedError(await late.catch((err: unknown) => err))).toBe(true);
    const settled = await Promise.allSettled(calls);
    await closing;
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(50);
    expect(await admin.mGet(Array.from({ length: 50 }, (_, i) => `k${i}`))).toEqual(Array.from({ length: 50 }, () => '1'));
    expect(await admin.exists('late')).toBe(0);
    await expect(tx.lock(['r'])).rejects.toBeInstanceOf(TransactorClosedError);
    await expect(tx.withLock(['r'], () => 1)).rejects.toBeInstanceOf(TransactorClosedError);
  });

  it('closes its own connections, and leaves the app’s client open and usable', async () => {
    const admin = await clients.admin();
    const { tx, client } = await clients.transactor(kind);
    const clientIds = async () => (await admin.sendCommand<string>(['CLIENT', 'LIST', 'TYPE', 'normal'])).trim().split('\n').map((line) => /\bid=(\d+)/.exec(line)![1]);
    const before = await clientIds(); // the admin's and the app's
    await tx.transact(['n'], (t) => void t.write.incr('n'));
    expect((await clientIds()).length).toBe(before.length + 1); // and the transactor's dedicated one

    await tx.close();

    await waitFor(async () => (await clientIds()).length === before.length, 'the dedicated connection to close');
    expect(await clientIds()).toEqual(before);
    expect(kind.isReady(client)).toBe(true);
    expect(await client.incr('n')).toBe(2);
  });

  it('ends a connection to a stalled server at once: none is left half-closed when the call and close() are done', async () => {
    const admin = await clients.admin();
    const pid = Number(/process_id:(\d+)/.exec(await admin.info('server'))?.[1]);
    const { tx } = await clients.transactor(kind, { retry: { deadlineMs: 300 } });
    let read: unknown;
    try {
      const call = tx.transact(['stalled'], async (t) => {
        read = t.read;
        process.kill(pid, 'SIGSTOP'); // the server still takes bytes, but answers nothing (nor closes)
        await kind.command(t.read, ['GET', 'stalled']);
      });
      await expect(call).rejects.toBeInstanceOf(TransactTimeoutError);
      await tx.close();
      // A socket only half-closed waits for the frozen server's side of the close: ioredis's own
      // disconnect() leaves it so for 2 s, with a timer holding the process.
      // A destroyed socket reports its close in the event loop's next turns, not 2 s later.
      for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
      expect(kind.isEnded(read)).toBe(true);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  });
});
