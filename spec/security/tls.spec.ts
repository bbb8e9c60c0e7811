import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type RedisClientType } from 'redis';
import { createTransactor } from '../../lib';
import { type EmbeddedRedis, startEmbeddedRedis } from '../../examples/support/embedded-redis';

/** A redis-server that only speaks TLS (plain TCP off), with a throw-away CA made by openssl. */
let dir: string;
let server: EmbeddedRedis;
let tlsPort: number;
let ca: string;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tls-'));
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=redis-transact test CA');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'san.ext');
  ca = readFileSync(join(dir, 'ca.crt'), 'utf8');
  tlsPort = await freePort();
  server = await startEmbeddedRedis({
    args: [
      '--port', '0', '--tls-port', String(tlsPort),
      '--tls-cert-file', join(dir, 'server.crt'), '--tls-key-file', join(dir, 'server.key'),
      '--tls-ca-cert-file', join(dir, 'ca.crt'), '--tls-auth-clients', 'no', '--requirepass', 'tls-secret',
    ],
  });
}, 60_000);
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('passes TLS and AUTH options through to its own connections', async () => {
  const client = createClient({
    url: `rediss://:tls-secret@127.0.0.1:${tlsPort}`,
    socket: { tls: true, ca, servername: 'localhost' },
  }) as RedisClientType;
  await client.connect();
  const tx = createTransactor(client);
  await client.set('n', '41');

  const result = await tx.transact(['n'], async (t) => {
    const n = Number(await t.read.get('n'));
    t.write.set('n', String(n + 1));
    return n;
  });
  const locked = await tx.withLock(['n'], (lock) => lock.fencingToken);
  const lockMode = await tx.transact(['n'], (t) => void t.write.incr('n'), { mode: 'lock' });

  expect(result).toMatchObject({ value: 41, attempts: 1 });
  expect(Number.isSafeInteger(locked) && locked > 0).toBe(true); // a fencing token
  expect(lockMode.attempts).toBe(1);
  expect(await client.get('n')).toBe('43'); // every path ran over TLS: the server has no plain port
  await tx.close();
  await client.close();
});
