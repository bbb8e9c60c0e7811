/**
 * The library as npm publishes it, for the packaging specs (`spec/package.spec.ts`,
 * `spec/packaging/`): packed by `npm pack` (whose `prepack` builds it), and unpacked where a
 * consumer's `node_modules` would hold it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The checkout the specs run in. */
export const ROOT = resolve(__dirname, '../..');

/** A packed tarball and the files it holds (sorted paths inside the package). */
export interface PackedLibrary {
  readonly tarball: string;
  readonly files: readonly string[];
}

/** Builds and packs the library into `destination` (a scratch directory). Takes a while: call it in `beforeAll`. */
export function packLibrary(destination: string): PackedLibrary {
  const [pack] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', destination], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
  ) as Array<{ filename: string; files: Array<{ path: string }> }>;
  return { tarball: join(destination, pack!.filename), files: pack!.files.map((f) => f.path).sort() };
}

/** Unpacks `tarball` into `directory` (e.g. a consumer's `node_modules/redis-transact`), as npm installs it. */
export function unpackInto(tarball: string, directory: string): void {
  mkdirSync(directory, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', directory, '--strip-components=1']);
}
