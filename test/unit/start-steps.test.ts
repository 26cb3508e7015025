/**
 * Issue #12 item 11: `npm start`'s steps (scripts/start-steps.mjs, driven in a child Node
 * process as start.mjs drives it). Another apt's lock is a real fcntl lock the test holds
 * (python3's fcntl.lockf) on lock files of its own (SHM_START_APT_LOCKS): the step says
 * who holds it and waits; Ctrl+C while waiting says "stopping…" and stops; an apt-get
 * install is let finish. No package is installed: SHM_START_APT_GET names a script of the
 * test's that prints pages of warnings (they go to the log, not the terminal) and records
 * the arguments it was given. A failure is one labelled line and the log's name.
 */
import * as assert from 'assert';
import { execFileSync, spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const STEPS = path.join(ROOT, 'scripts', 'start-steps.mjs');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What start.mjs does for a missing package, alone. */
const DRIVER = `
import { Steps } from ${JSON.stringify(STEPS)};
const steps = new Steps();
await steps.step('installing python3-numpy with apt-get', () => steps.aptInstall(['python3-numpy']));
console.log('next step');
`;

interface Driver {
  proc: ChildProcess;
  out: () => string;
  err: () => string;
  exit: Promise<number | null>;
}

describe('npm start: steps, apt lock, Ctrl+C', function () {
  this.timeout(60_000);
  let tmp = '';
  let locks: string[] = [];
  let holder: ChildProcess | undefined;

  before(function () {
    if (process.getuid?.() !== 0) this.skip(); // apt-get runs as root only; as another user the step says what to run
  });
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-start-'));
    locks = [path.join(tmp, 'lock-frontend'), path.join(tmp, 'lock')];
    // A stand-in for apt-get: records its arguments, prints 200 warning lines, sleeps FAKE_SLEEP, exits FAKE_RC.
    fs.writeFileSync(
      path.join(tmp, 'apt-get'),
      `#!/bin/sh\necho "$*" >> ${tmp}/apt-args\ni=0; while [ $i -lt 200 ]; do echo "W: chatter line $i"; i=$((i+1)); done\n` +
        `sleep \${FAKE_SLEEP:-0}\n[ "\${FAKE_RC:-0}" = 0 ] || echo "E: Unable to locate package python3-numpy" >&2\nexit \${FAKE_RC:-0}\n`,
      { mode: 0o755 },
    );
  });
  afterEach(() => {
    holder?.kill('SIGKILL');
    holder = undefined;
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** Takes an fcntl write lock on `file` in a python3 process (as dpkg does); released when its stdin closes. */
  async function holdLock(file: string): Promise<ChildProcess> {
    const p = spawn(
      '/usr/bin/python3',
      [
        '-c',
        'import fcntl, os, sys\nfd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o640)\nfcntl.lockf(fd, fcntl.LOCK_EX)\nprint("locked", flush=True)\nsys.stdin.read()',
        file,
      ],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    await new Promise<void>((r) => p.stdout!.on('data', (d: Buffer) => d.toString().includes('locked') && r()));
    holder = p;
    return p;
  }

  function drive(env: Record<string, string> = {}): Driver {
    const proc = spawn(process.execPath, ['--input-type=module', '-e', DRIVER], {
      env: {
        ...process.env,
        SHM_START_LOG: path.join(tmp, 'start.log'),
        SHM_START_APT_LOCKS: locks.join(':'),
        SHM_START_APT_GET: path.join(tmp, 'apt-get'),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exit = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
    return { proc, out: () => out, err: () => err, exit };
  }

  async function until(what: string, f: () => boolean, ms = 20_000): Promise<void> {
    const t0 = Date.now();
    while (!f()) {
      assert.ok(Date.now() - t0 < ms, `timed out waiting for ${what}`);
      await sleep(20);
    }
  }

  const args = () => (fs.existsSync(path.join(tmp, 'apt-args')) ? fs.readFileSync(path.join(tmp, 'apt-args'), 'utf8') : '');

  it('another apt holds the lock: says who, waits (apt-get not run meanwhile), then installs; a few lines on the terminal, everything in the log', async () => {
    const lock = await holdLock(locks[0]);
    const d = drive();
    await until('the waiting note', () => d.out().includes('waiting for apt'));
    assert.strictEqual(d.out(), `installing python3-numpy with apt-get…\n  waiting for apt: ${locks[0]} is held by python3 (pid ${lock.pid}); Ctrl+C stops\n`);
    await sleep(1500);
    assert.strictEqual(args(), '', 'apt-get waits for the lock');
    lock.stdin!.end();
    assert.strictEqual(await d.exit, 0, d.err());
    assert.match(d.out(), /^installing python3-numpy with apt-get…\n {2}waiting for apt: .*\n {2}done \(\d+\.\d s\)\nnext step\n$/);
    assert.strictEqual(d.err(), '');
    assert.strictEqual(args(), '-q -o DPkg::Lock::Timeout=3600 update\n-q -o DPkg::Lock::Timeout=3600 install -y --no-install-recommends python3-numpy\n');
    const log = fs.readFileSync(path.join(tmp, 'start.log'), 'utf8');
    assert.strictEqual(log.match(/^W: chatter line \d+$/gm)?.length, 400, 'both runs of apt-get, in full, in the log');
  });

  it('a free lock: no waiting note; apt-get failing is one labelled line with its error and the log file, no stack trace', async () => {
    const d = drive({ FAKE_RC: '100' });
    assert.strictEqual(await d.exit, 1);
    assert.strictEqual(
      d.out(),
      `installing python3-numpy with apt-get… failed: apt-get exited with 100: E: Unable to locate package python3-numpy\nfull log: ${path.join(tmp, 'start.log')}\n`,
    );
    assert.strictEqual(d.err(), '');
  });

  it('Ctrl+C while waiting for the lock: "stopping…", stopped at once, apt-get never run', async () => {
    await holdLock(locks[1]);
    const d = drive();
    await until('the waiting note', () => d.out().includes('waiting for apt'));
    const t0 = Date.now();
    d.proc.kill('SIGINT');
    assert.strictEqual(await d.exit, 0);
    assert.ok(Date.now() - t0 < 3000, `stopped in ${Date.now() - t0} ms`);
    assert.match(d.out(), /Ctrl\+C stops\nstopping…\nstopped\.\n$/);
    assert.strictEqual(d.err(), '');
    assert.strictEqual(args(), '');
  });

  it('Ctrl+C during apt-get: "stopping…", apt-get is let finish (dpkg never left half-done), then it stops', async () => {
    const d = drive({ FAKE_SLEEP: '2' });
    await until('apt-get running', () => args().length > 0);
    d.proc.kill('SIGINT');
    await until('the stopping line', () => d.out().includes('stopping'));
    assert.match(d.out(), /stopping… \(letting apt-get finish first, so nothing is left half-installed\)\n$/);
    assert.strictEqual(await d.exit, 0);
    assert.match(d.out(), /stopped\.\n$/);
    assert.doesNotMatch(d.out(), /next step/);
    assert.strictEqual(args().split('\n').filter(Boolean).length, 1, 'the update ran to its end; the install never started');
  });
});

describe("npm start: its log file is the user's own, never a FIFO or a symlink's target", function () {
  this.timeout(30_000);
  let tmp = '';
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-startlog-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** Constructs Steps as start.mjs does (then a failing step, whose cleanup must run); its stdout and exit code. */
  function construct(env: Record<string, string | undefined>): Promise<{ out: string; code: number | null; ms: number }> {
    const driver = `
import { Steps } from ${JSON.stringify(STEPS)};
let steps;
try { steps = new Steps(); } catch (e) { console.log('refused: ' + e.message); process.exit(3); }
console.log('log: ' + steps.logFile);
steps.stopWith(async () => console.log('cleaned up'));
await steps.step('failing', async () => { throw new Error('no'); });
`;
    const t0 = Date.now();
    const e = { ...process.env, ...env };
    for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
    const proc = spawn(process.execPath, ['--input-type=module', '-e', driver], { env: e, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    return new Promise((r) => proc.on('exit', (code) => (clearTimeout(timer), r({ out, code, ms: Date.now() - t0 }))));
  }

  it('a FIFO at the log path is refused at once (no hang); a symlink there is not followed and its target is untouched', async () => {
    const fifo = path.join(tmp, 'fifo.log');
    execFileSync('mkfifo', [fifo]);
    const f = await construct({ SHM_START_LOG: fifo });
    assert.strictEqual(f.code, 3, f.out);
    assert.match(f.out, /^refused: the log file .*fifo\.log is a FIFO/);
    const target = path.join(tmp, 'precious');
    fs.writeFileSync(target, 'keep me');
    fs.symlinkSync(target, path.join(tmp, 'link.log'));
    const l = await construct({ SHM_START_LOG: path.join(tmp, 'link.log') });
    assert.strictEqual(l.code, 3, l.out);
    assert.match(l.out, /symbolic link; not followed/);
    assert.strictEqual(fs.readFileSync(target, 'utf8'), 'keep me');
  });

  it('by default the log is in the private state folder ($XDG_STATE_HOME/shm-inspector), not /tmp; a failed step runs the cleanup', async () => {
    const state = path.join(tmp, 'state');
    const r = await construct({ SHM_START_LOG: undefined, XDG_STATE_HOME: state });
    const log = path.join(state, 'shm-inspector', 'start.log');
    assert.strictEqual(r.code, 1, r.out);
    assert.ok(r.out.startsWith(`log: ${log}\n`), r.out);
    assert.match(r.out, /failed: no\nfull log: .*\ncleaned up\n$/);
    assert.strictEqual(fs.statSync(path.dirname(log)).mode & 0o777, 0o700);
    assert.strictEqual(fs.statSync(log).mode & 0o777, 0o600);
    assert.match(fs.readFileSync(log, 'utf8'), /=== failing/);
  });
});
