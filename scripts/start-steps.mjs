// The steps of `npm start`, told in a few lines: each step's label, then "done" or why not.
// Every command's full output goes to a log file whose name is printed. apt's lock, held
// by another apt or dpkg, is waited for with a message (never a failure, never a stack
// trace); Ctrl+C says "stopping…", stops what runs (an apt-get install is let finish, so
// dpkg is never left half-done) and cleans up. scripts/start.mjs uses it; the tests drive it.
import { spawn } from 'node:child_process';
import { closeSync, constants, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** The locks apt and dpkg take (fcntl), in the order apt-get takes them. SHM_START_APT_LOCKS (colon-separated) replaces them. */
export const APT_LOCKS = ['/var/lib/dpkg/lock-frontend', '/var/lib/dpkg/lock', '/var/lib/apt/lists/lock'];

export function aptLocks(env = process.env) {
  return env.SHM_START_APT_LOCKS ? env.SHM_START_APT_LOCKS.split(':').filter(Boolean) : APT_LOCKS;
}

/**
 * Where the full output goes: SHM_START_LOG, else `shm-inspector/start.log` in the user's own
 * state folder ($XDG_STATE_HOME, else ~/.local/state): never a predictable name in a shared /tmp.
 */
export function defaultLogFile(env = process.env) {
  if (env.SHM_START_LOG) return env.SHM_START_LOG;
  const state = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith('/') ? env.XDG_STATE_HOME : join(env.HOME || homedir(), '.local', 'state');
  return join(state, 'shm-inspector', 'start.log');
}

/**
 * Opens the log for writing without ever blocking or following a symlink at its name: a FIFO,
 * a device or a symlink there is refused (an Error saying so), a regular file is truncated once
 * it is known to be one. The default log's folder is made private (0700) when it is missing.
 */
export function openLog(file, { makeDir = false } = {}) {
  if (makeDir) mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const c = constants;
  let fd;
  try {
    fd = openSync(file, c.O_WRONLY | c.O_CREAT | c.O_NOFOLLOW | c.O_NONBLOCK | c.O_CLOEXEC, 0o600);
  } catch (e) {
    if (e?.code === 'ELOOP') throw new Error(`the log file ${file} is a symbolic link; not followed (remove it, or set SHM_START_LOG)`, { cause: e });
    if (e?.code === 'ENXIO') throw new Error(`the log file ${file} is a FIFO with no reader; not used (remove it, or set SHM_START_LOG)`, { cause: e });
    throw new Error(`cannot write the log file ${file}: ${e?.message ?? e}`, { cause: e });
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw new Error(`the log file ${file} is not a regular file; not used (remove it, or set SHM_START_LOG)`);
  }
  ftruncateSync(fd, 0);
  return fd;
}

/** Linux's major and minor numbers of an st_dev, as /proc/locks prints them. */
function devParts(dev) {
  const hi = Math.floor(dev / 2 ** 32);
  const lo = dev >>> 0;
  const major = ((lo >>> 8) & 0xfff) | ((hi & 0xfffff000) >>> 0);
  const minor = (lo & 0xff) | ((lo >>> 12) & 0xfff00);
  return `${major}:${minor}`;
}

function commOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}

/**
 * Who holds a lock (fcntl, OFD or flock) on one of `paths`, from /proc/locks:
 * `{path, pid, comm}` (pid null when the holder is not visible here), or null when none is held.
 */
