// Benchmark: the linear-time decoding fixes of issue 11 item 7. Prints figures; not part of npm test.
//
//   node scripts/build.mjs && node bench/decoders.mjs [--runs R] [--files N]
//
//   1. an NPY header at the 1 MiB cap (a structured dtype of ~40,000 fields: 80,000 short strings,
//      the case that made the literal parser quadratic), through the real decoder (decodeNpy);
//   2. a 7-star glob against a 200-character name (and other worst cases of the matcher);
//   3. the /proc holder scan while one process (bench/map_files.py) maps N = 60,000 files of a
//      private folder under /dev/shm (sparse files: no RAM), then the holder index built from it.
//   4. an Arrow file whose footer lists 2000 blocks that all point at one 16 MiB region: rejected
//      (it was read 2000 times: 12 s) — and a valid one with 2000 blocks, for comparison.
// Each figure is the median wall time of R runs (default 9), with the minimum and maximum beside it, and
// the median CPU time of this process (worker threads and GC included; the kernel's part beside it):
// on a loaded machine, the steadier one. SHM_INSPECTOR_NATIVE=path/to/shm_native.node measures another build.
// The folder is unique and removed at the end (also on failure or Ctrl-C); nothing else is touched.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { onExit } from './common.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({ options: { runs: { type: 'string', default: '9' }, files: { type: 'string', default: '60000' } } });
const RUNS = Number(opts.runs);
const FILES = Number(opts.files);
const PYTHON = process.env.SHM_TEST_PYTHON ?? '/usr/bin/python3';
const OUT = join(root, process.env.SHM_OUT || 'out');
const require = createRequire(import.meta.url);
const { decodeNpy } = require(join(OUT, 'extension/core/formats/npy.js'));
const { decodeArrow } = require(join(OUT, 'extension/core/formats/arrow.js'));
const { compileGlob } = require(join(OUT, 'extension/core/glob.js'));
const { holdersIndex } = require(join(OUT, 'extension/core/catalog.js'));
const { scanHolders } = require(join(OUT, 'extension/native.js'));
const { arrowFile, FileBlock, refooter } = require(join(OUT, 'test/fixtures/arrow.js'));

const dir = `/dev/shm/shmi_bench_decoders_${process.pid}_${randomBytes(4).toString('hex')}`;
let holder = null;
function cleanup() {
  holder?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
onExit(cleanup);

const now = () => Number(process.hrtime.bigint()) / 1e6;
/** Runs fn RUNS times; prints the median wall time (min, max) and the median CPU time of this process (of it, in the kernel). */
async function timed(label, fn, check) {
  const ms = [];
  const cpu = [];
  const sys = [];
  let last;
  for (let i = 0; i < RUNS; i++) {
    const c0 = process.cpuUsage();
    const t0 = now();
    last = await fn();
    ms.push(now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    sys.push(c.system / 1000);
  }
  if (check) check(last);
  const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const f = (x) => x.toFixed(2).padStart(8);
  console.log(`${label.padEnd(78)} median ${f(med(ms))} ms (min ${f(Math.min(...ms))}, max ${f(Math.max(...ms))}); CPU ${f(med(cpu))} ms (kernel ${f(med(sys))})`);
  return last;
}

/** An NPY v2 file whose header is exactly `headerLen` bytes: a structured dtype of many fields. */
function npyWithHeader(headerLen) {
  const fields = [];
  let text = '';
  for (let k = 0; ; k++) {
    const next = `{'descr': [${[...fields, `('f${k}', '<f8')`].join(', ')}], 'fortran_order': False, 'shape': (1,), }`;
    if (next.length + 1 > headerLen) break;
    fields.push(`('f${k}', '<f8')`);
    if (k % 1000 === 0 && next.length > headerLen * 0.9) {
      // close to the end: grow one at a time
    } else if (next.length < headerLen * 0.9) {
      // far from it: add many at once (the header text is rebuilt only now and then)
      for (let j = 0; j < 500; j++) fields.push(`('f${++k}', '<f8')`);
    }
    text = `{'descr': [${fields.join(', ')}], 'fortran_order': False, 'shape': (1,), }`;
  }
  const header = Buffer.from(text.padEnd(headerLen - 1, ' ') + '\n', 'latin1');
  const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 0, 0, 0, 0]);
  pre.writeUInt32LE(headerLen, 8);
  return { bytes: Buffer.concat([pre, header, Buffer.alloc(fields.length * 8)]), fields: fields.length };
}

function fileBytes(b) {
  return { size: b.length, head: b, tail: undefined, tailOffset: undefined };
}
const readOf = (b) => async (o, n) => b.subarray(o, o + n);

