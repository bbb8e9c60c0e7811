import type { BenchClient, Workload, WorkloadCell } from '../types.js';

/** Accounts in the bank. */
export const ACCOUNTS = 100;
/** Balance every account starts with. */
export const INITIAL_BALANCE = 1000;
/** Largest amount of one transfer (amounts are uniform in 1..MAX_AMOUNT). */
export const MAX_AMOUNT = 100;

/** Move ARGV[1] from KEYS[1] to KEYS[2] unless KEYS[1] cannot cover it. */
const TRANSFER_LUA = `
local amount = tonumber(ARGV[1])
local from = tonumber(redis.call('GET', KEYS[1]) or '0')
if from < amount then return 0 end
redis.call('INCRBY', KEYS[1], -amount)
redis.call('INCRBY', KEYS[2], amount)
return 1
`;

/**
 * Transfers between two random distinct accounts out of 100: reads both balances, refuses when
 * the payer cannot cover the amount, else moves the money. Two keys per op, moderate contention.
 */
export const bank: Workload = {
  name: 'bank',
  summary: `transfers of 1-${MAX_AMOUNT} between 2 random distinct accounts out of ${ACCOUNTS} (refused if insufficient)`,
  lua: { source: TRANSFER_LUA, numberOfKeys: 2 },
  cell(tag: string): WorkloadCell {
    const accounts = Array.from({ length: ACCOUNTS }, (_, i) => `${tag}:account:${i}`);
    return {
      async init(client: BenchClient) {
        await client.mSet(accounts.map((k) => [k, String(INITIAL_BALANCE)] as [string, string]));
      },
      nextOp() {
        const a = Math.floor(Math.random() * ACCOUNTS);
        const b = (a + 1 + Math.floor(Math.random() * (ACCOUNTS - 1))) % ACCOUNTS; // distinct from a
        const from = accounts[a]!;
        const to = accounts[b]!;
        const amount = 1 + Math.floor(Math.random() * MAX_AMOUNT);
        return {
          keys: [from, to],
          reads: [from, to],
          decide: (values) => {
            const balance = Number(values[0] ?? 0);
            return balance < amount ? [] : [{ key: from, by: -amount }, { key: to, by: amount }];
          },
          luaArgs: [String(amount)],
        };
      },
      async check(client: BenchClient) {
        const balances = (await client.mGet(accounts)).map((v) => Number(v));
        const total = balances.reduce((a, b) => a + b, 0);
        const negative = balances.filter((b) => !(b >= 0)).length;
        const expected = ACCOUNTS * INITIAL_BALANCE;
        return {
          ok: total === expected && negative === 0,
          detail: `total ${total} (expected ${expected}), negative balances ${negative}`,
        };
      },
    };
  },
};