export function lockHolder(paths) {
  const wanted = new Map();
  for (const p of paths) {
    try {
      const st = statSync(p);
      wanted.set(`${devParts(st.dev)}:${st.ino}`, p);
    } catch {
      // no such lock file: nobody holds it
    }
  }
  if (wanted.size === 0) return null;
  let table;
  try {
    table = readFileSync('/proc/locks', 'utf8');
  } catch {
    return null;
  }
  for (const line of table.split('\n')) {
    // "1: POSIX  ADVISORY  WRITE 1234 fe:00:2146707 0 EOF"; a waiter's line has "->" and holds nothing.
    const m = /^\d+:\s+(\S+)\s+\S+\s+\S+\s+(-?\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/.exec(line);
    if (!m) continue;
    const path = wanted.get(`${parseInt(m[3], 16)}:${parseInt(m[4], 16)}:${m[5]}`);
    if (!path) continue;
    const pid = Number(m[2]) > 0 ? Number(m[2]) : null;
    return { path, pid, comm: pid ? commOf(pid) : null };
  }
  return null;
}

function holderWords(h) {
  if (!h.pid) return `${h.path} is held by another process`;
  return `${h.path} is held by ${h.comm ?? 'a process'} (pid ${h.pid})`;
}

export class StepError extends Error {}

export class Stopped extends Error {
  constructor() {
    super('stopped');
  }
}

function seconds(ms) {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;
}

/**
 * A run of labelled steps. `out` gets a few lines; the log file gets everything.
 * `onStop` (set with stopWith) runs once on SIGINT, SIGTERM or SIGHUP, after "stopping…".
 */
export class Steps {
  constructor({ out = process.stdout, logFile } = {}) {
    this.out = out;
    this.logFile = logFile ?? defaultLogFile();
    this.fd = openLog(this.logFile, { makeDir: logFile === undefined && !process.env.SHM_START_LOG });
    this.stopRequested = false;
    this.child = null;
    this.letFinish = false;
    this.cleanup = async () => undefined;
    this.wakers = new Set();
    this.inStep = false;
    this.noted = false;
    this.aptSaidWait = false;
    const stop = (sig) => void this.stop(sig);
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, stop);
  }

  log(text) {
    try {
      writeSync(this.fd, text);
    } catch {
      // a full disk must not stop the start
    }
  }

  say(line) {
    if (this.inStep && !this.noted) this.out.write('\n');
    this.out.write(`${line}\n`);
    this.log(`${line}\n`);
    if (this.inStep) this.noted = true;
  }

  /** A line inside the running step (indented). */
  note(line) {
    this.say(`  ${line}`);
  }

  /** What to do on Ctrl+C (stop the server, remove the demo segments). */
  stopWith(fn) {
    this.cleanup = fn;
  }

  async stop(sig) {
    if (this.stopRequested) return;
    this.stopRequested = true;
    const waitFor = this.child && this.letFinish ? ` (letting ${this.childName} finish first, so nothing is left half-installed)` : '';
    if (this.inStep && !this.noted) this.out.write('\n');
    this.inStep = false;
    this.out.write(`stopping…${waitFor}\n`);
    this.log(`stopping on ${sig}${waitFor}\n`);
    for (const w of this.wakers) w();
    if (this.child && !this.letFinish) {
      try {
        process.kill(-this.child.pid, 'SIGTERM');
      } catch {
        // gone already
      }
    }
    if (this.child) await new Promise((r) => this.child?.once('exit', r) ?? r());
    try {
      await this.cleanup();
    } finally {
      this.out.write('stopped.\n');
      closeSync(this.fd);
      process.exit(0);
    }
  }

  /** Runs one labelled step: `label…`, then `done (time)`, or `failed: reason` and the log's name (exit 1). */
  async step(label, fn) {
    if (this.stopRequested) throw new Stopped();
    const t0 = Date.now();
    this.out.write(`${label}…`);
    this.log(`\n=== ${label}\n`);
    this.inStep = true;
    this.noted = false;
    try {
      const r = await fn();
      this.inStep = false;
      this.out.write(`${this.noted ? '  ' : ' '}done (${seconds(Date.now() - t0)})\n`);
      return r;
    } catch (e) {
      this.inStep = false;
      if (e instanceof Stopped || this.stopRequested) return new Promise(() => undefined); // stop() exits
      const reason = e instanceof StepError ? e.message : (e?.message ?? String(e));
      this.log(`failed: ${e?.stack ?? reason}\n`);
      this.out.write(`${this.noted ? '  ' : ' '}failed: ${reason}\n`);
      this.out.write(`full log: ${this.logFile}\n`);
      // What stopWith set runs on a failure too (a started server stopped, demo segments removed).
      try {
        await this.cleanup();
      } catch (c) {
        this.log(`cleanup after the failure: ${c?.stack ?? c}\n`);
      }
      closeSync(this.fd);
      process.exit(1);
    }
  }

  /** Sleeps `ms`, woken early by a stop. */
  pause(ms) {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.wakers.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }

  /**
   * Runs a command with its output in the log only. Rejects with a StepError that quotes
   * its last error lines. `onLine` sees each output line; `letFinish` keeps Ctrl+C from
   * interrupting it (apt-get install).
   */
  run(cmd, args, { cwd, env, onLine, letFinish = false } = {}) {
    if (this.stopRequested) return Promise.reject(new Stopped());
    this.log(`$ ${[cmd, ...args].join(' ')}\n`);
    return new Promise((resolve, reject) => {
      // Its own process group: the terminal's Ctrl+C reaches only us, and we decide.
      const child = spawn(cmd, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      this.child = child;
      this.childName = cmd.split('/').pop();
      this.letFinish = letFinish;
      const tail = [];
      let partial = '';
      const take = (chunk) => {
        const text = chunk.toString();
        this.log(text);
        const lines = (partial + text).split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) {
          if (l.trim()) tail.push(l.trim());
          if (tail.length > 20) tail.shift();
          onLine?.(l);
        }
      };
      child.stdout.on('data', take);
      child.stderr.on('data', take);
      child.on('error', (e) => {
        this.child = null;
        reject(new StepError(e.code === 'ENOENT' ? `${cmd} is not installed` : `${cmd}: ${e.message}`));
      });
      child.on('close', (code, signal) => {
        this.child = null;
        if (partial.trim()) tail.push(partial.trim());
        if (this.stopRequested) return reject(new Stopped());
        if (code === 0) return resolve();
        const errors = tail.filter((l) => /^(E:|ERR!|npm ERR!|error|dpkg: error)/i.test(l));
        const why = (errors.length > 0 ? errors : tail).slice(-2).join(' / ');
        reject(new StepError(`${this.childName} ${signal ? `was killed (${signal})` : `exited with ${code}`}${why ? `: ${why}` : ''}`));
      });
    });
  }

  /** Waits while another process holds one of apt's locks, saying so (and again every 30 s). */
  async waitForLock(paths = aptLocks()) {
    let h = lockHolder(paths);
    if (!h) return 0;
    const t0 = Date.now();
    this.note(`waiting for apt: ${holderWords(h)}; Ctrl+C stops`);
    let told = t0;
    while (h) {
      await this.pause(250);
      if (this.stopRequested) throw new Stopped();
      h = lockHolder(paths);
      if (h && Date.now() - told >= 30_000) {
        told = Date.now();
        this.note(`still waiting (${seconds(told - t0)}): ${holderWords(h)}`);
      }
    }
    return Date.now() - t0;
  }

  /**
   * Installs Debian packages as root: waits for apt's lock, then `apt-get update` and
   * `apt-get install` (which also wait for the lock themselves, DPkg::Lock::Timeout), output
   * in the log. `aptGet` is the command (SHM_START_APT_GET; tests give their own).
   */
  async aptInstall(pkgs, { aptGet = process.env.SHM_START_APT_GET || 'apt-get', locks = aptLocks() } = {}) {
    if (process.getuid?.() !== 0) throw new StepError(`run this first, as root: sudo apt-get install -y ${pkgs.join(' ')}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const opts = ['-q', '-o', 'DPkg::Lock::Timeout=3600'];
    const onLine = (l) => {
      // A lock taken after our check: apt-get waits by itself and says so in its output.
      if (/Waiting for cache lock|Could not get lock/.test(l) && !this.aptSaidWait) {
        this.aptSaidWait = true;
        this.note(`waiting for apt: ${l.replace(/^.*?(Could not get lock)/, '$1').slice(0, 160)}`);
      }
    };
    await this.waitForLock(locks);
    await this.run(aptGet, [...opts, 'update'], { env, onLine, letFinish: true });
    await this.waitForLock(locks);
    await this.run(aptGet, [...opts, 'install', '-y', '--no-install-recommends', ...pkgs], { env, onLine, letFinish: true });
  }
}
