import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Packs the library as npm would publish it, installs the tarball into a scratch project, and
 * uses it from ESM and CommonJS, at run time and through TypeScript's Node resolution.
 */
const root = resolve(__dirname, '..');
const scratch = mkdtempSync(join(tmpdir(), 'redis-transact-pack-'));
let files: string[] = [];

beforeAll(() => {
  const [pack] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
  ) as Array<{ filename: string; files: Array<{ path: string }> }>;
  files = pack!.files.map((f) => f.path).sort();
  const installed = join(scratch, 'node_modules', 'redis-transact');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', join(scratch, pack!.filename), '-C', installed, '--strip-components=1']);
  // Dependencies come from this checkout (no registry access needed for the test).
  for (const dep of ['redis', '@redis', 'zod', '@types']) {
    symlinkSync(join(root, 'node_modules', dep), join(scratch, 'node_modules', dep));
  }
}, 120_000);

describe('the published package', () => {
  it('ships only the build, the docs and the license', () => {
    expect(files).toContain('dist/cjs/index.js');
    expect(files).toContain('dist/cjs/index.d.ts');
    expect(files).toContain('dist/esm/index.mjs');
    expect(files).toContain('dist/esm/index.d.mts');
    expect(files).toEqual(expect.arrayContaining(['README.md', 'CHANGELOG.md', 'LICENSE', 'package.json']));
    expect(files.filter((f) => !/^(dist\/(cjs|esm)\/|README\.md$|CHANGELOG\.md$|LICENSE$|package\.json$)/.test(f))).toEqual([]);
    expect(files.some((f) => f.endsWith('.map') || f.endsWith('.ts.map'))).toBe(false);
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

  it('type-checks from ESM and CommonJS under TypeScript’s node16 resolution', () => {
    const usage = `
      import { createClient } from 'redis';
      import { createTransactor, type TransactResult, isTransactError } from 'redis-transact';
      export async function run(): Promise<TransactResult<number>['value']> {
        const client = createClient();
        const tx = createTransactor(client, { retry: { maxAttempts: 3 } });
        const { value } = await tx.transact(['k'], async (t) => {
          const v: string | null = await t.read.get('k');
          t.write.set('k', String(Number(v) + 1)).incr('n');
          // @ts-expect-error t.read is typed as the node-redis client: no such command
          await t.read.noSuchCommand('k');
          return t.attempt;
        });
        return isTransactError(value) ? 0 : value;
      }`;
    writeFileSync(join(scratch, 'esm.mts'), usage);
    writeFileSync(join(scratch, 'cjs.cts'), usage);
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'node16', moduleResolution: 'node16', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] },
        files: ['esm.mts', 'cjs.cts'],
      }),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    expect(() => execFileSync(process.execPath, [tsc, '-p', scratch], { encoding: 'utf8' })).not.toThrow();
  });
});
