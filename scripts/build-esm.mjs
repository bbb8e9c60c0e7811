// Writes each ESM entry as a thin wrapper over the CommonJS build, so `import` and `require` load
// one copy of the library (one set of error classes: `instanceof` works across both, and the
// testing entry finds the transactors the main entry made).
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
const ENTRIES = [
  { cjs: 'index.js', esm: 'index' },
  { cjs: 'testing/index.js', esm: 'testing' },
];

mkdirSync(new URL('../dist/esm/', import.meta.url), { recursive: true });
for (const entry of ENTRIES) {
  const cjs = require(`../dist/cjs/${entry.cjs}`);
  const names = Object.keys(cjs).filter((name) => name !== 'default' && name !== '__esModule').sort();
  writeFileSync(
    new URL(`../dist/esm/${entry.esm}.mjs`, import.meta.url),
    `import cjs from '../cjs/${entry.cjs}';\n\nexport const {\n${names.map((n) => `  ${n},`).join('\n')}\n} = cjs;\n`,
  );
  writeFileSync(new URL(`../dist/esm/${entry.esm}.d.mts`, import.meta.url), `export * from '../cjs/${entry.cjs}';\n`);
  console.error(`dist/esm/${entry.esm}.mjs: ${names.length} named exports`);
}