async function benchNpy() {
  const cap = 1 << 20;
  const { bytes, fields } = npyWithHeader(cap);
  await timed(
    `NPY header at the cap (${cap} bytes, ${fields} fields, ${2 * fields} strings)`,
    () => decodeNpy(fileBytes(bytes), readOf(bytes)),
    (d) => {
      if (d.error !== null || d.dtype !== 'structured') throw new Error(`decoded wrongly: ${JSON.stringify(d).slice(0, 200)}`);
    },
  );
  const big = Buffer.concat([bytes.subarray(0, 8), Buffer.from([1, 0, 0x10, 0])]);
  await timed(
    'NPY header over the cap (1 MiB + 1): refused before reading',
    () => decodeNpy(fileBytes(big), readOf(big)),
    (d) => {
      if (!/absurd|limit/.test(d.error ?? '')) throw new Error(`not refused: ${d.error}`);
    },
  );
}

async function benchGlob() {
  const name = 'a'.repeat(200);
  const cases = [
    ['*a*a*a*a*a*a*b', name, false],
    ['*a*a*a*a*a*a*a', name, true],
    ['*?*?*?*?*?*?*[b]', name, false],
    ['*' + 'a'.repeat(100) + 'b*', name, false],
  ];
  for (const [pattern, s, want] of cases) {
    await timed(
      `glob '${pattern.length > 24 ? pattern.slice(0, 21) + '...' : pattern}' on a ${s.length}-character name (compile + match)`,
      () => compileGlob(pattern).test(s),
      (r) => {
        if (r !== want) throw new Error(`${pattern}: ${r}, expected ${want}`);
      },
    );
  }
}

async function benchHolders() {
  mkdirSync(dir, { mode: 0o700 });
  const t0 = now();
  holder = spawn(PYTHON, [join(root, 'bench', 'map_files.py'), dir, String(FILES)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const pid = await new Promise((res, rej) => {
    let out = '';
    holder.stdout.on('data', (d) => {
      out += d;
      const m = /ready (\d+)/.exec(out);
      if (m) res(Number(m[1]));
    });
    holder.on('exit', (code) => rej(new Error(`map_files.py exited ${code}`)));
  });
  console.log(`one process (pid ${pid}) maps ${FILES} files of ${dir} (made in ${(now() - t0).toFixed(0)} ms)`);
  const dev = statSync(dir).dev;
  // The kernel's share, for comparison: that one process's maps text read whole, on one thread
  // (the scan walks it with PROCMAP_QUERY on every thread of the pool instead, native/src/scan.cc).
  await timed(`/proc/${pid}/maps read whole on one thread (the text the kernel writes for it)`, () => readFileSync(`/proc/${pid}/maps`).length);
  let scan;
  await timed(
    `holder scan of /proc for that folder's device (${FILES} mapped files)`,
    async () => (scan = await scanHolders([dev])),
    (s) => {
      const p = s.processes.find((x) => x.pid === pid);
      if (!p || p.maps.length !== FILES) throw new Error(`the scan saw ${p?.maps.length ?? 0} of the ${FILES} mappings`);
    },
  );
  await timed(
    `holder index from that scan (${scan.processes.reduce((n, p) => n + p.maps.length, 0)} mappings)`,
    () => holdersIndex(scan),
    (idx) => {
      if (idx.size < FILES) throw new Error(`index holds ${idx.size} files`);
    },
  );
  holder.stdin.end();
}

async function benchArrow() {
  const good = arrowFile(2000, 8);
  await timed(
    `Arrow file, 2000 record batches (${good.length} bytes): every block header read`,
    () => decodeArrow(fileBytes(good), readOf(good)),
    (d) => {
      if (d.error !== null || d.details.rows !== 16000) throw new Error(`decoded wrongly: ${d.error} rows ${d.details?.rows}`);
    },
  );
  // One batch of 2 Mi doubles (16 MiB); the footer lists 2000 blocks, each that whole region as "metadata".
  const one = arrowFile(1, 2 * 1024 * 1024);
  const bad = refooter(one, (blocks) => {
    const b = blocks[0];
    return Array.from({ length: 2000 }, () => new FileBlock(b.metaDataLength + b.bodyLength, 0, b.offset));
  });
  await timed(
    'Arrow file whose 2000 footer blocks all cover one 16 MiB region: rejected',
    () => decodeArrow(fileBytes(bad), readOf(bad)),
    (d) => {
      if (!/overlaps/.test(d.error ?? '')) throw new Error(`not rejected: ${d.error}`);
    },
  );
}

console.log(
  `load average before: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}  (2-core machine shared with other work: noise shows as max)`,
);
await benchNpy();
await benchGlob();
await benchArrow();
await benchHolders();
console.log(
  `load average after: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
cleanup();
