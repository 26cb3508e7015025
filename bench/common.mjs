// Helpers every benchmark uses: where the build is, cleanup on any exit, the median, timing a child
// process, the load average, running main, and the System V segments the sysv and kinds benches make;
// the DataFrame-like record batches and the time/memory words of the table benches.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository, the built CLI, and the Python the benches make segments with (Debian's, with numpy). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = join(ROOT, 'dist', 'cli.js');
export const PYTHON = process.env.SHM_TEST_PYTHON ?? '/usr/bin/python3';

const require = createRequire(import.meta.url);
/** A module transpiled by scripts/build.mjs (`out/`, or $SHM_OUT), e.g. requireOut('extension', 'core', 'sysv.js'). */
export function requireOut(...parts) {
  return require(join(ROOT, process.env.SHM_OUT || 'out', ...parts));
}

/** The 1, 5 and 15 minute load averages, `0.52 0.61 0.70` (on a shared machine, other work shows as noise). */
export function loadAverage() {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

/** Runs the bench's `main`: a failure prints its stack and sets exit code 1; `cleanup` runs either way. */
export function runMain(main, cleanup = () => {}) {
  main()
    .catch((e) => {
      console.error(`bench failed: ${e instanceof Error ? e.stack : e}`);
      process.exitCode = 1;
    })
    .finally(cleanup);
}

/** Runs `cleanup` once, when the process exits or is interrupted (SIGINT, SIGTERM, SIGHUP exit 130). */
export function onExit(cleanup) {
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    cleanup();
  };
  process.on('exit', once);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      once();
      process.exit(130);
    });
  }
}

/** The median of `xs` (NaN when empty). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Medians over `runs` alternating runs of each command ([label, cmd, args]), in ms: a CLI timed beside
 * `node -e 0` and the system tools, each run of each in turn so that load drifts hit all alike.
 */
export function timeBeside(runs, commands) {
  const times = commands.map(() => []);
  for (let i = 0; i < runs; i++) commands.forEach(([, cmd, args], k) => times[k].push(timeProcess(cmd, args).ms));
  return Object.fromEntries(commands.map(([label], k) => [label, { median: median(times[k]), runs: times[k] }]));
}

/** Runs `cmd args` to completion; its wall time in ms and its stdout. Throws on a non-zero exit. */
export function timeProcess(cmd, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 30 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 3).join(' ')}${args.length > 3 ? ' ...' : ''} exited ${r.status}: ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

/**
 * Runs one opt-in e2e test (run-all.mjs with `env`: SHM_TEST_LEVELS, SHM_TEST_GREP and the test's own
 * switch) from `root`, and returns the lines of the timing file it writes into the results folder
 * (`file`). Throws, with the end of its output, when the test fails.
 */
export function runTimingTest(root, env, file) {
  const r = spawnSync(process.execPath, [join(root, 'test', 'harness', 'run-all.mjs')], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) {
    process.stdout.write(r.stdout.slice(-4000));
    process.stderr.write(r.stderr.slice(-4000));
    throw new Error(`the timing test failed (exit ${r.status})`);
  }
  return readFileSync(join(root, process.env.SHM_RESULTS ?? 'test-results', file), 'utf8')
    .trim()
    .split('\n');
}

// One process makes N System V segments (an .npy header and 16 float32 in each), prints each shmid,
// attaches one in ten and keeps them attached until its stdin closes or it is killed.
const SYSV_MAKER = `
import ctypes, io, sys, numpy as np
libc = ctypes.CDLL(None, use_errno=True)
libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmat.restype = ctypes.c_void_p
libc.shmdt.argtypes = [ctypes.c_void_p]
b = io.BytesIO(); np.save(b, np.arange(16, dtype='<f4').reshape(4, 4)); data = b.getvalue()
for i in range(int(sys.argv[1])):
    s = libc.shmget(0, len(data), 0o1000 | 0o2000 | 0o600)
    if s < 0: break
    print(s, flush=True)
    a = libc.shmat(s, None, 0)
    ctypes.memmove(a, data, len(data))
    if i % 10: libc.shmdt(a)
print("ready", flush=True)
sys.stdin.read()
`;

/**
 * Starts the maker of `count` System V segments (with `unshare`, in a private IPC namespace of its
 * own: its segments go with it). `ids` fills with the shmids as they are made (for a cleanup, even
 * after a failure); `ready` resolves, once all are made (fewer than asked when kernel.shmmni is
 * reached), to the inode of the maker's IPC namespace.
 */
