import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTransactor, type TransactMode } from '../../lib';
import { useRedis } from '../support/redis';

const run = promisify(execFile);
const redis = useRedis();

describe('calls ended by a deadline or an abort', () => {
  it('never leave a rejection unhandled: 1,012 calls ended at random points in every mode', async () => {
    const script = join(__dirname, '..', 'support', 'end-calls-early.ts');
    // Resolves only on exit code 0: an unhandled rejection would end the child with code 1.
    const { stdout } = await run(process.execPath, ['--import', 'tsx', script, redis.url], { maxBuffer: 1 << 20 });
    const report = JSON.parse(stdout) as { unhandled: number; first?: string; settled: number; outcomes: Record<string, number> };
    expect(report.first).toBeUndefined();
    expect(report.unhandled).toBe(0);
    expect(report.settled).toBe(1_012);
    // The calls were really ended early, by both means.
    expect(report.outcomes.ERR_TRANSACT_TIMEOUT).toBeGreaterThan(0);
    expect(report.outcomes.ERR_TRANSACT_ABORTED).toBeGreaterThan(0);
  });

  it.each<TransactMode>(['lock', 'auto'])('leave no lock or queue entry behind in %s mode', async (mode) => {
    const admin = await redis.connect();
    const app = await redis.connect();
    const txs = [createTransactor(app), createTransactor(app)];
    const ended: string[] = [];
    // In auto mode, the first conflicts escalate the key set; the rest start in lock mode.
    await Promise.all(
      Array.from({ length: 24 }, async (_, w) => {
        for (let j = 0; j < 40; j++) {
          await txs[w % 2]!
            .transact(['acct'], async (t) => {
              const v = Number((await t.read.get('acct')) ?? 0);
              t.write.set('acct', String(v + 1));
            }, { mode, retry: { deadlineMs: 10 + (j % 5) * 5 } })
            .catch((err: { code?: string }) => ended.push(err.code ?? 'other'));
        }
      }),
    );

    expect(ended.filter((code) => code === 'ERR_TRANSACT_TIMEOUT').length).toBeGreaterThan(0);
    // Every call has settled: nothing of theirs may remain.
    expect(await admin.keys('rtlock:lock:*')).toEqual([]);
    expect(await admin.keys('rtlock:queue:*')).toEqual([]);
    expect(await admin.keys('rtlock:expiry:*')).toEqual([]);
    const fresh = await txs[0]!.lock(['acct'], { acquireTimeoutMs: 0 });
    await fresh.release();
    for (const tx of txs) await tx.close();
  });
});
