import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { packLibrary, ROOT, unpackInto } from '../support/pack';
import { useRedis } from '../support/redis';

/**
 * The Redis clients (`redis`, `ioredis`, `iovalkey`) are optional peer dependencies: the published
 * package loads with none of them installed, and serves whichever one the app installed, alone.
 * Each case is a scratch project whose `node_modules` holds every dependency of this checkout but
 * the absent clients, and the packed library; a child `node` process uses it, on a real
 * redis-server. Each child first proves the absent clients resolve neither from the app nor from
 * the library, and reports which clients were loaded.
 */
const server = useRedis();
const scratch = mkdtempSync(join(tmpdir(), 'redis-transact-peers-'));
let tarball = '';

type Client = 'redis' | 'ioredis' | 'iovalkey';

/** The directories in node_modules that each client brings (the scoped ones are its own packages). */
const CLIENT_MODULES: Readonly<Record<Client, readonly string[]>> = {
  redis: ['redis', '@redis'],
  ioredis: ['ioredis', '@ioredis'],
  iovalkey: ['iovalkey', '@iovalkey'],
};
/** A module of each client, as an app would require it. */
const CLIENT_ENTRIES: Readonly<Record<Client, readonly string[]>> = {
  redis: ['redis', '@redis/client'],
  ioredis: ['ioredis'],
  iovalkey: ['iovalkey'],
};
const CLIENTS = Object.keys(CLIENT_MODULES) as Client[];

/** The strict type check of an ioredis app: the slowest check, so it runs beside the others. */
let typeCheck: Promise<{ output: string; status: number | null }> | undefined;

beforeAll(() => {
  tarball = packLibrary(scratch).tarball;
  typeCheck = typeCheckIoredisApp(project(['ioredis']));
}, 120_000);

afterAll(async () => {
  await typeCheck;
  rmSync(scratch, { recursive: true, force: true });
});

/** A scratch project with this checkout's dependencies, of the clients only `installed`, and the packed library. */
function project(installed: readonly Client[]): string {
  const dir = join(scratch, installed.join('+') || 'no-client');
  if (existsSync(dir)) return dir;
  const modules = join(dir, 'node_modules');
  mkdirSync(modules, { recursive: true });
  const absent = new Set(CLIENTS.filter((c) => !installed.includes(c)).flatMap((c) => CLIENT_MODULES[c]));
  const source = realpathSync(join(ROOT, 'node_modules'));
  for (const name of readdirSync(source)) {
    if (name.startsWith('.') || absent.has(name) || name === 'redis-transact') continue;
    symlinkSync(join(source, name), join(modules, name));
  }
  // Unpacked, not linked: Node resolves a linked package's imports from where the link points.
  unpackInto(tarball, join(modules, 'redis-transact'));
  return dir;
}

/**
 * Run first in every child: `missing()` lists the client modules that resolve neither from the app
 * nor from the library; `loaded()` the clients whose code is in the module cache.
 */
const PRELUDE = `
  const { createRequire } = require('node:module');
  const fromLibrary = createRequire(require.resolve('redis-transact'));
  const resolves = (resolver, name) => {
    try { resolver.resolve(name); return true; } catch (err) { if (err.code === 'MODULE_NOT_FOUND') return false; throw err; }
  };
  const missing = () => ${JSON.stringify(Object.values(CLIENT_ENTRIES).flat())}
    .filter((name) => !resolves(require, name) && !resolves(fromLibrary, name));
  const loaded = () => [...new Set(Object.keys(require.cache)
    .map((path) => /[\\\\/]node_modules[\\\\/](redis|@redis|ioredis|iovalkey)[\\\\/]/.exec(path)?.[1]).filter(Boolean))].sort();
`;

/** Runs `script` with node in `dir`; returns what it printed, as JSON. It must exit cleanly and print nothing to stderr (no warning either). */
function run(dir: string, script: string, env: Record<string, string> = {}): unknown {
  const child = spawnSync(process.execPath, ['-e', PRELUDE + script], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, ...env },
  });
  expect({ status: child.status, stderr: child.stderr }).toEqual({ status: 0, stderr: '' });
  return JSON.parse(child.stdout);
}

/**
 * Compiles an app's use of ioredis through redis-transact in `dir`, from ESM and CommonJS, with
 * `skipLibCheck: false` (TypeScript's default). The declarations import node-redis's types: marked
 * `@ts-ignore` by the build (`scripts/optional-peer-types.mjs`), they are `any` without node-redis,
 * and the ioredis types stay whole (the `@ts-expect-error` line is an assertion too).
 */
