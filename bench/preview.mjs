// Benchmark: previewing big float32 matrices through the native addon's mapped views,
// against the limits measured in the same run. Prints figures; not part of npm test.
//
//   cd native && node-gyp build; node bench/preview.mjs [--runs R] [--sizes 1,4] [--grid 1024]
//   (SHM_INSPECTOR_NATIVE=path/to/shm_native.node picks another build of the addon; to compare two
//   builds pass for pass in one process, under the same load: bench/reduce-ab.mjs)
//
// For each size (GiB), one N x N float32 NPY is made by numpy in /dev/shm, block by block
// (bench/preview_numpy.py), under a unique name, removed right after (also on failure or
// Ctrl-C); only one exists at a time. In each of R runs the contenders take turns (bandwidth,
// addon, numpy), so that the load of other processes weighs on all alike; figures are medians,
// ratios are medians of per-run ratios, with CPU times (all threads) beside wall times:
//  - first image: openView + a strided grid x grid reduce, on a fresh mapping;
//  - exact mean / min / max onto grid x grid as the viewer asks for float32 data (float32 cells, summed
//    in doubles; the mean also with float64 cells), and stats (+ a 4096-bin histogram over [min, max]):
//    "cold" is the first pass over a fresh mapping (it pays the page faults), "warm" a repeat;
//  - bandwidth: a g++ -O3 -march=native program summing 64-bit words over a fresh mapping with
//    as many threads as the addon uses (bench/bandwidth.cc), cold and warm likewise;
//  - numpy: the block mean a.reshape(h, n//h, w, n//w).mean(axis=(1,3)) and the strided slice
//    a[::n//h, ::n//w] on a memmap (cold: fresh memmap; warm: repeated);
//  - memory: growth of this process's RssAnon and V8 heap while it previews (RssShmem is the
//    segment itself, shared with its owner).
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { median, onExit } from './common.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    sizes: { type: 'string', default: '1,4' },
    grid: { type: 'string', default: '1024' },
  },
});
const RUNS = Number(opts.runs);
const SIZES = opts.sizes.split(',').map(Number);
const GRID = Number(opts.grid);
const PYTHON = process.env.SHM_TEST_PYTHON ?? '/usr/bin/python3';
const HELPER = join(root, 'bench', 'preview_numpy.py');
const require = createRequire(import.meta.url);
const addonPath = process.env.SHM_INSPECTOR_NATIVE ?? join(root, 'native', 'build', 'Release', 'shm_native.node');
const addon = require(addonPath);

// Results are garbage once read: collect them between passes, so that the memory figures show what
// the passes themselves hold (each result is a copied grid x grid Float64Array, 8 MiB at 1024).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');

const tag = `${process.pid}_${randomBytes(4).toString('hex')}`;
const created = new Set();
const bwBin = `/tmp/shmi_bench_bandwidth_${tag}`;
function cleanup() {
  for (const p of created) rmSync(p, { force: true });
  created.clear();
  rmSync(bwBin, { force: true });
}
onExit(cleanup);

const fmt = (ms) => (Number.isFinite(ms) ? `${ms.toFixed(ms < 10 ? 2 : 1)} ms` : '—');
const now = () => performance.now();

