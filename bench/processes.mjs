// Benchmark for issue #14 (processes, fork families, copied since fork). Prints figures;
// not part of npm test. In one run:
//   1. the whole-machine table with --procs processes (default 500) running, --python of them
//      (default 200) Python with numpy loaded (20 parents each forking pool workers; the rest
//      `sleep`): the in-process native scan and the full report (families + estimate), and
//      `shm-inspector ps --json` wall time beside `smem` (Debian's, whole-machine table);
//   2. exact copied-since-fork (pagemap) for 4 children of a --parent-gib (default 8) GiB parent;
//   3. the longest the main thread went without running a timer during all of it.
//
//   node scripts/build.mjs && node bench/processes.mjs [--procs 500] [--python 200] [--parent-gib 8] [--runs 5]
//
// Every process it starts is killed at the end (also on failure or Ctrl-C).
//
// Measured 2026-12-03 (main, 5 runs, load average ~3, 507 processes): the native scan median 44.8 ms (CPU 87.4 ms,
// 75.6 ms of it in the kernel's smaps_rollup, spread over the 2 CPUs); the full report 123.7 ms; `ps --json` 309.7 ms
// against smem's 808.7 ms (2.6x); exact copied-since-fork for 4 children of an 8 GiB parent: the pagemap pass 31.5 ms,
// scan + pass 105.5 ms; the main thread's longest gap 17.8 ms.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({
  options: {
    procs: { type: 'string', default: '500' },
    python: { type: 'string', default: '200' },
    'parent-gib': { type: 'string', default: '8' },
    runs: { type: 'string', default: '5' },
  },
});
const PROCS = Number(opts.procs);
const PY = Number(opts.python);
const PARENT_GIB = Number(opts['parent-gib']);
const RUNS = Number(opts.runs);
const PYTHON = process.env.SHM_TEST_PYTHON ?? '/usr/bin/python3';
const CLI = join(root, 'dist', 'cli.js');
const OUT = process.env.SHM_OUT || 'out';
const require = createRequire(import.meta.url);
const { scanProcesses, memoryReport, exactAvailable } = require(join(root, OUT, 'extension', 'core', 'processes', 'scan.js'));
const { startFamily } = require(join(root, OUT, 'test', 'fixtures', 'families.js'));

const started = [];
const families = [];
function cleanup() {
  for (const c of started) {
    try {
      c.kill('SIGKILL');
    } catch {}
  }
}
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

// The main thread's longest gap between 1 ms timer ticks: how long it was blocked.
let maxGap = 0;
let last = performance.now();
const tick = () => {
  const now = performance.now();
  maxGap = Math.max(maxGap, now - last - 1);
  last = now;
};
let ticker = setInterval(tick, 1);
// CPU time of the main thread itself (its schedstat, ns): the most any synchronous part could have blocked it.
const mainCpuMs = () => Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
const blockedDuring = async (fn) => {
  maxGap = 0;
  last = performance.now();
  const r = await fn();
  return [r, maxGap];
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => `${x.toFixed(1)} ms`;

function waitLine(child) {
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) resolve(buf);
    });
    child.once('exit', (c) => reject(new Error(`exited ${c}`)));
  });
}