function typeCheckIoredisApp(dir: string): Promise<{ output: string; status: number | null }> {
  const usage = `
    import { Redis } from 'ioredis';
    import { createRedlock, createTransactor, isTransactError } from 'redis-transact';
    export async function run(redis: Redis): Promise<number> {
      const tx = createTransactor(redis);
      const { value } = await tx.transact(['n'], async (t) => {
        const n: string | null = await t.read.get('n');
        t.write.set('n', String(Number(n) + 1)).incr('m');
        // @ts-expect-error t.write is ioredis's typed pipeline: no such command
        t.write.nope();
        return Number(n);
      });
      createRedlock([redis, redis.duplicate()]);
      return isTransactError(value) ? 0 : value;
    }`;
  writeFileSync(join(dir, 'app.mts'), usage);
  writeFileSync(join(dir, 'app.cts'), usage);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] },
      files: ['app.mts', 'app.cts'],
    }),
  );
  const tsc = spawn(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir, '--pretty', 'false'], {
    cwd: dir,
    timeout: 110_000,
  });
  let output = '';
  tsc.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  tsc.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => {
    tsc.on('error', (err) => resolve({ output: String(err), status: null }));
    tsc.on('close', (status) => resolve({ output, status }));
  });
}

/** Makes a client of the kind `CLIENT` names, runs one transaction and one lock through redis-transact, and reports. */
const USE_ONE_CLIENT = `
  const { createTransactor } = require('redis-transact');
  const open = {
    async redis(url) {
      const client = require('redis').createClient({ url });
      client.on('error', () => {});
      await client.connect();
      return { client, close: () => client.close() };
    },
    async ioredis(url) {
      const Redis = require('ioredis');
      const client = new Redis(url);
      return { client, close: () => client.quit() };
    },
    async iovalkey(url) {
      const Valkey = require('iovalkey');
      const client = new Valkey(url);
      return { client, close: () => client.quit() };
    },
  };
  (async () => {
    const { client, close } = await open[process.env.CLIENT](process.env.REDIS_URL);
    const tx = createTransactor(client);
    const { value, attempts } = await tx.transact(['n'], async (t) => {
      const n = Number(await t.read.get('n'));
      t.write.set('n', String(n + 1));
      return n + 1;
    });
    const fencingToken = await tx.withLock(['report'], (lock) => lock.fencingToken);
    await tx.close();
    const stored = await client.get('n');
    await close();
    console.log(JSON.stringify({ missing: missing(), value, attempts, stored, locked: fencingToken > 0, loaded: loaded() }));
  })().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
`;

describe('redis-transact with its Redis clients as optional peer dependencies', () => {
  it('loads with none of them installed, from require() and import, and says what it takes when given no client', () => {
    const script = `
      const cjs = require('redis-transact');
      const testing = require('redis-transact/testing');
      let refused;
      try { cjs.createTransactor({}); } catch (err) { refused = err.name; }
      Promise.all([import('redis-transact'), import('redis-transact/testing')]).then(([esm, esmTesting]) => {
        console.log(JSON.stringify({ missing: missing(), loaded: loaded(), cjs: typeof cjs.createTransactor,
          esm: typeof esm.createTransactor, same: esm.createTransactor === cjs.createTransactor,
          testing: typeof testing.injectFaults === 'function' && esmTesting.injectFaults === testing.injectFaults, refused }));
      });`;

    expect(run(project([]), script)).toEqual({
      missing: ['redis', '@redis/client', 'ioredis', 'iovalkey'],
      loaded: [],
      cjs: 'function',
      esm: 'function',
      same: true,
      testing: true,
      refused: 'InvalidOptionsError',
    });
  });

  it.each([
    ['ioredis', ['redis', '@redis/client', 'iovalkey'], ['ioredis']],
    ['iovalkey', ['redis', '@redis/client', 'ioredis'], ['iovalkey']],
    ['redis', ['ioredis', 'iovalkey'], ['@redis', 'redis']],
  ] as const)('commits a transaction and takes a lock with only %s installed, loading no other client', (client, missing, loaded) => {
    const result = run(project([client]), USE_ONE_CLIENT, { CLIENT: client, REDIS_URL: server.url });

    expect(result).toEqual({ missing, value: 1, attempts: 1, stored: '1', locked: true, loaded });
  });

  it('type-checks an ioredis app without node-redis installed, strictly (skipLibCheck false), from ESM and CommonJS', async () => {
    const { output, status } = await typeCheck!;

    expect(output).toBe(''); // the compiler's own words when it fails
    expect(status).toBe(0);
  });

  it('names no client in its build but for one lookup of node-redis on use (the check for a second copy of it)', () => {
    const dist = join(project([]), 'node_modules', 'redis-transact', 'dist');
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
    const client = String.raw`["'](?:redis|@redis\/[^"']+|ioredis|iovalkey)["']`;
    const mention = new RegExp(String.raw`require(?:\.resolve)?\(${client}\)|import\(${client}\)|from ${client}`, 'g');

    const mentions = files(dist)
      .filter((file) => /\.(c|m)?js$/.test(file))
      .flatMap((file) => (readFileSync(file, 'utf8').match(mention) ?? []).map((m) => `${relative(dist, file)}: ${m}`));

    expect(mentions).toEqual(["cjs/connection/node-redis-copy.js: require('redis')", "cjs/connection/node-redis-copy.js: require.resolve('redis')"]);
  });
});
