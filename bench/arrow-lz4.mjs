// Benchmark: compressed Arrow files in the table model (issue #16, item 2), host side. Prints figures; not part of npm test.
//
//   node scripts/build.mjs && node bench/arrow-lz4.mjs [--rows N] [--runs R] [--page P] [--batch B]
//
// An Arrow IPC file of N rows (default 10,000,000) x 10 columns in B-row record batches (default
// 65,536, pyarrow's write_feather chunk), its buffers LZ4 frames made by Debian's python3-lz4
// through apache-arrow's writer (test/fixtures/compressed.ts, a batch at a time, the writer's
// prefixes fixed), and the same table uncompressed, in a unique folder of /dev/shm. For each, the
// median of R runs (default 5), each on a fresh mapping:
//   open     the footer, the schema and every record batch header (ArrowTable.open);
//   first    open + the first page of P rows (default 60) of all columns (LZ4: decompressing batch 0);
//   last     open + the last page;
//   scroll   one page at a random row of an open table (LZ4: mostly a batch not decompressed yet);
//   again    the same page once more (LZ4: from the cache);
//   stats    the statistics of column x0 over all rows (LZ4: every batch's x0 decompressed, read as a typed array);
// and the host's private (anonymous) memory growth over 400 pages at random rows, beside the bytes
// the cache holds and its budget (DECOMPRESSED_BUDGET). The folder is removed at the end (also on
// failure or Ctrl-C); nothing else is touched.
//
// Measured 2026-12-03 (main, 10M rows, 5 runs, load average ~3, nothing else running):
//   LZ4 (356 MiB; 153 batches): open 17.4 ms, first page 28.9 ms, last page 28.1 ms, a page of scrolling 1.26 ms,
//     again 0.24 ms; statistics of x0 255 ms; private memory growth over 400 random pages 231.4 MiB (budget 256 MiB).
//   uncompressed (704 MiB): open 12.5 ms, first page 13.3 ms, last page 15.3 ms, a page of scrolling 0.51 ms, again
//     0.33 ms; statistics of x0 82.4 ms; private memory growth 1.0 MiB.
// Measured 2026-12-02 (this branch, 10M rows, 5 runs, 2 cores shared with three other jobs at load average ~10, so noisy):
//   LZ4 (356 MiB; 153 batches): open 35.6 ms, first page 64.2 ms, last page 59.4 ms, a page of scrolling
//     1.59 ms (a batch decompressed: max 195 ms under load), the same page again 0.30 ms; statistics of x0
//     638 ms; private memory growth over 400 random pages 237.9 MiB, the cache at most 256.0 MiB (its budget).
//   uncompressed (704 MiB): open 74.5 ms, first page 119.6 ms, last page 57.1 ms, a page of scrolling 0.70 ms,
//     again 0.36 ms; statistics of x0 (native passes) 114.3 ms; private memory growth 0.1 MiB.
//   An earlier run (load ~7): LZ4 first 68.0 ms, last 67.9 ms, scroll 2.53 ms, growth 241.6 MiB; uncompressed
//     first 48.4 ms, last 54.1 ms, scroll 3.13 ms.
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { anonBytes, fmtMiB, fmtMs, frameBatch, loadAverage, median, nowMs, onExit, requireOut, ROOT } from './common.mjs';

const { values: opts } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000000' },
    runs: { type: 'string', default: '5' },
    page: { type: 'string', default: '60' },
    batch: { type: 'string', default: '65536' },
  },
});
const N = Number(opts.rows);
const RUNS = Number(opts.runs);
const PAGE = Number(opts.page);
const BATCH = Number(opts.batch);
const require = createRequire(join(ROOT, 'package.json'));
const A = require('apache-arrow');
const { Footer, FileBlock } = require('apache-arrow/ipc/metadata/file');
const { Message } = require('apache-arrow/ipc/metadata/message');
const { ArrowTable, DECOMPRESSED_BUDGET } = requireOut('extension', 'core', 'tables', 'arrow.js');
const { openView } = requireOut('extension', 'native.js');
const { compressedIpc } = requireOut('test', 'fixtures', 'compressed.js');
const { columnStats } = requireOut('extension', 'core', 'tables', 'stats.js');

