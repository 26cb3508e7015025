// Helpers every benchmark uses: cleanup on any exit, the median, and timing a child process.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

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
