import { STOPPED } from '../../lib/util/stopped';
import { WaitQueue } from '../../lib/util/wait-queue';

describe('WaitQueue', () => {
  it('serves waiters first come, first served', async () => {
    const queue = new WaitQueue<number>();
    const first = queue.wait();
    const second = queue.wait();
    expect(queue.length).toBe(2);
    expect(queue.shift()!.resolve(1)).toBe(true);
    expect(queue.shift()!.resolve(2)).toBe(true);
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(queue.shift()).toBeUndefined();
  });

  it('lets a waiter give up with its signal: it leaves the queue and rejects with STOPPED', async () => {
    const queue = new WaitQueue<number>();
    const controller = new AbortController();
    const leaving = queue.wait(controller.signal);
    const staying = queue.wait();
    controller.abort();
    await expect(leaving).rejects.toBe(STOPPED);
    expect(queue.length).toBe(1);
    queue.shift()!.resolve(7);
    expect(await staying).toBe(7);
    await expect(queue.wait(controller.signal)).rejects.toBe(STOPPED); // already aborted
    expect(queue.length).toBe(0);
  });

  it('tells the server of a waiter that gave up after it was taken off the queue', async () => {
    const queue = new WaitQueue<string>();
    const controller = new AbortController();
    const waiting = queue.wait(controller.signal);
    const taken = queue.shift()!;
    controller.abort();
    await expect(waiting).rejects.toBe(STOPPED);
    expect(taken.resolve('late')).toBe(false); // still the server's to keep
  });

  it('fails every waiter at once', async () => {
    const queue = new WaitQueue<number>();
    const waiters = [queue.wait(), queue.wait()];
    queue.failAll(new Error('closed'));
    await expect(Promise.all(waiters)).rejects.toThrow('closed');
    expect(queue.length).toBe(0);
  });
});
