// Benchmark: System V segments across IPC namespaces (issue #15). Makes NS private IPC namespaces
// (unshare -i; default 10) of N segments each (default 1,000; an .npy header and 16 float32 in each,
// one in ten kept attached by the namespace's own Python process), then times
//   - the other namespaces' part of the System V scan in process (listForeignSysv: every namespace
//     entered by a thread of its own, its table and holders), without and with the headers decoded;
//   - the Segments view's whole scan (scanEverything: every kind, what one refresh of the tree waits for);
//   - this namespace's System V scan beside it (listSysv, table + holders; target under 5 ms);
//   - `shm-inspector list --kind sysv --json` (this namespace and the NS others, decoded) against a
//     bare `node -e 0` (target: within 50 ms), with `lsipc -m` and `ipcs -m` (this namespace only) beside it.
// Prints figures; not part of npm test. Each namespace, with its segments, goes when its process is
// killed at the end (also on failure or Ctrl-C); nothing else is touched.
//
//   node scripts/build.mjs && node bench/kinds.mjs [--namespaces NS] [--count N] [--runs R]
import { spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, onExit, timeBeside, timeProcess } from './common.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({
  options: { namespaces: { type: 'string', default: '10' }, count: { type: 'string', default: '1000' }, runs: { type: 'string', default: '9' } },
});
const NS = Number(opts.namespaces);
const COUNT = Number(opts.count);
const RUNS = Number(opts.runs);
const PYTHON = process.env.SHM_TEST_PYTHON ?? '/usr/bin/python3';
const CLI = join(root, 'dist', 'cli.js');
const OUT = process.env.SHM_OUT || 'out';
const require = createRequire(import.meta.url);

const MAKER = `
import ctypes, io, sys, numpy as np
libc = ctypes.CDLL(None, use_errno=True)
libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmat.restype = ctypes.c_void_p
libc.shmdt.argtypes = [ctypes.c_void_p]
b = io.BytesIO(); np.save(b, np.arange(16, dtype='<f4').reshape(4, 4)); data = b.getvalue()
n = 0
for i in range(int(sys.argv[1])):
    s = libc.shmget(0, len(data), 0o1000 | 0o2000 | 0o600)
    if s < 0: break
    n += 1
    a = libc.shmat(s, None, 0)
    ctypes.memmove(a, data, len(data))
    if i % 10: libc.shmdt(a)
print("ready", n, flush=True)
sys.stdin.read()
`;

const makers = [];
onExit(() => {
  for (const m of makers) m.kill('SIGKILL');
});

const fmt = (x) => x.toFixed(2).padStart(8);

function make(n) {
  return new Promise((resolveMade, reject) => {
    const m = spawn('unshare', ['-i', PYTHON, '-c', MAKER, String(n)], { stdio: ['pipe', 'pipe', 'inherit'] });
    makers.push(m);
    let buf = '';
    m.stdout.on('data', (d) => {
      buf += d.toString();
      const r = /ready (\d+)/.exec(buf);
      if (r) resolveMade({ pid: m.pid, made: Number(r[1]), ns: Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${m.pid}/ns/ipc`))[1]) });
    });
    m.on('exit', (code) => reject(new Error(`maker exited ${code}`)));
  });
}

async function main() {
  const t0 = Date.now();
  const made = [];
  for (let i = 0; i < NS; i++) made.push(await make(COUNT));
  if (made.some((m) => m.made !== COUNT)) throw new Error(`made ${made.map((m) => m.made).join(', ')} segments (kernel.shmmni?)`);
  console.log(`made ${NS} IPC namespaces of ${COUNT} System V segments each in ${Date.now() - t0} ms; one in ten attached by each namespace's process`);
  console.log(
    `load average before: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}  (shared 2-core machine: other work shows as noise)`,
  );

  const ours = new Set(made.map((m) => m.ns));
  const first = JSON.parse(timeProcess(process.execPath, [CLI, 'list', '--kind', 'sysv', '--json']).stdout);
  const seen = first.segments.filter((s) => s.namespace && ours.has(s.namespace.id));
  const decoded = seen.filter((s) => s.format === 'npy' && s.shape?.join() === '4,4').length;
  const held = seen.filter((s) => s.holders.length === 1).length;
  if (seen.length !== NS * COUNT || decoded !== NS * COUNT || held !== (NS * COUNT) / 10) {
    throw new Error(`CLI saw ${seen.length} of ours, ${decoded} decoded, ${held} held (expected ${NS * COUNT}, ${NS * COUNT}, ${(NS * COUNT) / 10})`);
  }

  const { listForeignSysv } = require(join(root, OUT, 'extension', 'core', 'kinds', 'ipcns.js'));
  const { listSysv } = require(join(root, OUT, 'extension', 'core', 'sysv.js'));
  const { scanEverything } = require(join(root, OUT, 'extension', 'core', 'kinds', 'scan.js'));
  const own = [],
    foreign = [],
    foreignDecoded = [],
    whole = [];
  await listForeignSysv({ decode: false });
  for (let i = 0; i < RUNS; i++) {
    let t = performance.now();
    await listSysv({ decode: false });
    own.push(performance.now() - t);
    t = performance.now();
    await listForeignSysv({ decode: false });
    foreign.push(performance.now() - t);
    t = performance.now();
    await listForeignSysv();
    foreignDecoded.push(performance.now() - t);
    t = performance.now();
    await scanEverything(['/dev/shm']);
    whole.push(performance.now() - t);
  }
  const t = timeBeside(RUNS, [
    ['cli', process.execPath, [CLI, 'list', '--kind', 'sysv', '--json']],
    ['node', process.execPath, ['-e', '0']],
    ['lsipc', 'lsipc', ['-m']],
    ['ipcs', 'ipcs', ['-m']],
  ]);
  const mCli = t.cli.median,
    mNode = t.node.median,
    mOwn = median(own);
  console.log(`\nmedians of ${RUNS} runs, ${NS} namespaces x ${COUNT} segments (ms):`);
  console.log(`${fmt(mOwn)}  this namespace's System V scan in process (table + holders)   target < 5 ms: ${mOwn < 5 ? 'met' : 'MISSED'}`);
  console.log(`${fmt(median(foreign))}  the ${NS} other namespaces, each entered by its own thread (tables + holders)`);
  console.log(`${fmt(median(foreignDecoded))}  the same with every header decoded through a read-only attach there`);
  console.log(`${fmt(median(whole))}  the Segments view's whole scan, every kind at once (scanEverything: /dev/shm, System V here and there, memfd, containers)`);
  console.log(`${fmt(mCli)}  shm-inspector list --kind sysv --json (whole process, every namespace, decoded)`);
  console.log(`${fmt(mNode)}  node -e 0`);
  console.log(`${fmt(mCli - mNode)}  difference   target < 50 ms: ${mCli - mNode < 50 ? 'met' : 'MISSED'}`);
  console.log(`${fmt(t.lsipc.median)}  lsipc -m (this namespace only)`);
  console.log(`${fmt(t.ipcs.median)}  ipcs -m (this namespace only)`);
  console.log(`CLI runs: ${t.cli.runs.map((x) => x.toFixed(0)).join(' ')}`);
  console.log(
    `load average after: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
}

main()
  .catch((e) => {
    console.error(`bench failed: ${e instanceof Error ? e.stack : e}`);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const m of makers) m.kill('SIGKILL');
  });