export function startSysvMaker(count, { unshare = false } = {}) {
  const argv = [PYTHON, '-c', SYSV_MAKER, String(count)];
  if (unshare) argv.unshift('unshare', '-i');
  const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  const ids = [];
  const ready = new Promise((resolveMade, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop();
      for (const l of lines) {
        if (l !== 'ready') ids.push(Number(l));
        else resolveMade(Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${child.pid}/ns/ipc`))[1]));
      }
    });
    child.on('exit', (code) => reject(new Error(`maker exited ${code}`)));
  });
  return { child, ids, ready };
}

/**
 * Checks the CLI's first `list --kind sysv --json` before anything is timed: of the segments `ours`
 * picks, `count` are listed, every one decoded (the maker's 4x4 .npy) and one in ten `held`.
 */
export function checkSysvList(ours, held, count) {
  const doc = JSON.parse(timeProcess(process.execPath, [CLI, 'list', '--kind', 'sysv', '--json']).stdout);
  const seen = doc.segments.filter(ours);
  const decoded = seen.filter((s) => s.format === 'npy' && s.shape?.join() === '4,4').length;
  const h = seen.filter(held).length;
  if (seen.length !== count || decoded !== count || h !== count / 10) {
    throw new Error(`CLI saw ${seen.length} of ours, ${decoded} decoded, ${h} held (expected ${count}, ${count}, ${count / 10})`);
  }
}

/**
 * `shm-inspector list --kind sysv --json` timed beside `node -e 0`, `lsipc -m` and `ipcs -m`
 * (timeBeside, `runs` each); `print` writes their medians (`cli`: what the CLI covers, `tools`:
 * what the system tools do), the 50 ms target and the CLI's runs.
 */
export function timeSysvList(runs) {
  const t = timeBeside(runs, [
    ['cli', process.execPath, [CLI, 'list', '--kind', 'sysv', '--json']],
    ['node', process.execPath, ['-e', '0']],
    ['lsipc', 'lsipc', ['-m']],
    ['ipcs', 'ipcs', ['-m']],
  ]);
  return {
    print(fmt, cli, tools = '') {
      const mCli = t.cli.median;
      const mNode = t.node.median;
      console.log(`${fmt(mCli)}  shm-inspector list --kind sysv --json (whole process, ${cli})`);
      console.log(`${fmt(mNode)}  node -e 0`);
      console.log(`${fmt(mCli - mNode)}  difference   target < 50 ms: ${mCli - mNode < 50 ? 'met' : 'MISSED'}`);
      console.log(`${fmt(t.lsipc.median)}  lsipc -m${tools}`);
      console.log(`${fmt(t.ipcs.median)}  ipcs -m${tools}`);
      console.log(`CLI runs: ${t.cli.runs.map((x) => x.toFixed(0)).join(' ')}`);
    },
  };
}

const FRAME_WORDS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
const frameTypes = new WeakMap();

/**
 * Rows [from, from + n) as one apache-arrow record batch (`A`: the apache-arrow module), columns as
 * a DataFrame has them: an int64 id, six float64 (the first `smooth` of few distinct values, as
 * prices are; the others noise, which LZ4 cannot shrink), an int32, a short string, a category.
 */
export function frameBatch(A, from, n, smooth = 0) {
  if (!frameTypes.has(A))
    frameTypes.set(A, { dictType: new A.Dictionary(new A.Utf8(), new A.Int32(), 0), dictionary: A.vectorFromArray(FRAME_WORDS, new A.Utf8()) });
  const { dictType, dictionary } = frameTypes.get(A);
  const id = new BigInt64Array(n);
  const f = Array.from({ length: 6 }, () => new Float64Array(n));
  const q = new Int32Array(n);
  const offsets = new Int32Array(n + 1);
  const chars = [];
  const cat = new Int32Array(n);
  let len = 0;
  for (let i = 0; i < n; i++) {
    const r = from + i;
    id[i] = BigInt(r);
    for (let k = 0; k < 6; k++) f[k][i] = k < smooth ? Math.round(Math.sin(r / 1000 + k) * 100) / 4 : Math.sin(r * (k + 1)) * 1000;
    q[i] = r % 1000;
    const s = `r${r.toString(36)}`;
    chars.push(s);
    len += s.length;
    offsets[i + 1] = len;
    cat[i] = r % FRAME_WORDS.length;
  }
  const data = Buffer.from(chars.join(''), 'latin1');
  const children = [
    A.makeData({ type: new A.Int64(), length: n, data: id }),
    ...f.map((d) => A.makeData({ type: new A.Float64(), length: n, data: d })),
    A.makeData({ type: new A.Int32(), length: n, data: q }),
    A.makeData({ type: new A.Utf8(), length: n, valueOffsets: offsets, data }),
    A.makeData({ type: dictType, length: n, data: cat, dictionary }),
  ];
  const fields = [
    new A.Field('id', new A.Int64()),
    ...f.map((_, k) => new A.Field(`x${k}`, new A.Float64())),
    new A.Field('qty', new A.Int32()),
    new A.Field('name', new A.Utf8()),
    new A.Field('cat', dictType),
  ];
  return new A.RecordBatch(new A.Schema(fields), A.makeData({ type: new A.Struct(fields), length: n, children }));
}

/** This process's private (anonymous) resident bytes. */
export const anonBytes = () => Number(/RssAnon:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
/** Milliseconds, monotonic. */
export const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
/** `12.3 ms`, `0.45 ms`. */
export const fmtMs = (ms) => `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
/** `12.3 MiB`. */
export const fmtMiB = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