function status() {
  const text = readFileSync('/proc/self/status', 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  return { anon: kb('RssAnon'), shmem: kb('RssShmem') };
}

/** Samples RssAnon and the V8 heap every few ms while the passes run (the event loop is idle then). */
function memoryWatch() {
  const base = { ...status(), heap: process.memoryUsage().heapUsed };
  const peak = { anon: base.anon, shmem: base.shmem, heap: base.heap };
  const sample = () => {
    const s = status();
    peak.anon = Math.max(peak.anon, s.anon);
    peak.shmem = Math.max(peak.shmem, s.shmem);
    peak.heap = Math.max(peak.heap, process.memoryUsage().heapUsed);
  };
  const timer = setInterval(sample, 5);
  return {
    sample,
    stop() {
      clearInterval(timer);
      sample();
      return { anon: peak.anon - base.anon, heap: peak.heap - base.heap, shmem: peak.shmem - base.shmem };
    },
  };
}

function buildBandwidth() {
  execFileSync('g++', ['-O3', '-march=native', '-pthread', join(root, 'bench', 'bandwidth.cc'), '-o', bwBin]);
}

function bandwidth(path, runs) {
  const out = execFileSync(bwBin, [path, String(addon.threads), String(runs)], { encoding: 'utf8' });
  const rows = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  return { cold: rows.map((r) => r.coldMs), warm: rows.map((r) => r.warmMs), coldCpu: rows.map((r) => r.coldCpuMs), warmCpu: rows.map((r) => r.warmCpuMs) };
}

/** One run of the addon's passes (timings appended to `t`); returns the checks of this run. */
async function previewRun(path, n, offset, t) {
  const slice = { dtype: 'f4', byteSwap: false, part: 'magnitude', offset, strideR: n * 4, strideC: 4, rows: n, cols: n };
  // As the viewer asks for float32 data: float32 cells (summed in doubles, rounded once at the end).
  const whole = { ...slice, r0: 0, r1: n, c0: 0, c1: n, gridHeight: GRID, gridWidth: GRID, output: 'f32' };
  const c = {};
  const time = async (key, fn) => {
    const t0 = now();
    const u0 = process.cpuUsage();
    const r = await fn();
    const u = process.cpuUsage(u0);
    (t[key] ??= []).push(now() - t0);
    (t[`${key}Cpu`] ??= []).push((u.user + u.system) / 1e3);
    return r;
  };
  // Time to first image: open + strided grid on a fresh mapping.
  let v;
  let res = await time('first', async () => {
    v = await addon.openView(path);
    return v.reduce({ ...whole, mode: 'strided' });
  });
  if (res.width !== GRID || res.height !== GRID) throw new Error('strided grid has the wrong size');
  // Exact mean over the whole matrix: cold (first pass over this mapping), then warm.
  res = await time('meanCold', () => v.reduce({ ...whole, mode: 'mean' }));
  c.cells = res.values.length;
  c.nanCells = res.values.reduce((k, x) => k + (Number.isNaN(x) ? 1 : 0), 0);
  res = await time('meanWarm', () => v.reduce({ ...whole, mode: 'mean' }));
  res = await time('meanWarm64', () => v.reduce({ ...whole, mode: 'mean', output: 'f64' }));
  res = await time('minWarm', () => v.reduce({ ...whole, mode: 'min' }));
  c.min = res.min;
  res = await time('maxWarm', () => v.reduce({ ...whole, mode: 'max' }));
  c.max = res.max;
  res = null;
  const st = await time('statsWarm', () => v.stats(slice));
  const sh = await time('histWarm', () => v.stats({ ...slice, bins: 4096 }));
  v.close();
  Object.assign(c, {
    statsMean: st.mean,
    statsStd: st.std,
    nanCount: st.nanCount,
    infCount: st.infCount,
    finiteCount: st.finiteCount,
    statsMin: st.min,
    statsMax: st.max,
    histTotal: sh.histogram.reduce((a, b) => a + b, 0),
  });
  // Stats as the first pass over a fresh mapping.
  v = await addon.openView(path);
  await time('statsCold', () => v.stats(slice));
  v.close();
  return c;
}

function numpyRef(path, full) {
  const r = spawnSync(PYTHON, [HELPER, 'ref', path, String(GRID), String(GRID), '1', ...(full ? ['--full'] : [])], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`numpy reference failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

async function benchSize(gib) {
  const n = Math.round(Math.sqrt((gib * 2 ** 30) / 4));
  const path = `/dev/shm/shmi_bench_preview_${tag}_${gib}g.npy`;
  created.add(path);
  const la0 = loadavg();
  let t0 = now();
  const offset = Number(execFileSync(PYTHON, [HELPER, 'make', path, String(n)], { encoding: 'utf8' }).trim());
  const makeMs = now() - t0;
  try {
    // The contenders take turns in every run, so that the load of other processes on this machine
    // weighs on all of them alike.
    const bw = { cold: [], warm: [], coldCpu: [], warmCpu: [] };
    const np = {};
    const t = {};
    let check = null;
    gc();
    const mem = memoryWatch();
    for (let r = 0; r < RUNS; r++) {
      const b = bandwidth(path, 1);
      for (const k of Object.keys(bw)) bw[k].push(...b[k]);
      mem.sample();
      const c = await previewRun(path, n, offset, t);
      if (r === 0) check = c;
      gc();
      mem.sample();
      const ref = numpyRef(path, r === 0);
      for (const [k, v] of Object.entries(ref)) (np[k] ??= []).push(...v);
    }
    const growth = mem.stop();
    const la1 = loadavg();
    report(gib, n, makeMs, bw, { t, growth, check }, np, la0, la1);
  } finally {
    rmSync(path, { force: true });
    created.delete(path);
  }
}

function report(gib, n, makeMs, bw, ours, np, la0, la1) {
  const t = ours.t;
  const m = (xs) => median(xs ?? []);
  const bytes = n * n * 4;
  const gbps = (ms) => (Number.isFinite(ms) ? `${(bytes / (ms / 1e3) / 1e9).toFixed(1)} GB/s` : '');
  const lines = [];
  lines.push(
    `\n== ${gib} GiB: ${n} x ${n} float32 (${bytes} bytes), grid ${GRID} x ${GRID}, ${RUNS} interleaved runs, fixture made in ${(makeMs / 1e3).toFixed(1)} s`,
  );
  lines.push(
    `load average before ${la0.map((x) => x.toFixed(2)).join(' ')}, after ${la1.map((x) => x.toFixed(2)).join(' ')} (2 CPUs); addon: ${addon.threads} threads, SIMD ${addon.simd ?? '?'}`,
  );
  const cell = (ms) => `${fmt(ms).padStart(10)} ${gbps(ms).padStart(10)}`;
  const row = (name, cold, coldCpu, warm, warmCpu, note = '') =>
    lines.push(`  ${name.padEnd(40)} ${cell(cold)} ${fmt(coldCpu).padStart(10)}   ${cell(warm)} ${fmt(warmCpu).padStart(10)}  ${note}`);
  lines.push(
    `  ${'(medians; CPU = all threads, user+sys)'.padEnd(40)} ${'cold wall'.padStart(21)} ${'cold CPU'.padStart(10)}   ${'warm wall'.padStart(21)} ${'warm CPU'.padStart(10)}`,
  );
  row('first image (open + strided grid)', m(t.first), m(t.firstCpu), NaN, NaN);
  row('bandwidth: sum u64 (g++ -march=native)', m(bw.cold), m(bw.coldCpu), m(bw.warm), m(bw.warmCpu));
  row('exact mean onto the grid', m(t.meanCold), m(t.meanColdCpu), m(t.meanWarm), m(t.meanWarmCpu));
  row('  the same, float64 cells', NaN, NaN, m(t.meanWarm64), m(t.meanWarm64Cpu));
  row('exact min onto the grid', NaN, NaN, m(t.minWarm), m(t.minWarmCpu));
  row('exact max onto the grid', NaN, NaN, m(t.maxWarm), m(t.maxWarmCpu));
  row('stats (count/min/max/mean/std/NaN/Inf)', m(t.statsCold), m(t.statsColdCpu), m(t.statsWarm), m(t.statsWarmCpu));
  row('stats + 4096-bin histogram on [min,max]', NaN, NaN, m(t.histWarm), m(t.histWarmCpu), '(two passes)');
  row('numpy block mean (memmap, 1 thread)', m(np.blockMeanCold), m(np.blockMeanColdCpu), m(np.blockMeanWarm), m(np.blockMeanWarmCpu));
  row('numpy strided slice (memmap)', m(np.stridedCold), NaN, m(np.stridedWarm), NaN);
  row('numpy f64 mean/min/max of the finite', NaN, NaN, m(np.meanMinMaxWarm), NaN, '(64 MiB blocks, 1 run)');
  // Ratios per run (the contenders ran back to back), then the median.
  const paired = (a, b) => (a && b ? median(a.map((x, i) => x / b[i])) : NaN).toFixed(2);
  lines.push(
    `  exact mean / bandwidth, per run: cold ${paired(t.meanCold, bw.cold)}x, warm ${paired(t.meanWarm, bw.warm)}x (CPU time: cold ${paired(t.meanColdCpu, bw.coldCpu)}x, warm ${paired(t.meanWarmCpu, bw.warmCpu)}x); float64 cells warm ${paired(t.meanWarm64, bw.warm)}x   target <= 1.5x`,
  );
  lines.push(`  stats / mean, per run: cold ${paired(t.statsCold, t.meanCold)}x, warm ${paired(t.statsWarm, t.meanWarm)}x`);
  lines.push(
    `  numpy block mean / exact mean, per run: cold ${paired(np.blockMeanCold, t.meanCold)}x, warm ${paired(np.blockMeanWarm, t.meanWarm)}x faster   target >= 3x`,
  );
  const mib = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  lines.push(
    `  memory growth while previewing: RssAnon ${mib(ours.growth.anon)}, V8 heap ${mib(ours.growth.heap)} (target < 64 MiB each); RssShmem peak +${mib(ours.growth.shmem)} (the segment)`,
  );
  const c = ours.check;
  lines.push(
    `  check: ${c.nanCells} of ${c.cells} mean cells NaN (expected 0: NaN counted, not smeared); stats NaN ${c.nanCount}, Inf ${c.infCount}, finite ${c.finiteCount}, histogram total ${c.histTotal}; mean ${c.statsMean?.toFixed(6)}, std ${c.statsStd?.toFixed(6)}, min ${c.statsMin} (grid ${c.min}), max ${c.statsMax} (grid ${c.max})`,
  );
  const list = (xs) => `[${(xs ?? []).map((x) => x.toFixed(0)).join(' ')}]`;
  lines.push(
    `  all runs, wall ms: ${['first', 'meanCold', 'meanWarm', 'meanWarm64', 'minWarm', 'maxWarm', 'statsCold', 'statsWarm', 'histWarm'].map((k) => `${k} ${list(t[k])}`).join('; ')}; bandwidth cold ${list(bw.cold)} warm ${list(bw.warm)}; numpy block mean cold ${list(np.blockMeanCold)} warm ${list(np.blockMeanWarm)}`,
  );
  console.log(lines.join('\n'));
}

if (!existsSync(addonPath)) throw new Error(`${addonPath}: build the addon first (cd native && node-gyp build)`);
buildBandwidth();
for (const gib of SIZES) await benchSize(gib);
cleanup();
