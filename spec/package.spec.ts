import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packLibrary, ROOT as root, unpackInto } from './support/pack';

/**
 * Packs the library as npm would publish it, installs the tarball into a scratch project, and
 * uses it from ESM and CommonJS, at run time and through TypeScript's Node resolution.
 */
const scratch = mkdtempSync(join(tmpdir(), 'redis-transact-pack-'));
const installed = join(scratch, 'node_modules', 'redis-transact');
let files: readonly string[] = [];

/** Uses the package as a consumer would; the `@ts-expect-error` lines are assertions too. */
const usage = `
import { createClient, createClientPool, createCluster, createSentinel } from 'redis';
import { createRedlock, createTransactor, type TransactResult, isTransactError, Lock } from 'redis-transact';
import { injectFaults, type InjectedFault } from 'redis-transact/testing';
export async function run(): Promise<TransactResult<number>['value']> {
  const client = createClient({ url: 'redis://localhost:6379' });
  const tx = createTransactor(client, { retry: { maxAttempts: 3 } });
  const { value, replies } = await tx.transact(['k'], async (t) => {
    const v: string | null = await t.read.get('k');
    t.write.set('k', String(Number(v) + 1)).incr('n');
    // @ts-expect-error t.read is typed as the node-redis client: no such command
    await t.read.noSuchCommand('k');
    // @ts-expect-error t.write is node-redis's typed MULTI: no such command
    t.write.nope();
    // @ts-expect-error t.write checks arguments too
    t.write.incrBy('n', 'not a number');
    return t.attempt;
  });
  const typed: unknown[] = replies; // an array, one reply per queued command
  const count: number = typed.length;
  const pool = createTransactor(createClientPool({ url: 'redis://localhost:6379' }));
  await pool.transact(['k'], (t) => {
    t.write.hSet('h', 'f', 'v');
    // @ts-expect-error typed on a pool too
    t.write.nope();
  });
  const cluster = createTransactor(createCluster({ rootNodes: [{ url: 'redis://localhost:7000' }] }));
  await cluster.transact(['{k}a'], async (t) => {
    const v: string | null = await t.read.get('{k}a');
    t.write.set('{k}b', v ?? '');
    // @ts-expect-error typed on a cluster too
    t.write.nope();
  });
  const sentinel = createTransactor(createSentinel({ name: 'mymaster', sentinelRootNodes: [{ host: 'localhost', port: 26379 }], RESP: 2 }));
  await sentinel.transact(['k'], async (t) => {
    const v: string | null = await t.read.get('k');
    t.write.set('k', v ?? '');
    // @ts-expect-error typed on a Sentinel too
    t.write.nope();
  }, { replication: { replicas: 1, timeoutMs: 100 } });
  // @ts-expect-error a Lock comes from tx.lock or withLock, never from new
  new Lock();
  createRedlock([client, createClient({ url: 'redis://localhost:6380' })]);
  // @ts-expect-error a Redlock takes independent servers, not a cluster
  createRedlock([createCluster({ rootNodes: [{ url: 'redis://localhost:7000' }] })]);
  // The testing kit returns the transactor's own type: t.read and t.write stay typed.
  const faulty = injectFaults(tx, { conflicts: 2 });
  await faulty.transact(['k'], async (t) => {
    const v: string | null = await t.read.get('k');
    t.write.set('k', v ?? '');
    // @ts-expect-error typed through the kit too
    t.write.nope();
  });
  const log: readonly InjectedFault[] = faulty.faults;
  // @ts-expect-error a plan names known faults only
  injectFaults(tx, { conflict: 1 });
  return isTransactError(value) ? count + log.length : value;
}`;

beforeAll(() => {
  const packed = packLibrary(scratch);
  files = packed.files;
  unpackInto(packed.tarball, installed);
  // Dependencies come from this checkout (no registry access needed for the test).
  for (const dep of ['redis', '@redis', 'zod', '@types']) {
    symlinkSync(join(root, 'node_modules', dep), join(scratch, 'node_modules', dep));
  }
  writeFileSync(join(scratch, 'esm.mts'), usage);
  writeFileSync(join(scratch, 'cjs.cts'), usage);
}, 120_000);

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/**
 * Compiles the consumer (`esm.mts` and `cjs.cts`, both the usage above) against the installed
 * tarball and returns the compiler's output ('' when clean).
 */
