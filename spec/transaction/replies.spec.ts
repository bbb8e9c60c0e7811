import { createTransactor, type TransactMode } from '../../lib';
import { useRedis } from '../support/redis';

const redis = useRedis();

describe('replies are EXEC’s replies for what fn queued', () => {
  it.each<TransactMode>(['optimistic', 'lock', 'auto'])('in %s mode', async (mode) => {
    const tx = createTransactor(await redis.connect());
    const one = await tx.transact(['n'], (t) => void t.write.incr('n'), { mode });
    const two = await tx.transact(['n'], (t) => void t.write.incr('n').incr('n'), { mode });
    const none = await tx.transact(['n'], async (t) => t.read.get('n'), { mode });
    expect(one.replies).toEqual([1]);
    expect(two.replies).toEqual([2, 3]);
    expect(none).toMatchObject({ value: '3', replies: [] });
    await tx.close();
  });

  it('in auto mode after it escalated to lock mode (its release is not among them)', async () => {
    const admin = await redis.connect();
    const escalations: string[] = [];
    const tx = createTransactor(await redis.connect(), {
      auto: { escalateAfter: 1 },
      hooks: { onEscalate: (e) => escalations.push(e.reason) },
    });
    const result = await tx.transact(['n'], async (t) => {
      await t.read.get('n');
      if (t.attempt === 1) await admin.set('n', '10'); // a conflict: escalates
      t.write.incr('n').incr('n');
    }, { mode: 'auto' });
    expect(escalations).toEqual(['conflicts']);
    expect(result).toMatchObject({ attempts: 2, replies: [11, 12] });
    await tx.close();
  });

  it('all 10,000 of them for 10,000 queued commands, in every mode', async () => {
    const tx = createTransactor(await redis.connect());
    for (const mode of ['optimistic', 'lock', 'auto'] as const) {
      const { replies } = await tx.transact([`list:${mode}`], (t) => {
        for (let i = 0; i < 10_000; i++) t.write.rPush(`list:${mode}`, String(i));
      }, { mode });
      const list = replies;
      expect(list).toHaveLength(10_000);
      expect(list[9_999]).toBe(10_000);
    }
    await tx.close();
  });
});
