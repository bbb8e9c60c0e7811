/**
 * Lock waits on a server that answers nothing: a stall (CLIENT PAUSE) and a partition that drops
 * every byte without resetting anything. Calls and `tx.lock` end by their own bounds, and
 * `close()` does not wait on them.
 */
import { createTransactor, isLockUnavailableError, TransactAbortedError, TransactTimeoutError, type Transactor } from '../../lib';
import { useRedis } from '../support/redis';
import { TcpProxy } from '../support/tcp-proxy';

const redis = useRedis();

/** Opens the transactor's connections (dedicated, lock commands) with one lock-mode call. */
async function warm(tx: Transactor): Promise<void> {
  await tx.transact(['warm'], (t) => void t.write.set('warm', '1'), { mode: 'lock' });
}

/** What a call of each kind settles with, while the server answers nothing. */
function stalledCalls(tx: Transactor) {
  const write = (t: { write: { set(k: string, v: string): unknown } }) => void t.write.set('k', 'v');
  return Promise.all([
    tx.transact(['k'], write, { mode: 'lock', retry: { deadlineMs: 100 } }).catch((err: unknown) => err),
    tx.transact(['k2'], write, { mode: 'lock', signal: AbortSignal.timeout(100) }).catch((err: unknown) => err),
    tx.transact(['k3'], write, { mode: 'auto', retry: { deadlineMs: 100 } }).catch((err: unknown) => err),
    tx.lock(['r'], { acquireTimeoutMs: 100 }).catch((err: unknown) => err),
  ]);
}

function expectTyped([byDeadline, bySignal, auto, locked]: unknown[]): void {
  expect(byDeadline).toBeInstanceOf(TransactTimeoutError);
  expect(bySignal).toBeInstanceOf(TransactAbortedError);
  expect(auto).toBeInstanceOf(TransactTimeoutError);
  expect(isLockUnavailableError(locked) && locked.reason).toBe('timeout');
}

describe('lock waits on a server that answers nothing', () => {
  it('end while CLIENT PAUSE still holds every command: lock mode at its deadline or signal, tx.lock at acquireTimeoutMs', async () => {
    const tx = await redis.transactor();
    await warm(tx);
    const pauser = await redis.connect();
    const probe = await redis.connect();
    await pauser.sendCommand(['CLIENT', 'PAUSE', '6000', 'ALL']);
    let paused = true;
    void probe.ping().then(() => (paused = false)); // answered only once the pause ends

    expectTyped(await stalledCalls(tx));
    expect(paused).toBe(true); // every one of them ended before the server did anything

    await tx.close();
    expect(paused).toBe(true); // close() did not wait for it either
    await pauser.sendCommand(['CLIENT', 'UNPAUSE']);
  }, 30_000);

  it('end through a network that drops every byte, and close() does not wait on them', async () => {
    const proxy = await TcpProxy.inFrontOf(redis.url);
    const tx = createTransactor(await proxy.connectClient());
    await warm(tx);
    proxy.silent = true;

    expectTyped(await stalledCalls(tx));
    await tx.close();
    await proxy.stop();
  }, 30_000);
});
