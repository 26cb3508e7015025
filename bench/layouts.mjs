// Benchmark: Interpret As…'s layout proposals (extension/core/layouts.ts). Prints figures; not part of npm test.
//
//   node scripts/build.mjs && node bench/layouts.mjs [--runs R]
//
// - proposeLayouts(size) from the size alone, for sizes from 2 MB to 1 TB (the work is bounded: at
//   most 20,000 candidate rows per dtype and offset), median of R runs after one warm-up;
// - proposeForFile on a real SharedMemory segment (float16 1000x1000 written by numpy, padded to
//   whole pages): mapping, the bounded byte sample (72 KiB, on the addon's worker threads) and the
//   ranking, and where the true layout lands.
// The segment is uniquely named and removed at the end (also on failure).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({ options: { runs: { type: 'string', default: '7' } } });
const RUNS = Number(opts.runs);
const require = createRequire(import.meta.url);
const { proposeLayouts, proposeForFile } = require(join(root, process.env.SHM_OUT || 'out', 'extension', 'core', 'layouts.js'));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function time(fn) {
  await fn();
  const ms = [];
  for (let k = 0; k < RUNS; k++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}; median of ${RUNS} runs`,
);
for (const size of [2_000_000, 2_002_944, 4_000_016, 1_000_003, 1 << 30, 64 * 2 ** 30 + 12, 2 ** 40]) {
  const ms = await time(() => proposeLayouts(size));
  const top = proposeLayouts(size)[0];
  console.log(`size only  ${String(size).padStart(14)} B: ${ms.toFixed(1).padStart(6)} ms   first: ${top.dtype} ${top.shape.join('x')} (${top.reason})`);
}

const name = `shmi_bench_layouts_${process.pid}_${randomBytes(4).toString('hex')}`;
const path = `/dev/shm/${name}`;
try {
  execFileSync('/usr/bin/python3', [
    '-c',
    `
import numpy as np
from multiprocessing import shared_memory, resource_tracker
m = shared_memory.SharedMemory(name='${name}', create=True, size=${Math.ceil(2_000_000 / 4096) * 4096})
np.ndarray((1000, 1000), np.float16, buffer=m.buf)[...] = np.random.default_rng(1).standard_normal((1000, 1000))
resource_tracker.unregister(m._name, 'shared_memory')
m.close()
`,
  ]);
  const ms = await time(() => proposeForFile(path, 2_002_944));
  const l = await proposeForFile(path, 2_002_944);
  const rank = l.findIndex((p) => p.dtype === '<f2' && p.shape.join() === '1000,1000') + 1;
  console.log(
    `with bytes (SharedMemory float16 1000x1000, 2002944 B): ${ms.toFixed(1)} ms; true layout ranked ${rank} of ${l.length}: ${l[0].dtype} ${l[0].shape.join('x')} (${l[0].reason})`,
  );
} finally {
  rmSync(path, { force: true });
}
