// Benchmark: reading a sparse segment through the addon's mapped views: what it costs, and what it
// allocates (the RAM its tmpfs gives the file's holes). Prints figures; not part of npm test.
//
//   node bench/sparse.mjs [--gib 1] [--runs 3]
//   (SHM_INSPECTOR_NATIVE=path/to/shm_native.node measures another build of the addon, e.g. one before the fix)
//
// One N x N float32 NPY is made in /dev/shm by numpy's open_memmap (header and last element only) with
// 64 rows of data written in the middle, under a unique name, removed at the end (also on failure or
// Ctrl-C). Each run opens a fresh view and times: the open, a strided 1024 x 1024 grid (the first picture),
// the exact mean grid, and stats; the file's allocated bytes (st_blocks * 512) are printed after each step.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({ options: { gib: { type: 'string', default: '1' }, runs: { type: 'string', default: '3' } } });
const require = createRequire(import.meta.url);
const addonPath = process.env.SHM_INSPECTOR_NATIVE ?? join(root, 'native', 'build', 'Release', 'shm_native.node');
const addon = require(addonPath);

const gib = Number(opts.gib);
const n = Math.round(Math.sqrt((gib * 2 ** 30) / 4));
const file = `/dev/shm/shmi_bench_sparse_${process.pid}_${randomBytes(4).toString('hex')}.npy`;
const cleanup = () => rmSync(file, { force: true });
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

const allocated = () => statSync(file).blocks * 512;
const mib = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;

try {
  execFileSync('/usr/bin/python3', [
    '-c',
    `
import numpy as np, os, sys
m = np.lib.format.open_memmap(sys.argv[1], mode="w+", dtype="<f4", shape=(${n}, ${n})); off = m.offset; del m
fd = os.open(sys.argv[1], os.O_WRONLY)
os.pwrite(fd, (np.arange(64 * ${n}) % 1000).astype("<f4").tobytes(), off + (${n} // 2) * ${n} * 4)
os.close(fd)
`,
    file,
  ]);
  const size = statSync(file).size;
  console.log(`sparse ${n} x ${n} float32 NPY (${mib(size)}), ${mib(allocated())} allocated; addon ${addonPath}`);
  const offset = size - n * n * 4;
  const slice = { dtype: 'f4', byteSwap: false, offset, strideR: n * 4, strideC: 4, rows: n, cols: n };
  const whole = { ...slice, r0: 0, r1: n, c0: 0, c1: n };
  for (let run = 0; run < Number(opts.runs); run++) {
    const steps = [];
    const step = async (what, fn) => {
      const t0 = performance.now();
      try {
        await fn();
        steps.push(`${what} ${(performance.now() - t0).toFixed(1)} ms (${mib(allocated())})`);
      } catch (e) {
        steps.push(`${what} FAILED after ${(performance.now() - t0).toFixed(1)} ms: ${e.code ?? ''} ${e.message} (${mib(allocated())})`);
      }
    };
    let view;
    await step('open', async () => (view = await addon.openView(file)));
    if (!view) break;
    await step('strided grid', () => view.reduce({ ...whole, gridWidth: 1024, gridHeight: 1024, mode: 'strided', output: 'f32' }));
    await step('exact mean grid', () => view.reduce({ ...whole, gridWidth: 1024, gridHeight: 1024, mode: 'mean', output: 'f32' }));
    await step('stats', () => view.stats(slice));
    view.close();
    console.log(`run ${run + 1}: ${steps.join('; ')}`);
    if (allocated() > 64 << 20) {
      console.log('the holes were given pages: stopping (the file now holds its whole size in RAM)');
      break;
    }
  }
} finally {
  cleanup();
}
