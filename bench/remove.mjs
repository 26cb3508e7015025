// Benchmark for issue #11 items 1 and 5: `shm-inspector clear` removing only planned inodes.
//   1. clear --yes over COUNT (default 50,000) empty segments: the dry run (listing and
//      planning) and the whole clear, against Python unlinking the same names one by one
//      (os.unlink: by name, unchecked), the floor for removal through the file system.
//   2. The race of the issue: TRIALS (default 8) clears of 2,000 entries while
//      test/fixtures/rename_racer.py exchanges and replaces names; prints, per trial, how many
//      names were given to other files before removal (left alone), how many files not planned
//      disappeared (must be 0) and how many planned ones were removed.
// Prints figures; not part of npm test.
//
//   node scripts/build.mjs && node bench/remove.mjs [--count N] [--runs R] [--trials T]
//
// Everything goes to a fresh, uniquely named directory under /dev/shm, removed at the end
// (also on failure or Ctrl-C). Nothing else in /dev/shm is touched.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLI, median, onExit, PYTHON, ROOT, timeProcess } from './common.mjs';

const { values: opts } = parseArgs({
  options: { count: { type: 'string', default: '50000' }, runs: { type: 'string', default: '3' }, trials: { type: 'string', default: '8' } },
});
const COUNT = Number(opts.count);
const RUNS = Number(opts.runs);
const TRIALS = Number(opts.trials);
const RACER = join(ROOT, 'test', 'fixtures', 'rename_racer.py');

const base = `/dev/shm/shmi_bench_remove_${process.pid}_${randomBytes(4).toString('hex')}`;
function cleanup() {
  rmSync(base, { recursive: true, force: true });
}
onExit(cleanup);

function makeFiles(d, n) {
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d, { recursive: true });
  spawnSync(PYTHON, ['-c', `import os,sys\nfor i in range(${n}): open(os.path.join(sys.argv[1], 'psm_%06d' % i), 'wb').close()`, d]);
}

function throughput() {
  const d = join(base, 'many');
  const plan = [];
  const clear = [];
  const py = [];
  for (let r = 0; r < RUNS; r++) {
    makeFiles(d, COUNT);
    plan.push(timeProcess(process.execPath, [CLI, 'clear', '--glob', 'psm_*', '--json', '--dir', d]).ms);
    const run = timeProcess(process.execPath, [CLI, 'clear', '--glob', 'psm_*', '--yes', '--json', '--dir', d]);
    const doc = JSON.parse(run.stdout);
    if (doc.removed.length !== COUNT || readdirSync(d).length !== 0) throw new Error(`clear removed ${doc.removed.length} of ${COUNT}`);
    clear.push(run.ms);
    makeFiles(d, COUNT);
    py.push(timeProcess(PYTHON, ['-c', 'import os,sys\nd=sys.argv[1]\nfor n in os.listdir(d): os.unlink(os.path.join(d, n))', d]).ms);
  }
  const p = median(plan);
  const c = median(clear);
  console.log(`clear over ${COUNT} empty segments (median of ${RUNS}; load ${loadavg()[0].toFixed(1)}):`);
  console.log(`  dry run (start, list, plan):      ${p.toFixed(0).padStart(6)} ms`);
  console.log(
    `  clear --yes (the same + removal): ${c.toFixed(0).padStart(6)} ms  -> removal ~${(c - p).toFixed(0)} ms, ~${Math.round((COUNT * 1000) / Math.max(1, c - p))} entries/s`,
  );
  console.log(`  python os.unlink by name:         ${median(py).toFixed(0).padStart(6)} ms  (unchecked; the floor)`);
}

async function race(trial) {
  const d = join(base, `race${trial}`);
  mkdirSync(d, { recursive: true });
  const PAIRS = 1500;
  const REPLACES = 500;
  const old = new Date(Date.now() - 3600e3);
  const planned = new Map();
  for (let i = 0; i < PAIRS + REPLACES; i++) {
    const p = join(d, `f${String(i).padStart(5, '0')}`);
    writeFileSync(p, `planned ${i}`);
    utimesSync(p, old, old);
    planned.set(lstatSync(p).ino, p);
  }
  for (let i = 0; i < PAIRS; i++) writeFileSync(join(d, `g${String(i).padStart(5, '0')}`), `bystander ${i}`);
  const inodes = () => new Set(readdirSync(d).map((n) => lstatSync(join(d, n)).ino));
  const before = inodes();
  const log = join(base, `race${trial}.log`);
  const stop = join(base, `race${trial}.stop`);
  const racer = spawn(PYTHON, [RACER, d, String(PAIRS), String(REPLACES), log, stop], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((res) => racer.stdout.on('data', (b) => b.toString().includes('ready') && res()));
  const exited = new Promise((res) => racer.on('exit', res));
  const r = spawnSync(process.execPath, [CLI, 'clear', '--glob', 'f*', '--older-than', '30m', '--yes', '--json', '--dir', d], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  writeFileSync(stop, '');
  await exited;
  const doc = JSON.parse(r.stdout);
  const after = inodes();
  const made = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => Number(l.split(' ')[0]));
  const lost = [...before].filter((i) => !planned.has(i) && !after.has(i)).length + made.filter((i) => !after.has(i)).length;
  const replaced = doc.skipped.filter((s) => /replaced/.test(s.reason)).length;
  console.log(
    `  trial ${trial}: ${String(doc.removed.length).padStart(4)} removed, ${String(replaced).padStart(4)} left alone (name given to another file), ` +
      `${doc.failed.length} displaced, ${lost} files not planned lost`,
  );
  rmSync(d, { recursive: true, force: true });
  return lost;
}

async function main() {
  if (!existsSync(CLI)) throw new Error('build first: node scripts/build.mjs');
  mkdirSync(base);
  throughput();
  console.log(`race: clear of 2000 planned entries while a producer exchanges and replaces names (${TRIALS} trials):`);
  let bad = 0;
  for (let t = 1; t <= TRIALS; t++) if ((await race(t)) > 0) bad++;
  console.log(`  trials that lost a file not planned: ${bad} of ${TRIALS}`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