async function main() {
  console.log(
    `load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}; exact counting ${exactAvailable() ? 'available' : 'NOT available (no CAP_SYS_ADMIN)'}`,
  );
  const before = (await scanProcesses()).processes.length;
  // 1. The crowd: PY Python processes with numpy (PARENTS parents, each forking workers), the rest sleep.
  const parents = Math.min(20, PY);
  const perParent = Math.floor(PY / parents) - 1;
  const code = `import numpy, os, sys
kids = int(sys.argv[1])
for i in range(kids):
    if os.fork() == 0:
        sys.stdin.buffer.read(); os._exit(0)
print('ready', flush=True)
sys.stdin.buffer.read()`;
  const ready = [];
  for (let i = 0; i < parents; i++) {
    const kids = i < PY - parents * (perParent + 1) ? perParent + 1 : perParent;
    const c = spawn(PYTHON, ['-c', code, String(kids)], { stdio: ['pipe', 'pipe', 'inherit'] });
    started.push(c);
    ready.push(waitLine(c));
  }
  await Promise.all(ready);
  const sleepers = Math.max(0, PROCS - PY);
  for (let i = 0; i < sleepers; i++) started.push(spawn('sleep', ['3600'], { stdio: 'ignore' }));
  await new Promise((r) => setTimeout(r, 500));
  // The same machine doing nothing of ours: how long the main thread waits for a CPU anyway
  // (2 cores shared with other work: a gap is not always a block).
  const [, idleGap] = await blockedDuring(() => new Promise((r) => setTimeout(r, 3000)));
  const scan0 = await scanProcesses();
  console.log(
    `processes: ${scan0.processes.length} inspectable (${before} before this bench; +${PY} Python with numpy, +${sleepers} sleep), ${scan0.uninspectable} not inspectable`,
  );

  // The synchronous JavaScript of a report (what could block an extension host): families and sums.
  const { findFamilies: ff } = require(join(root, OUT, 'extension', 'core', 'processes', 'scan.js'));
  const syncTimes = [];
  for (let i = 0; i < RUNS; i++) {
    const s = await scanProcesses();
    const t = performance.now();
    ff(s);
    syncTimes.push(performance.now() - t);
  }
  const scanTimes = [];
  const scanCpu = [];
  const reportTimes = [];
  let scanBlock = 0;
  for (let i = 0; i < RUNS; i++) {
    let t = performance.now();
    const c0 = process.cpuUsage();
    const [, b1] = await blockedDuring(() => scanProcesses());
    scanTimes.push(performance.now() - t);
    const c = process.cpuUsage(c0);
    scanCpu.push([(c.user + c.system) / 1000, c.system / 1000]);
    t = performance.now();
    const [rep, b2] = await blockedDuring(() => memoryReport({ exact: false }));
    reportTimes.push(performance.now() - t);
    scanBlock = Math.max(scanBlock, b1, b2);
    if (i === 0) console.log(`  ${rep.families.length} families, ${rep.processes.filter((p) => p.inherited).length} forked children measured (estimate)`);
  }
  // The main thread's own CPU time for one whole report, with the 1 ms ticker stopped (it costs CPU itself).
  clearInterval(ticker);
  const cpuTimes = [];
  for (let i = 0; i < RUNS; i++) {
    const c0 = mainCpuMs();
    await memoryReport({ exact: i % 2 === 1 });
    cpuTimes.push(mainCpuMs() - c0);
  }
  ticker = setInterval(tick, 1);
  console.log(
    `main thread's own CPU time for one whole report (estimate or exact): max ${ms(Math.max(...cpuTimes))} (runs: ${cpuTimes.map((x) => x.toFixed(1)).join(', ')})`,
  );
  console.log(
    `in-process native scan (scanProcesses): median ${ms(median(scanTimes))} (runs: ${scanTimes.map((x) => x.toFixed(0)).join(', ')}); CPU median ${ms(median(scanCpu.map((x) => x[0])))}, of it in the kernel ${ms(median(scanCpu.map((x) => x[1])))}`,
  );
  // The floor: the kernel's own time to produce every process's smaps_rollup (a walk of its page
  // tables, what PSS costs), read one after the other here; the scan spreads it over the pool's threads.
  const floor = [];
  for (let i = 0; i < RUNS; i++) {
    const c0 = process.cpuUsage();
    for (const p of scan0.processes) {
      try {
        readFileSync(`/proc/${p.pid}/smaps_rollup`);
      } catch {}
    }
    const c = process.cpuUsage(c0);
    floor.push((c.user + c.system) / 1000);
  }
  console.log(
    `  the kernel's smaps_rollup alone, every listed process one after the other: CPU median ${ms(median(floor))} (/ ${availableParallelism()} CPUs: ${ms(median(floor) / availableParallelism())})`,
  );
  console.log(`in-process full report, families + estimate (memoryReport): median ${ms(median(reportTimes))}; its synchronous family pass ${ms(median(syncTimes))}`);

  const wall = (cmd, args) => {
    const t = performance.now();
    const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
    return performance.now() - t;
  };
  const cliTimes = [];
  const cliExactTimes = [];
  const smemTimes = [];
  for (let i = 0; i < RUNS; i++) {
    cliTimes.push(wall(process.execPath, [CLI, 'ps', '--json']));
    cliExactTimes.push(wall(process.execPath, [CLI, 'ps', '--json', '--exact']));
    smemTimes.push(wall('smem', []));
  }
  const cli = median(cliTimes);
  const sm = median(smemTimes);
  console.log(`CLI 'shm-inspector ps --json' wall: median ${ms(cli)}; with --exact: ${ms(median(cliExactTimes))}`);
  console.log(`smem (whole-machine table) wall:     median ${ms(sm)}  → CLI is ${(sm / cli).toFixed(1)}x faster`);

  // 2. Exact copied-since-fork for 4 children of a big parent.
  const fam = await startFamily(PARENT_GIB * 1024, 1000, ['read', 'idle', 'write:10000', 'idle']);
  families.push(fam);
  try {
    const exactTimes = [];
    let exactBlock = 0;
    let rep;
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      const [r, b] = await blockedDuring(() => memoryReport({ exact: true, family: fam.info.pid }));
      exactTimes.push(performance.now() - t);
      exactBlock = Math.max(exactBlock, b);
      rep = r;
    }
    const f = rep.families[0];
    // The comparison alone (the report also scans the machine): the same pass through measureInherited.
    const { findFamilies, measureInherited } = require(join(root, OUT, 'extension', 'core', 'processes', 'scan.js'));
    const s = await scanProcesses();
    const fs0 = findFamilies(s).filter((x) => x.root === fam.info.pid);
    const passTimes = [];
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      const [, b] = await blockedDuring(() => measureInherited(s.processes, fs0, { exact: true }));
      passTimes.push(performance.now() - t);
      exactBlock = Math.max(exactBlock, b);
    }
    console.log(
      `exact copied-since-fork, 4 children of a ${PARENT_GIB} GiB parent: pagemap pass median ${ms(median(passTimes))}; whole report (scan + pass) median ${ms(median(exactTimes))}` +
        ` — shared ${(f.sharedBytes / 2 ** 30).toFixed(2)} GiB, copied ${(f.copiedBytes / 2 ** 20).toFixed(1)} MiB, exact ${f.exact}`,
    );
    console.log(
      `load average after: ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
    console.log(
      `longest main-thread gap between 1 ms timer ticks: ${ms(scanBlock)} during the whole-machine scans, ${ms(exactBlock)} during the exact passes; ${ms(idleGap)} over 3 s of doing nothing (the machine's own scheduling)`,
    );
  } finally {
    await fam.stop();
  }
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => {
    clearInterval(ticker);
    cleanup();
  });