function typeCheck(skipLibCheck: boolean): { output: string; status: number | null } {
  const project = join(scratch, `tsconfig.skip-lib-check-${skipLibCheck}.json`);
  writeFileSync(
    project,
    JSON.stringify({
      compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, skipLibCheck, types: ['node'] },
      files: ['esm.mts', 'cjs.cts'],
    }),
  );
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const checked = spawnSync(process.execPath, [tsc, '-p', project, '--pretty', 'false'], { cwd: scratch, encoding: 'utf8' });
  return { output: checked.stdout + checked.stderr, status: checked.status };
}

describe('the published package', () => {
  it('ships only the build, the docs and the license', () => {
    expect(files).toContain('dist/cjs/index.js');
    expect(files).toContain('dist/cjs/index.d.ts');
    expect(files).toContain('dist/esm/index.mjs');
    expect(files).toContain('dist/esm/index.d.mts');
    expect(files).toEqual(expect.arrayContaining(['README.md', 'CHANGELOG.md', 'LICENSE', 'package.json']));
    expect(files).toEqual(expect.arrayContaining(['docs/api.md', 'docs/locks.md'])); // the README's links resolve in the package too
    expect(files.filter((f) => !/^(dist\/(cjs|esm)\/|docs\/[^/]+\.md$|README\.md$|CHANGELOG\.md$|LICENSE$|package\.json$)/.test(f))).toEqual([]);
    expect(files.some((f) => f.endsWith('.map') || f.endsWith('.ts.map'))).toBe(false);
    // No comment points at a source map the package does not ship.
    const built = files.filter((f) => f.startsWith('dist/'));
    expect(built.filter((f) => readFileSync(join(installed, f), 'utf8').includes('sourceMappingURL'))).toEqual([]);
  });

  it('loads with require() and import, as one copy of the library', () => {
    const script = `
      const cjs = require('redis-transact');
      import('redis-transact').then((esm) => {
        const same = esm.TransactError === cjs.TransactError && esm.createTransactor === cjs.createTransactor;
        console.log(JSON.stringify({ cjs: typeof cjs.createTransactor, esm: typeof esm.createTransactor, same,
          exports: Object.keys(esm).length === Object.keys(cjs).length }));
      });`;
    const out = execFileSync(process.execPath, ['-e', script], { cwd: scratch, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ cjs: 'function', esm: 'function', same: true, exports: true });
  });

  it('has a testing entry for require() and import, on the same copy, that the main entry never loads', () => {
    const script = `
      const main = require('redis-transact');
      const loadedByMain = Object.keys(require.cache).some((p) => p.includes('/dist/cjs/testing/'));
      const cjs = require('redis-transact/testing');
      import('redis-transact/testing').then((esm) => {
        console.log(JSON.stringify({ loadedByMain, cjs: typeof cjs.injectFaults, same: esm.injectFaults === cjs.injectFaults,
          mainHasIt: 'injectFaults' in main }));
      });`;
    const out = execFileSync(process.execPath, ['-e', script], { cwd: scratch, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ loadedByMain: false, cjs: 'function', same: true, mainHasIt: false });
  });

  it('type-checks from ESM and CommonJS under TypeScript’s nodenext resolution', () => {
    const { output, status } = typeCheck(true);
    expect(output).toBe(''); // the compiler's own words when it fails
    expect(status).toBe(0);
  });

  it('has declarations a strict consumer compiles (skipLibCheck false, TypeScript’s default), from ESM and CommonJS', () => {
    // Every declaration file the entries reach is checked: one that imports a name the build left
    // out (e.g. by stripping @internal declarations) is an error in the consumer's project.
    const { output, status } = typeCheck(false);
    expect(output).toBe('');
    expect(status).toBe(0);
  });
});
