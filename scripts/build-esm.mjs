// Writes the ESM entry as a thin wrapper over the CommonJS build, so `import` and `require` load
// one copy of the library (one set of error classes: `instanceof` works across both).
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
const cjs = require('../dist/cjs/index.js');
const names = Object.keys(cjs).filter((name) => name !== 'default' && name !== '__esModule').sort();

mkdirSync(new URL('../dist/esm/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('../dist/esm/index.mjs', import.meta.url),
  `import cjs from '../cjs/index.js';\n\nexport const {\n${names.map((n) => `  ${n},`).join('\n')}\n} = cjs;\n`,
);
writeFileSync(new URL('../dist/esm/index.d.mts', import.meta.url), `export * from '../cjs/index.js';\n`);
console.error(`dist/esm: ${names.length} named exports`);
