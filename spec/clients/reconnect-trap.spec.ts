import { isTransactOutcomeUnknownError, type TransactMode } from '../../lib';
import { clientIdOf, CLIENTS, type ClientKind, useClients } from '../support/clients';
import { waitFor } from '../support/redis';

/**
 * The reconnect trap, for every client of the matrix. A client library that reconnects by itself
 * re-sends, or sends from its offline queue, what a dropped socket left unanswered: a MULTI/EXEC
 * sent that way runs on a new connection without the WATCH that guarded it, and overwrites what
 * another writer did meanwhile (ioredis#1686; node-redis has the same hole). The app's client here
 * keeps every such setting on; the transactor's own connections must never commit outside their
 * WATCH.
 *
 * Bank transfers between a few accounts, in every mode, run while the transactor's dedicated
 * connections (those `fn` reads on) are killed 1,000 times: at random moments by a killer (one
 * kill per transfer committed since the last, so work goes on), and on purpose between WATCH and
 * EXEC, followed by a transfer of another writer on the same accounts, which an EXEC sent outside
 * its WATCH would undo. Each transfer appends its id to a log in its own MULTI; afterwards every
 * balance must be what the log says, every transfer reported committed must be in the log once,
 * and none reported failed or declined may be in it. (Outcome unknown may be either.)
 */
const clients = useClients();
const ACCOUNTS = 8;
const OPENING_BALANCE = 1_000;
const WORKERS = 8;
/** Kills made on purpose between a transfer's WATCH and its EXEC, and at random moments: 1,000 in all. */
const PLANNED_KILLS = 300;
const RANDOM_KILLS = 700;
const MODES: TransactMode[] = ['optimistic', 'optimistic', 'auto', 'lock'];

/** The settings that open the trap, on for the app's client (they are each library's defaults). */
const TRAP_OPTIONS: Record<ClientKind['library'], Record<string, unknown>> = {
  'node-redis': { disableOfflineQueue: false }, // and it reconnects by itself
  ioredis: { autoResendUnfulfilledCommands: true, enableOfflineQueue: true },
  iovalkey: { autoResendUnfulfilledCommands: true, enableOfflineQueue: true },
};

type Outcome = 'committed' | 'declined' | 'failed' | 'unknown';

interface Transfer {
  readonly id: string;
  readonly from: number;
  readonly to: number;
  readonly amount: number;
}

const account = (n: number) => `acct:${n}`;
/** A log entry: what a transfer did, written in the same MULTI as its balances. */
const entry = (t: Transfer) => `${t.id}:${t.from}:${t.to}:${t.amount}`;

