// Benchmark: the memory picture's treemap on the extension host (extension/core/processes/treemap.ts).
// Prints figures; not part of npm test.
//
//   node scripts/build.mjs && node bench/picture.mjs [--runs R]
//
// The host builds the tree and lays it out on its main thread (the scan itself runs on the addon's
// worker threads): median of R runs after one warm-up, for this machine's real report and for
// synthetic machines of 500 and 5,000 processes (a few large, many small; 4 kinds each), at a
// panel's size and at 4K. The bound for the main thread: never blocked more than 50 ms.
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from './common.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({ options: { runs: { type: 'string', default: '9' } } });
const RUNS = Number(opts.runs);
const require = createRequire(import.meta.url);
const out = join(root, process.env.SHM_OUT || 'out', 'extension', 'core', 'processes');
const { layoutTreemap, memoryTree, readMemInfo } = require(join(out, 'treemap.js'));
const { memoryReport } = require(join(out, 'scan.js'));

function time(fn) {
  fn();
  const ms = [];
  for (let k = 0; k < RUNS; k++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  return { median: median(ms), max: Math.max(...ms) };
}

/** A machine of n processes: sizes spread over 4 KiB .. ~36 GiB (log-uniform), each split in 4 kinds. */
function synthetic(n) {
  let s = 12345;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  return Array.from({ length: n }, (_, i) => {
    const b = Math.floor(Math.exp(rnd() * 16)) * 4096;
    return {
      id: `proc:${i + 1}`,
      role: 'process',
      label: `p${i}`,
      bytes: b * 4,
      pid: i + 1,
      children: ['private', 'family', 'shm', 'file'].map((k) => ({ id: `proc:${i + 1}/${k}`, role: 'kind', label: k, bytes: b, kind: k })),
    };
  });
}

console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}; median (max) of ${RUNS} runs`,
);
const [report, mem] = await Promise.all([memoryReport(), readMemInfo()]);
for (const [w, h] of [
  [1000, 450],
  [3840, 1600],
]) {
  let rects = 0;
  const real = time(() => (rects = layoutTreemap(memoryTree(report, mem), { x: 0, y: 0, w, h }).length));
  console.log(`this machine (${report.processes.length} processes) at ${w}x${h}: ${real.median.toFixed(2)} ms (${real.max.toFixed(2)}), ${rects} rectangles`);
  for (const n of [500, 5000]) {
    const nodes = synthetic(n);
    const t = time(() => (rects = layoutTreemap(nodes, { x: 0, y: 0, w, h }).length));
    console.log(`${n} processes at ${w}x${h}: ${t.median.toFixed(2)} ms (${t.max.toFixed(2)}), ${rects} rectangles`);
  }
}
