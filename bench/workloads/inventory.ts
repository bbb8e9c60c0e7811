import type { BenchClient, Op, Workload, WorkloadCell, WorkloadName } from '../types.js';

/**
 * Stock each item starts with: far more than any cell can sell (a few hundred thousand ops), so
 * every operation writes and `initial − final == committed` holds exactly.
 */
export const INITIAL_STOCK = 1_000_000_000;

/** Check stock, decrement it, record the order (an order counter): atomically. */
const INVENTORY_LUA = `
local stock = tonumber(redis.call('GET', KEYS[1]) or '0')
if stock <= 0 then return 0 end
redis.call('INCRBY', KEYS[1], -1)
redis.call('INCRBY', KEYS[2], 1)
return 1
`;

/**
 * An inventory-decrement workload over `items` items: each operation picks a random item, reads
 * its stock and, if positive, decrements it and counts one more order for it.
 */
export function inventoryWorkload(name: WorkloadName, items: number, summary: string): Workload {
  return {
    name,
    summary,
    lua: { source: INVENTORY_LUA, numberOfKeys: 2 },
    cell(tag: string): WorkloadCell {
      const stockKeys = Array.from({ length: items }, (_, i) => `${tag}:stock:${i}`);
      const orderKeys = Array.from({ length: items }, (_, i) => `${tag}:orders:${i}`);
      const ops: Op[] = stockKeys.map((stock, i) => {
        const orders = orderKeys[i]!;
        return {
          // The order counter is guarded too: whoever locks or watches an item owns both keys.
          keys: [stock, orders],
          reads: [stock],
          decide: (values) => (Number(values[0] ?? 0) > 0 ? [{ key: stock, by: -1 }, { key: orders, by: 1 }] : []),
          luaArgs: [],
        };
      });
      return {
        async init(client: BenchClient) {
          await client.mSet(stockKeys.map((k) => [k, String(INITIAL_STOCK)] as [string, string]));
        },
        // Ops are immutable: one per item, built once, so generating an op costs nothing measurable.
        nextOp: () => ops[Math.floor(Math.random() * ops.length)]!,
        async check(client: BenchClient, committed: number) {
          const stocks = (await client.mGet(stockKeys)).map((v) => Number(v));
          const orders = (await client.mGet(orderKeys)).map((v) => Number(v ?? 0));
          const sold = stocks.reduce((sum, s) => sum + (INITIAL_STOCK - s), 0);
          const recorded = orders.reduce((a, b) => a + b, 0);
          const negative = stocks.filter((s) => !(s >= 0)).length;
          const ok = sold === committed && recorded === committed && negative === 0;
          const detail = `sold ${sold}, orders ${recorded}, committed ${committed}, negative stocks ${negative}`;
          return { ok, detail };
        },
      };
    },
  };
}
