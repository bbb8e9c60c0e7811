// Marks each import of an optional peer dependency (a Redis client: node-redis, ioredis, iovalkey)
// in the built declarations with `// @ts-ignore`, so that an app that installed one client compiles
// against them with `skipLibCheck: false` (TypeScript's default): the types of an absent client are
// `any` there, and only the client in use is typed. tsc drops such comments from the declarations
// it writes, hence this step after it. Run by `npm run build`.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = fileURLToPath(new URL('../dist/cjs/', import.meta.url));
const PEER_IMPORT = /^import .* from '(redis|@redis\/[^']+|ioredis|iovalkey)';$/;
const MARK = '// @ts-ignore -- optional peer dependency: absent unless the app uses this client';

const declarations = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? declarations(join(dir, e.name)) : e.name.endsWith('.d.ts') ? [join(dir, e.name)] : [],
  );

let marked = 0;
for (const file of declarations(DIST)) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out = lines.flatMap((line, i) => {
    if (!PEER_IMPORT.test(line) || lines[i - 1] === MARK) return [line];
    marked++;
    return [MARK, line];
  });
  if (out.length !== lines.length) writeFileSync(file, out.join('\n'));
}
// An inline `import('redis')` type (one line of a longer declaration) could not be marked this way.
for (const file of declarations(DIST)) {
  if (/import\(['"](redis|@redis\/[^'"]+|ioredis|iovalkey)['"]\)/.test(readFileSync(file, 'utf8'))) {
    throw new Error(`${file}: an inline import() of a Redis client type; import it at the top of the source file instead`);
  }
}
console.error(`dist/cjs: ${marked} imports of optional peer dependencies marked`);