const dir = `/dev/shm/shmi_bench_lz4_${process.pid}_${randomBytes(4).toString('hex')}`;
onExit(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(dir);

/** Rows [from, from + n): three of the six float64 columns of few distinct values (LZ4 shrinks them), three of noise. */
const batch = (from, n) => frameBatch(A, from, n, 3);

/** The messages of a stream: [start, metadata length with its prefix, body length, decoded]. */
function messages(b) {
  const out = [];
  for (let pos = 0; pos + 8 <= b.length;) {
    const len = b.readInt32LE(pos + 4);
    if (len <= 0) break;
    const m = Message.decode(b.subarray(pos + 8, pos + 8 + len));
    out.push({ pos, meta: 8 + len, body: Number(m.bodyLength), m });
    pos += 8 + len + Number(m.bodyLength);
  }
  return out;
}

/**
 * Writes the file a batch at a time: each batch as a compressed stream (schema, dictionary,
 * batch; one run of Python each) whose messages are copied as they are, the schema and the
 * dictionary from the first only; then the footer. `compress` false: apache-arrow's plain writer.
 */
function write(file, compress) {
  const fd = openSync(file, 'w');
  let at = 0;
  const put = (bytes) => {
    writeSync(fd, bytes);
    at += bytes.length;
  };
  const blocks = [];
  const dicts = [];
  let schema = null;
  put(Buffer.from('ARROW1\0\0', 'latin1'));
  for (let from = 0; from < N; from += BATCH) {
    const t = new A.Table([batch(from, Math.min(BATCH, N - from))]);
    const s = Buffer.from(compress ? compressedIpc(t, 'stream', 'lz4', { sized: false }) : A.tableToIPC(t, 'stream'));
    for (const msg of messages(s)) {
      const bytes = s.subarray(msg.pos, msg.pos + msg.meta + msg.body);
      if (msg.m.isSchema()) {
        if (schema) continue;
        schema = msg.m.header();
      } else if (msg.m.isDictionaryBatch()) {
        if (from > 0) continue;
        dicts.push(new FileBlock(msg.meta, msg.body, at));
      } else if (msg.m.isRecordBatch()) {
        blocks.push(new FileBlock(msg.meta, msg.body, at));
      }
      put(bytes);
    }
  }
  put(Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]));
  const footer = Footer.encode(new Footer(schema, 4, blocks, dicts));
  const tail = Buffer.alloc(10);
  tail.writeInt32LE(footer.length, 0);
  tail.write('ARROW1', 4, 'latin1');
  put(footer);
  put(tail);
  closeSync(fd);
}

const [anon, now, fmt, MiB] = [anonBytes, nowMs, fmtMs, fmtMiB];

async function measure(file) {
  const times = { open: [], first: [], last: [], scroll: [], again: [] };
  const check = (page, what) => {
    if (page.errors.some((e) => e) || page.rows.length === 0) throw new Error(`${what}: ${page.errors.find((e) => e)}`);
  };
  for (let r = 0; r < RUNS; r++) {
    for (const which of ['first', 'last']) {
      const t0 = now();
      const v = await openView(file);
      const t = await ArrowTable.open(v);
      const t1 = now();
      check(await t.rows(which === 'first' ? 0 : t.totalRows - PAGE, PAGE), which);
      const t2 = now();
      if (which === 'first') times.open.push(t1 - t0);
      times[which].push(t2 - t0);
      v.close();
    }
  }
  const v = await openView(file);
  const t = await ArrowTable.open(v);
  global.gc?.();
  const before = anon();
  let peak = before;
  let held = 0;
  for (let r = 0; r < 400; r++) {
    const at = Math.floor(Math.random() * (N - PAGE));
    const t0 = now();
    check(await t.rows(at, PAGE), `row ${at}`);
    const t1 = now();
    await t.rows(at, PAGE);
    times.again.push(now() - t1);
    times.scroll.push(t1 - t0);
    peak = Math.max(peak, anon());
    held = Math.max(held, t.decompressedBytes);
  }
  // A column's statistics over all rows (the header's hover; `stats NAME/x0`), on a fresh mapping.
  const stats = [];
  for (let r = 0; r < Math.min(RUNS, 3); r++) {
    const v2 = await openView(file);
    const t2 = await ArrowTable.open(v2);
    const t0 = now();
    const st = await columnStats(t2, 1, v2);
    stats.push(now() - t0);
    if (st.count !== N) throw new Error(`stats counted ${st.count} of ${N}`);
    v2.close();
  }
  times.stats = stats;
  v.close();
  return { times, growth: peak - before, held };
}

console.log(
  `arrow-lz4 bench: ${N} rows x 10 columns in ${BATCH}-row batches, pages of ${PAGE} rows, ${RUNS} runs; load average ${loadAverage()}, node ${process.version}`,
);
for (const compress of [true, false]) {
  const file = join(dir, compress ? 'lz4.feather' : 'plain.arrow');
  const t0 = now();
  write(file, compress);
  console.log(`\n${compress ? 'LZ4 frames (python3-lz4)' : 'uncompressed'}: ${MiB(statSync(file).size)} written in ${fmt(now() - t0)}`);
  const { times, growth, held } = await measure(file);
  const line = (k) => `  ${k.padEnd(7)} median ${fmt(median(times[k])).padStart(9)}  (min ${fmt(Math.min(...times[k]))}, max ${fmt(Math.max(...times[k]))})`;
  for (const k of ['open', 'first', 'last', 'scroll', 'again', 'stats']) console.log(line(k));
  console.log(
    `  private memory growth over 400 pages at random rows: ${MiB(growth)}; decompressed bytes held at most ${MiB(held)} (budget ${MiB(DECOMPRESSED_BUDGET)})`,
  );
  rmSync(file);
}
