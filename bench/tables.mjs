// Benchmark: the table model of issue #16 (item 10), host side. Prints figures; not part of npm test.
//
//   node scripts/build.mjs && node bench/tables.mjs [--rows N] [--runs R] [--page P]
//
// Two Arrow IPC files of N rows (default 10,000,000) and 10 columns (~1 GB each) in a unique folder
// of /dev/shm, written by apache-arrow a record batch at a time: one of 64Ki-row record batches,
// one of a single record batch (what pandas/pyarrow usually write). For each, the median of R runs
// (default 9) of what a table view does on the extension host, each run on a fresh mapping:
//   open     the footer, the schema and every record batch header (ArrowTable.open);
//   first    open + the first page of P rows (default 60) of all columns;
//   last     open + the last page;
//   scroll   one page at a random row of an open table (a page of scrolling);
// and the extension host's private (anonymous) memory growth over 200 pages at random rows.
// Beside it, in the same run, what a data-preview extension does: read the file whole and decode it
// with apache-arrow's tableFromIPC (time and anonymous memory growth).
// Compressed (LZ4/ZSTD) files: bench/arrow-lz4.mjs.
// The folder is removed at the end (also on failure or Ctrl-C); nothing else is touched.
//
// Measured 2026-12-03 (main, 10M rows, 5 runs, load average ~3.7, nothing else running):
//   64Ki-row batches (704 MiB): open 15.0 ms, first page 17.7 ms, last page 17.4 ms, a page of scrolling 0.48 ms,
//     private memory growth 2.1 MiB; tableFromIPC of the whole file 3.25 s, +682 MiB.
//   one batch (704 MiB): open 1.59 ms, first page 2.85 ms, last page 1.59 ms, a page of scrolling 0.46 ms, private
//     memory growth 3.5 MiB; tableFromIPC of the whole file 3.33 s, +704 MiB.
// Measured 2026-12-02 (this branch, 10M rows, 5 runs, 2 shared cores at load average ~20, so medians are noisy):
//   64Ki-row batches (153 batches, 704 MiB): open 18.8 ms, first page 24.1 ms, last page 117.8 ms (min 26.3),
//     a page of scrolling 0.65 ms, private memory growth 0.0 MiB; tableFromIPC of the whole file 13.5 s, +671 MiB.
//   one batch (704 MiB): open 0.82 ms, first page 10.3 ms, last page 1.91 ms, a page of scrolling 0.62 ms,
//     private memory growth 0.0 MiB; tableFromIPC of the whole file 8.3 s, +704 MiB.
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { anonBytes, fmtMiB, fmtMs, frameBatch, median, nowMs, onExit } from './common.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({
  options: { rows: { type: 'string', default: '10000000' }, runs: { type: 'string', default: '9' }, page: { type: 'string', default: '60' } },
});
const N = Number(opts.rows);
const RUNS = Number(opts.runs);
const PAGE = Number(opts.page);
const OUT = join(root, process.env.SHM_OUT || 'out');
const require = createRequire(import.meta.url);
const A = require('apache-arrow');
const { ArrowTable } = require(join(OUT, 'extension/core/tables/arrow.js'));
const { openView } = require(join(OUT, 'extension/native.js'));

const dir = `/dev/shm/shmi_bench_tables_${process.pid}_${randomBytes(4).toString('hex')}`;
onExit(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(dir);

/** Rows [from, from + n) as one record batch: ids, six float64, an int32, a short string, a category. */
const batch = (from, n) => frameBatch(A, from, n);

/** Writes N rows in batches of `size` rows, a batch at a time. */
async function write(file, size) {
  const writer = new A.RecordBatchFileWriter();
  const out = createWriteStream(file);
  const done = new Promise((ok, fail) => writer.toNodeStream().pipe(out).on('finish', ok).on('error', fail));
  for (let at = 0; at < N; at += size) writer.write(batch(at, Math.min(size, N - at)));
  writer.finish();
  await done;
}

const [anon, now, fmt, MiB] = [anonBytes, nowMs, fmtMs, fmtMiB];

async function measure(file) {
  const times = { open: [], first: [], last: [], scroll: [] };
  for (let r = 0; r < RUNS; r++) {
    for (const which of ['first', 'last']) {
      const t0 = now();
      const v = await openView(file);
      const t = await ArrowTable.open(v);
      const t1 = now();
      const page = await t.rows(which === 'first' ? 0 : t.totalRows - PAGE, PAGE);
      const t2 = now();
      if (page.errors.some((e) => e) || page.rows.length !== PAGE) throw new Error(`bad page: ${page.errors}`);
      if (which === 'first') times.open.push(t1 - t0);
      times[which].push(t2 - t0);
      v.close();
    }
  }
  const v = await openView(file);
  const t = await ArrowTable.open(v);
  for (let r = 0; r < 20; r++) await t.rows(Math.floor(Math.random() * (N - PAGE)), PAGE); // warm
  global.gc?.();
  const before = anon();
  let peak = before;
  for (let r = 0; r < 200; r++) {
    const at = Math.floor(Math.random() * (N - PAGE));
    const t0 = now();
    await t.rows(at, PAGE);
    times.scroll.push(now() - t0);
    peak = Math.max(peak, anon());
  }
  v.close();
  return { times, growth: peak - before };
}

function wholeLoad(file) {
  global.gc?.();
  const before = anon();
  const t0 = now();
  const table = A.tableFromIPC(readFileSync(file));
  const rows = table.numRows;
  const last = table.get(rows - 1);
  const ms = now() - t0;
  const growth = anon() - before;
  return { ms, growth, ok: last !== null };
}

console.log(
  `tables bench: ${N} rows x 10 columns, pages of ${PAGE} rows, ${RUNS} runs; load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}, node ${process.version}`,
);
for (const [label, size] of [
  ['64Ki-row batches', 65536],
  ['one batch', N],
]) {
  const file = join(dir, `t-${size}.arrow`);
  const t0 = now();
  await write(file, size);
  console.log(`\n${label}: ${MiB(statSync(file).size)} written in ${fmt(now() - t0)}`);
  const { times, growth } = await measure(file);
  const line = (k) => `  ${k.padEnd(7)} median ${fmt(median(times[k])).padStart(9)}  (min ${fmt(Math.min(...times[k]))}, max ${fmt(Math.max(...times[k]))})`;
  for (const k of ['open', 'first', 'last', 'scroll']) console.log(line(k));
  console.log(`  private memory growth over 200 pages at random rows: ${MiB(growth)}`);
  const w = wholeLoad(file);
  console.log(`  beside it, readFileSync + tableFromIPC of the whole file: ${fmt(w.ms)}, private memory growth ${MiB(w.growth)}`);
  rmSync(file);
}