describe.each(CLIENTS)('the reconnect trap on $name', (kind) => {
  it(`never commits outside the WATCH: every transfer exact through ${PLANNED_KILLS + RANDOM_KILLS} killed connections, with re-send and offline queue on`, async () => {
    const admin = await clients.admin();
    const killer = await clients.admin();
    await admin.mSet(Array.from({ length: ACCOUNTS }, (_, n) => [account(n), String(OPENING_BALANCE)] as [string, string]));
    // Short leases: a lock whose release was in a killed EXEC holds its keys until its lease ends.
    const txOptions = { retry: { maxAttempts: 100, baseDelayMs: 1, maxDelayMs: 20 }, lock: { ttlMs: 500 } };
    const { tx, client } = await clients.transactor(kind, txOptions, { native: TRAP_OPTIONS[kind.library] });
    expect((client as { options: Record<string, unknown> }).options).toMatchObject(TRAP_OPTIONS[kind.library]);
    /** The server-side ids of the transactor's dedicated connections, as fn saw them. */
    const dedicated = new Set<string>();
    const outcomes = new Map<string, Outcome>();
    let randomKills = 0;
    let plannedKills = 0;
    let interferences = 0;
    /** Transfers of the workers reported committed so far. */
    let commits = 0;
    /** Set when a worker or the killer failed: the others stop too. */
    let stopped = false;
    const going = () => !stopped && (plannedKills < PLANNED_KILLS || randomKills < RANDOM_KILLS);

    /** Kills one of the transactor's dedicated connections, picked at random; false when none was open. */
    async function killOne(): Promise<boolean> {
      const list = await killer.sendCommand<string>(['CLIENT', 'LIST', 'TYPE', 'normal']);
      const open = [...list.matchAll(/\bid=(\d+)/g)].map((m) => m[1]!).filter((id) => dedicated.has(id));
      if (open.length === 0) return false;
      const id = open[Math.floor(Math.random() * open.length)]!;
      return (await killer.sendCommand<number>(['CLIENT', 'KILL', 'ID', id])) === 1;
    }

    /** Another writer's transfer of 1 between the two accounts, logged like the others. */
    async function interfere(from: number, to: number): Promise<void> {
      const other: Transfer = { id: `other-${++interferences}`, from, to, amount: 1 };
      await admin.multi().decrBy(account(from), 1).incrBy(account(to), 1).rPush('log', entry(other)).exec();
      outcomes.set(other.id, 'committed');
    }

    function transfer(transfer: Transfer, mode: TransactMode, killBetweenWatchAndExec: boolean) {
      return tx.transact([account(transfer.from), account(transfer.to)], async (t) => {
        const [from, to, id] = await Promise.all([
          t.read.get(account(transfer.from)).then(Number),
          t.read.get(account(transfer.to)).then(Number),
          clientIdOf(kind, t.read),
        ]);
        dedicated.add(String(id));
        if (killBetweenWatchAndExec && t.attempt === 1) {
          if ((await admin.sendCommand<number>(['CLIENT', 'KILL', 'ID', String(id)])) === 1) plannedKills++;
          await waitFor(() => !kind.isReady(t.read), 'the transactor to see its connection drop');
          await interfere(transfer.from, transfer.to); // unguarded now: only an EXEC outside the WATCH would undo it
        }
        if (from < transfer.amount) return 'declined' as const;
        t.write.set(account(transfer.from), String(from - transfer.amount)).set(account(transfer.to), String(to + transfer.amount));
        kind.queue(t.write, ['RPUSH', 'log', entry(transfer)]);
        return 'committed' as const;
      }, { mode });
    }

    async function worker(w: number): Promise<void> {
      for (let i = 0; going(); i++) {
        const from = Math.floor(Math.random() * ACCOUNTS);
        const to = (from + 1 + Math.floor(Math.random() * (ACCOUNTS - 1))) % ACCOUNTS;
        const t: Transfer = { id: `w${w}-${i}`, from, to, amount: 1 + Math.floor(Math.random() * 50) };
        const outcome = await transfer(t, MODES[i % MODES.length]!, i % 3 === 0 && plannedKills < PLANNED_KILLS).then(
          (result): Outcome => result.value,
          (err: unknown): Outcome => (isTransactOutcomeUnknownError(err) ? 'unknown' : 'failed'),
        );
        outcomes.set(t.id, outcome);
        if (outcome === 'committed') commits++;
      }
    }

    async function killAtRandom(): Promise<void> {
      while (!stopped && randomKills < RANDOM_KILLS) {
        const committed = commits;
        if (await killOne()) randomKills++;
        // Work goes on between kills: the next waits for another transfer to commit.
        if (randomKills < RANDOM_KILLS) await waitFor(() => commits > committed, 'a transfer to commit');
      }
    }

    const stopOnError = (err: unknown) => {
      stopped = true;
      throw err;
    };
    await Promise.all([killAtRandom(), ...Array.from({ length: WORKERS }, (_, w) => worker(w))].map((run) => run.catch(stopOnError)));

    const log = await admin.lRange('log', 0, -1);
    const logged = new Set(log.map((line) => line.split(':')[0]!));
    const reported = (outcome: Outcome) => [...outcomes].filter(([, o]) => o === outcome).map(([id]) => id);
    const expected = Array.from({ length: ACCOUNTS }, () => OPENING_BALANCE);
    for (const line of log) {
      const [, from, to, amount] = line.split(':').map(Number);
      expected[from!]! -= amount!;
      expected[to!]! += amount!;
    }
    const balances = (await admin.mGet(Array.from({ length: ACCOUNTS }, (_, n) => account(n)))).map(Number);

    expect(randomKills).toBe(RANDOM_KILLS);
    expect(plannedKills).toBeGreaterThanOrEqual(PLANNED_KILLS);
    expect(interferences).toBeGreaterThanOrEqual(plannedKills);
    expect(balances.reduce((sum, b) => sum + b, 0)).toBe(ACCOUNTS * OPENING_BALANCE);
    expect(balances).toEqual(expected); // no transfer undone by another's EXEC sent outside its WATCH
    expect(logged.size).toBe(log.length); // none applied twice
    expect(reported('committed').filter((id) => !logged.has(id))).toEqual([]);
    expect([...reported('failed'), ...reported('declined')].filter((id) => logged.has(id))).toEqual([]);
    expect(commits).toBeGreaterThanOrEqual(RANDOM_KILLS); // a commit between any two random kills
  }, 120_000);
});
