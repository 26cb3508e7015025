// Benchmark: what spelling names (extension/core/names.ts) adds to a listing of 10,000
// segments: the native scan's NUL-joined raw names to spelled strings, all UTF-8 and with one
// name that is not, against the plain decode-and-split it replaced. Prints figures; not part of
// npm test. Needs the transpiled tests (node scripts/build.mjs), nothing on disk.
//
//   node scripts/build.mjs && node bench/names.mjs [--count N] [--runs R]
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({ options: { count: { type: 'string', default: '10000' }, runs: { type: 'string', default: '30' } } });
const COUNT = Number(opts.count);
const RUNS = Number(opts.runs);
const require = createRequire(import.meta.url);
const { spellJoinedNames } = require(join(root, process.env.SHM_OUT || 'out', 'extension', 'core', 'names.js'));

const names = Array.from({ length: COUNT }, (_, i) => `psm_${i.toString(16)}_${((i * 2654435761) >>> 0).toString(36)}.npy`);
const utf8 = Buffer.from(names.join('\0'));
const oneLatin1 = Buffer.concat([utf8, Buffer.from([0, 0x63, 0x61, 0x66, 0xe9])]);

function best(fn) {
  fn();
  let min = Infinity;
  for (let r = 0; r < RUNS; r++) {
    const t = process.hrtime.bigint();
    fn();
    min = Math.min(min, Number(process.hrtime.bigint() - t) / 1e6);
  }
  return min.toFixed(2);
}

console.log(
  `load average: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')} (best of ${RUNS} runs, ${COUNT} names, ms)`,
);
console.log(`  ${best(() => utf8.toString('utf8').split('\0'))}  plain decode and split (before: names came as one string)`);
console.log(`  ${best(() => spellJoinedNames(utf8, COUNT))}  spelled, all UTF-8`);
console.log(`  ${best(() => spellJoinedNames(oneLatin1, COUNT + 1))}  spelled, one name not UTF-8`);
