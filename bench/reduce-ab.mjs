// Benchmark: two builds of the native addon, pass for pass, on one float32 matrix: for a change to
// the reductions (native/src/reduce.cc, simd.cc), "before" against "after" under the same load.
// Prints figures; not part of npm test.
//
//   cp native/build/Release/shm_native.node /tmp/before.node   # before the change
//   ...change, npm run install...
//   node bench/reduce-ab.mjs --base /tmp/before.node [--head native/build/Release/shm_native.node]
//                            [--size 1] [--runs 9] [--grid 1024]
//
// Both addons load into this one process and map the same segment (made by numpy under a unique
// name in /dev/shm, removed on exit); after a warm-up pass of each, every run times each pass of
// base and head back to back (base first in even runs, head first in odd ones), so that the load of
// other processes weighs on both alike. Figures: medians of wall and CPU time (all threads) per
// pass, and the median of the per-run ratios head / base (below 1: head is faster). The results of
// the two builds are compared too, bit for bit: a pass whose results of base and head never once
// agree is named; so is one that varies between passes of one build (its sums depend on how the
// work fell to the threads: the last bits of a mean over NaN regions, or of statistics).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, onExit } from './common.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({
  options: {
    base: { type: 'string' },
    head: { type: 'string', default: join(root, 'native', 'build', 'Release', 'shm_native.node') },
    size: { type: 'string', default: '1' },
    runs: { type: 'string', default: '9' },
    grid: { type: 'string', default: '1024' },
  },
});
if (!opts.base) throw new Error('--base path/to/shm_native.node (the build to compare against) is required');
const RUNS = Number(opts.runs);
const GRID = Number(opts.grid);
const PYTHON = process.env.SHM_TEST_PYTHON ?? '/usr/bin/python3';
const require = createRequire(import.meta.url);
const builds = { base: require(resolve(opts.base)), head: require(resolve(opts.head)) };

const n = Math.round(Math.sqrt((Number(opts.size) * 2 ** 30) / 4));
const path = `/dev/shm/shmi_bench_reduce_ab_${process.pid}_${randomBytes(4).toString('hex')}.npy`;
onExit(() => rmSync(path, { force: true }));

const la0 = loadavg();
const offset = Number(execFileSync(PYTHON, [join(root, 'bench', 'preview_numpy.py'), 'make', path, String(n)], { encoding: 'utf8' }).trim());
const slice = { dtype: 'f4', byteSwap: false, part: 'magnitude', offset, strideR: n * 4, strideC: 4, rows: n, cols: n };
const whole = { ...slice, r0: 0, r1: n, c0: 0, c1: n, gridHeight: GRID, gridWidth: GRID, output: 'f32' };
// The passes the viewer asks for, as bench/preview.mjs times them.
const passes = {
  'strided grid': (v) => v.reduce({ ...whole, mode: 'strided' }),
  'mean (float32 cells)': (v) => v.reduce({ ...whole, mode: 'mean' }),
  'mean (float64 cells)': (v) => v.reduce({ ...whole, mode: 'mean', output: 'f64' }),
  min: (v) => v.reduce({ ...whole, mode: 'min' }),
  max: (v) => v.reduce({ ...whole, mode: 'max' }),
  stats: (v) => v.stats(slice),
  'stats + 4096-bin histogram': (v) => v.stats({ ...slice, bins: 4096 }),
};

async function timed(fn) {
  const t0 = performance.now();
  const u0 = process.cpuUsage();
  const r = await fn();
  const u = process.cpuUsage(u0);
  return { ms: performance.now() - t0, cpu: (u.user + u.system) / 1e3, r };
}

/** A comparable digest of a result: its cells' bytes, or its statistics. */
function digest(r) {
  if (r.values) return Buffer.from(r.values.buffer, r.values.byteOffset, r.values.byteLength).toString('base64') + `|${r.min}|${r.max}`;
  return JSON.stringify(r, (k, x) => (x instanceof Float64Array ? Array.from(x) : x));
}

const views = { base: await builds.base.openView(path), head: await builds.head.openView(path) };
const t = {};
const seen = {}; // pass -> build -> the distinct results
const note = (name, who, r) => (seen[name] ??= { base: new Set(), head: new Set() })[who].add(digest(r));
for (const [name, fn] of Object.entries(passes)) {
  // Warm-up: page faults and first-touch of both builds' scratch.
  for (const who of ['base', 'head']) note(name, who, await fn(views[who]));
}
for (let run = 0; run < RUNS; run++) {
  const order = run % 2 === 0 ? ['base', 'head'] : ['head', 'base'];
  for (const [name, fn] of Object.entries(passes)) {
    for (const who of order) {
      const { ms, cpu, r } = await timed(() => fn(views[who]));
      ((t[name] ??= {})[who] ??= { ms: [], cpu: [] }).ms.push(ms);
      t[name][who].cpu.push(cpu);
      note(name, who, r);
    }
  }
}
views.base.close();
views.head.close();
rmSync(path, { force: true });
const la1 = loadavg();

const f = (x) => `${x.toFixed(x < 10 ? 2 : 1)} ms`.padStart(10);
console.log(
  `${n} x ${n} float32 (${((n * n * 4) / 2 ** 30).toFixed(2)} GiB), grid ${GRID} x ${GRID}, ${RUNS} paired runs; ` +
    `${builds.head.threads} threads, SIMD ${builds.head.simd}`,
);
console.log(`base ${resolve(opts.base)}\nhead ${resolve(opts.head)}`);
console.log(`load average before ${la0.map((x) => x.toFixed(2)).join(' ')}, after ${la1.map((x) => x.toFixed(2)).join(' ')}`);
console.log(
  `  ${'(medians)'.padEnd(28)} ${'base wall'.padStart(10)} ${'head wall'.padStart(10)} ${'head/base'.padStart(10)}   ${'base CPU'.padStart(10)} ${'head CPU'.padStart(10)} ${'head/base'.padStart(10)}`,
);
for (const [name, { base, head }] of Object.entries(t)) {
  const ratio = (k) =>
    median(head[k].map((x, i) => x / base[k][i]))
      .toFixed(3)
      .padStart(10);
  console.log(`  ${name.padEnd(28)} ${f(median(base.ms))} ${f(median(head.ms))} ${ratio('ms')}   ${f(median(base.cpu))} ${f(median(head.cpu))} ${ratio('cpu')}`);
}
const differ = Object.keys(seen).filter((k) => ![...seen[k].base].some((d) => seen[k].head.has(d)));
const vary = Object.keys(seen).filter((k) => seen[k].base.size > 1 || seen[k].head.size > 1);
console.log(differ.length === 0 ? 'results: base and head agree bit for bit on every pass' : `results: base and head never agree on ${differ.join(', ')}`);
if (vary.length > 0) console.log(`  (varying from pass to pass within one build: ${vary.join(', ')})`);
