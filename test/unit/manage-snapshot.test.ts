/**
 * Issue #11 items 4 and 8, issue #12 item 10: snapshots, creation and opens that leave no
 * wrong state. `shm-inspector persist` / `restore` / `create` / `list` (dist/cli.js as a child
 * process) on real segments: persist never replaces without --force; a failure (a name too
 * long, no room on a private tmpfs) leaves the old snapshot untouched; SIGKILL at random
 * points and between the renames (strace delays them) leaves only states that restore either
 * refuses or restores right; FILE.sha256 read as `sha256sum -c` does; FIFOs and /proc files
 * refused at once; create never leaves a partial segment under its name; temporary `.shmi-*`
 * names are never listed.
 */
import * as assert from 'assert';
import { execFileSync, spawn, type ChildProcess } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { identityOf, setInterpretation } from '../../extension/core/interpretations';
import { SegmentJar } from '../fixtures/segments';
import { CLI, runCli as runCliWith, type Run } from '../fixtures/cli';

let configDir = '';
const runCli = (args: string[]): Promise<Run> => runCliWith(args, { env: { SHM_INSPECTOR_CONFIG_DIR: configDir } });

/** `shm-inspector ARGS...` that must finish within 20 s (a blocked open would hang forever): SIGKILLed after. */
const runCliSoon = (args: string[], config = configDir): Promise<Run> => runCliWith(args, { env: { SHM_INSPECTOR_CONFIG_DIR: config }, timeoutMs: 20_000 });
const sha = (p: string) => crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const temps = (d: string) => fs.readdirSync(d).filter((n) => n.startsWith('.shmi-'));

function ok<T>(r: Run): T {
  assert.strictEqual(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

/** Writes `mib` MiB of random bytes to `p`. */
function randomFile(p: string, mib: number): void {
  const fd = fs.openSync(p, 'w', 0o600);
  for (let i = 0; i < mib; i++) fs.writeSync(fd, crypto.randomBytes(1 << 20));
  fs.closeSync(fd);
}

/** The contents of FILE, FILE.sha256 and FILE.json (null when absent). */
function triple(file: string): [string | null, string | null, string | null] {
  const h = (p: string) => (fs.existsSync(p) ? sha(p) : null);
  return [h(file), h(`${file}.sha256`), h(`${file}.json`)];
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(child.exitCode) : child.on('exit', (code) => r(code))));
}

/** Runs `sh -c script` in a private mount namespace (a tmpfs of the test's own). */
function inPrivateMounts(script: string): string {
  return execFileSync('unshare', ['-m', 'sh', '-c', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('manage: snapshots, creation and opens leave no wrong state', function () {
  this.timeout(300_000);
  const jar = new SegmentJar();
  let dir: string;
  let disk: string;

  before(() => {
    assert.ok(fs.existsSync(CLI), 'dist/cli.js is built');
    dir = jar.name('shmi_msnap').path;
    fs.mkdirSync(dir);
    disk = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-snap-'));
    configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-snap-config-'));
  });
  after(() => {
    jar.cleanup();
    fs.rmSync(disk, { recursive: true, force: true });
    fs.rmSync(configDir, { recursive: true, force: true });
  });

  it('persist --to an existing FILE is refused without --force (FILE and FILE.sha256 untouched), replaced with --force', async () => {
    fs.writeFileSync(path.join(dir, 'p1'), crypto.randomBytes(3000));
    fs.writeFileSync(path.join(dir, 'p2'), crypto.randomBytes(5000));
    const to = path.join(disk, 'keep.bin');
    ok(await runCli(['persist', 'p1', '--to', to, '--dir', dir, '--json']));
    const before = triple(to);
    const r = await runCli(['persist', 'p2', '--to', to, '--dir', dir]);
    assert.strictEqual(r.code, 1);
    assert.strictEqual(r.stderr, `shm-inspector: ${to}, ${to}.sha256, ${to}.json already exist; pass --force to replace them\n`);
    assert.deepStrictEqual(triple(to), before, 'the old snapshot is untouched');
    // Only a stray FILE.sha256: refused too (it would be replaced).
    const lone = path.join(disk, 'lone.bin');
    fs.writeFileSync(`${lone}.sha256`, 'mine\n');
    assert.strictEqual(
      (await runCli(['persist', 'p2', '--to', lone, '--dir', dir])).stderr,
      `shm-inspector: ${lone}.sha256 already exists; pass --force to replace it\n`,
    );
    assert.ok(!fs.existsSync(lone));
    const f = ok<{ sha256: string }>(await runCli(['persist', 'p2', '--to', to, '--dir', dir, '--force', '--json']));
    assert.ok(fs.readFileSync(to).equals(fs.readFileSync(path.join(dir, 'p2'))));
    assert.strictEqual(f.sha256, sha(to));
    assert.match(execFileSync('sha256sum', ['-c', 'keep.bin.sha256'], { cwd: disk, encoding: 'utf8' }), /keep\.bin: OK/);
    assert.strictEqual(JSON.parse(fs.readFileSync(`${to}.json`, 'utf8')).sha256, f.sha256);
    assert.deepStrictEqual(temps(disk), []);
  });

  it('a name too long for FILE.sha256: refused before anything is written; an existing FILE stays as it was', async () => {
    fs.writeFileSync(path.join(dir, 'p3'), crypto.randomBytes(2000));
    const to = path.join(disk, 'n'.repeat(250));
    fs.writeFileSync(to, 'the old data');
    const r = await runCli(['persist', 'p3', '--to', to, '--dir', dir, '--force']);
    assert.strictEqual(r.code, 1, r.stderr);
    assert.strictEqual(r.stderr, `shm-inspector: ${'n'.repeat(250)}.sha256: a file name of 257 bytes; at most 255 (FILE.sha256 needs 7 more than FILE)\n`);
    assert.strictEqual(fs.readFileSync(to, 'utf8'), 'the old data');
    assert.deepStrictEqual(temps(disk), []);
    fs.unlinkSync(to);
  });

  it('no room left for FILE.sha256 once the data is written (a private 1 MiB tmpfs filled exactly): the old snapshot stays whole and `sha256sum -c` still accepts it', function () {
    if (process.getuid?.() !== 0) this.skip();
    fs.writeFileSync(path.join(dir, 'empty_raw'), '');
    const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-snapfull-'));
    const fit = path.join(dir, 'fit_raw');
    try {
      const out = inPrivateMounts(
        [
          'set -e',
          `mount -t tmpfs -o size=1m none ${mnt}`,
          `${process.execPath} ${CLI} persist empty_raw --to ${mnt}/snap --dir ${dir} >/dev/null`,
          // The new data takes exactly the room that is left: FILE.sha256 (and FILE.json) find none.
          `head -c $(( $(stat -f -c '%a * %S' ${mnt}) )) /dev/urandom > ${fit}`,
          `${process.execPath} ${CLI} persist fit_raw --to ${mnt}/snap --dir ${dir} --force 2>&1 || echo "rc=$?"`,
          `cd ${mnt} && sha256sum -c snap.sha256 2>&1`,
          `stat -c '%s' ${mnt}/snap`,
          `ls -A ${mnt}`,
        ].join('\n'),
      );
      const lines = out.trim().split('\n');
      assert.match(
        lines[0],
        new RegExp(
          `^shm-inspector: ${mnt} ran out of room while writing snap \\(\\d+ bytes \\([\\d.]+ [KM]iB\\)\\); snap, snap.sha256 and snap.json are untouched$`,
        ),
        out,
      );
      assert.deepStrictEqual(lines.slice(1), ['rc=1', 'snap: OK', '0', 'snap', 'snap.json', 'snap.sha256'], out);
    } finally {
      fs.rmdirSync(mnt);
      fs.rmSync(fit, { force: true });
    }
  });

  describe('SIGKILL during persist --force over an old raw snapshot', () => {
    let oldSeg = '';
    let newSeg = '';
    let oldSha = '';
    let newSha = '';
    let oldSnap: string;

    before(async () => {
      oldSeg = path.join(dir, 'kill_old');
      newSeg = path.join(dir, 'kill_new');
      randomFile(oldSeg, 1);
      randomFile(newSeg, 128);
      oldSha = sha(oldSeg);
      newSha = sha(newSeg);
      oldSnap = fs.mkdtempSync(path.join(disk, 'old-'));
      ok(await runCli(['persist', 'kill_old', '--to', path.join(oldSnap, 'snap.bin'), '--dir', dir, '--json']));
    });
    after(() => {
      fs.rmSync(oldSeg, { force: true });
      fs.rmSync(newSeg, { force: true });
    });

    /** A fresh folder holding the old snapshot (FILE, FILE.sha256, FILE.json). */
    function freshOld(): string {
      const d = fs.mkdtempSync(path.join(disk, 'kill-'));
      for (const n of fs.readdirSync(oldSnap)) fs.copyFileSync(path.join(oldSnap, n), path.join(d, n));
      return path.join(d, 'snap.bin');
    }

    /**
     * After a kill: the parts are replaced in the order FILE.json, FILE.sha256, FILE (never
     * new data beside an old checksum); restore either refuses or restores one whole snapshot,
     * never a mix; it leaves nothing in the segment directory when it refuses.
     */
    async function checkAfterKill(file: string, label: string): Promise<'old' | 'new' | 'refused'> {
      const old = triple(path.join(oldSnap, 'snap.bin'));
      const now = triple(file);
      const isOld = now.map((h, i) => h === old[i]);
      if (isOld[0] === false) assert.ok(!isOld[1] && !isOld[2], `${label}: new data only after the new checksum and sidecar`);
      if (isOld[1] === false) assert.ok(!isOld[2], `${label}: a new checksum only after the new sidecar`);
      const name = `restored_${path.basename(path.dirname(file))}`;
      const listed = fs
        .readdirSync(dir)
        .filter((n) => !n.startsWith('.shmi-'))
        .sort();
      const r = await runCli(['restore', file, '--name', name, '--dir', dir, '--json']);
      if (r.code !== 0) {
        assert.match(r.stderr, /checksum mismatch|describes other bytes/, `${label}: ${r.stderr}`);
        assert.deepStrictEqual(
          fs
            .readdirSync(dir)
            .filter((n) => !n.startsWith('.shmi-'))
            .sort(),
          listed,
        );
        assert.ok(isOld.includes(false) && isOld.includes(true), `${label}: only a mixed snapshot is refused`);
        return 'refused';
      }
      const got = sha(path.join(dir, name));
      fs.unlinkSync(path.join(dir, name));
      assert.ok(got === oldSha || got === newSha, `${label}: restored bytes are one whole snapshot`);
      assert.strictEqual(JSON.parse(r.stdout).verified, true);
      return got === oldSha ? 'old' : 'new';
    }

    it('at random points of the copy and the renames (128 MiB): restore accepts only snapshots whose parts match', async () => {
      const t0 = Date.now();
      ok(await runCli(['persist', 'kill_new', '--to', path.join(fs.mkdtempSync(path.join(disk, 'full-')), 'snap.bin'), '--dir', dir, '--json']));
      const whole = Date.now() - t0;
      const seen: string[] = [];
      for (let i = 0; i < 6; i++) {
        const file = freshOld();
        const child = spawn(process.execPath, [CLI, 'persist', 'kill_new', '--to', file, '--dir', dir, '--force'], { stdio: 'ignore' });
        const delay = Math.round(whole * (0.2 + 0.9 * Math.random()));
        await sleep(delay);
        child.kill('SIGKILL');
        await exited(child);
        seen.push(`${delay} ms: ${await checkAfterKill(file, `killed after ${delay} ms`)}`);
        fs.rmSync(path.dirname(file), { recursive: true, force: true });
      }
      assert.ok(seen.length === 6, seen.join('; '));
    });

    it('between the renames (strace delays each rename): after FILE.json, after FILE.sha256 — restore refuses both; the finished one restores the new bytes', async function () {
      for (const step of [1, 2, 3]) {
        const file = freshOld();
        const watched = step === 1 ? `${file}.json` : step === 2 ? `${file}.sha256` : file;
        const ino = fs.statSync(watched).ino;
        const tracer = spawn(
          'strace',
          [
            '-f',
            '-qq',
            '-o',
            '/dev/null',
            '-e',
            'trace=rename,renameat,renameat2',
            '-e',
            'inject=rename,renameat,renameat2:delay_exit=400000',
            process.execPath,
            CLI,
            'persist',
            'kill_new',
            '--to',
            file,
            '--dir',
            dir,
            '--force',
          ],
          { stdio: 'ignore' },
        );
        const deadline = Date.now() + 60_000;
        while (fs.statSync(watched).ino === ino) {
          assert.ok(Date.now() < deadline, `rename ${step} never happened`);
          await sleep(2);
        }
        // The tracee sits in its delayed rename: kill it there (the node process strace started).
        const children = fs.readFileSync(`/proc/${tracer.pid}/task/${tracer.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
        if (step < 3) for (const pid of children) process.kill(pid, 'SIGKILL');
        await exited(tracer);
        const outcome = await checkAfterKill(file, `killed after rename ${step}`);
        assert.strictEqual(outcome, step < 3 ? 'refused' : 'new', `after rename ${step}`);
        fs.rmSync(path.dirname(file), { recursive: true, force: true });
      }
    });
  });

  it('FILE.sha256 is read like `sha256sum -c`: the line for this file, not the first hash; no line for it is refused; escaped names round-trip', async () => {
    fs.writeFileSync(path.join(dir, 'p4'), crypto.randomBytes(1000));
    const to = path.join(disk, 'multi.bin');
    const r = ok<{ sha256: string }>(await runCli(['persist', 'p4', '--to', to, '--dir', dir, '--json']));
    fs.writeFileSync(`${to}.sha256`, `${'0'.repeat(64)}  other.bin\n${r.sha256} *multi.bin\n`);
    const back = ok<{ verified: boolean }>(await runCli(['restore', to, '--name', 'multi_back', '--dir', dir, '--json']));
    assert.strictEqual(back.verified, true);
    fs.writeFileSync(`${to}.sha256`, `SHA256 (./multi.bin) = ${r.sha256}\n`);
    assert.strictEqual(ok<{ verified: boolean }>(await runCli(['restore', to, '--name', 'multi_bsd', '--dir', dir, '--json'])).verified, true);
    fs.writeFileSync(`${to}.sha256`, `${r.sha256}  other.bin\n`);
    const no = await runCli(['restore', to, '--name', 'multi_no', '--dir', dir]);
    assert.strictEqual(no.stderr, `shm-inspector: ${to}.sha256 has no line for multi.bin (it checks other files); not restored\n`);
    assert.ok(!fs.existsSync(path.join(dir, 'multi_no')));
    // A name with a backslash and a newline: written escaped as sha256sum does; both read it back.
    const odd = path.join(disk, 'odd\\na\nme.bin');
    ok(await runCli(['persist', 'p4', '--to', odd, '--dir', dir, '--json']));
    assert.match(fs.readFileSync(`${odd}.sha256`, 'utf8'), /^\\[0-9a-f]{64} {2}odd\\\\na\\nme\.bin\n$/);
    assert.match(execFileSync('sha256sum', ['-c', `${path.basename(odd)}.sha256`], { cwd: disk, encoding: 'utf8' }), /: OK\n$/);
    assert.strictEqual(ok<{ verified: boolean }>(await runCli(['restore', odd, '--name', 'odd_back', '--dir', dir, '--json'])).verified, true);
  });

  it('FIFOs are never waited on: FILE.sha256, FILE.json or the snapshot as a FIFO give a clear message at once; /proc and /sys files are refused', async () => {
    fs.writeFileSync(path.join(dir, 'p5'), crypto.randomBytes(100));
    const to = path.join(disk, 'fifo.bin');
    const r = ok<{ sha256: string }>(await runCliSoon(['persist', 'p5', '--to', to, '--dir', dir, '--json']));
    fs.unlinkSync(`${to}.sha256`);
    execFileSync('mkfifo', [`${to}.sha256`]);
    const started = Date.now();
    const a = await runCliSoon(['restore', to, '--name', 'fifo_back', '--dir', dir]);
    assert.strictEqual(a.stderr, `shm-inspector: ${to}.sha256: a FIFO (named pipe), not a regular file; not read\n`);
    assert.strictEqual(a.code, 1);
    // A FIFO as FILE.json: refused at once by restore, as a FIFO FILE.sha256 is (never skipped, never waited on);
    // persist, which only replaces or removes a FILE.json of its own, leaves it alone.
    fs.unlinkSync(`${to}.sha256`);
    fs.writeFileSync(`${to}.sha256`, `${r.sha256}  fifo.bin\n`);
    fs.unlinkSync(`${to}.json`);
    execFileSync('mkfifo', [`${to}.json`]);
    const j = await runCliSoon(['restore', to, '--name', 'fifo_json', '--dir', dir]);
    assert.strictEqual(j.stderr, `shm-inspector: ${to}.json: a FIFO (named pipe), not a regular file; not read; not restored\n`);
    assert.strictEqual(j.code, 1);
    assert.ok(!fs.existsSync(path.join(dir, 'fifo_json')));
    execFileSync('/usr/bin/python3', ['-c', 'import numpy as np, sys; np.save(sys.argv[1], np.arange(5))', path.join(dir, 'p6.npy')]);
    ok(await runCliSoon(['persist', 'p6.npy', '--to', to, '--dir', dir, '--force', '--json']));
    assert.ok(fs.lstatSync(`${to}.json`).isFIFO(), 'a FIFO that is not our sidecar is left alone');
    const snapFifo = path.join(disk, 'snap_fifo');
    execFileSync('mkfifo', [snapFifo]);
    assert.strictEqual(
      (await runCliSoon(['restore', snapFifo, '--dir', dir])).stderr,
      `shm-inspector: ${snapFifo}: a FIFO (named pipe), not a regular file; not read\n`,
    );
    assert.ok(Date.now() - started < 30_000);
    const proc = await runCliSoon(['restore', '/proc/self/status', '--name', 'proc_status', '--dir', dir]);
    assert.strictEqual(proc.stderr, 'shm-inspector: /proc/self/status: a /proc file, whose size is not its content; copy it to a regular file first\n');
    const sys = await runCliSoon(['restore', '/sys/kernel/mm/transparent_hugepage/enabled', '--name', 'sys_file', '--dir', dir]);
    assert.match(sys.stderr, /: a \/sys file, whose size is not its content|no such file/);
    assert.ok(!fs.existsSync(path.join(dir, 'proc_status')) && !fs.existsSync(path.join(dir, 'sys_file')));
    assert.deepStrictEqual(temps(dir), []);
  });

  it('a FIFO planted as the interpretations file: list still answers, and setting an interpretation says why it cannot', async () => {
    const cfg = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-snap-fifocfg-'));
    try {
      const file = path.join(cfg, 'interpretations.json');
      execFileSync('mkfifo', [file]);
      const r = await runCliSoon(['list', '--dir', dir, '--json'], cfg);
      assert.strictEqual(r.code, 0, r.stderr);
      assert.ok(Array.isArray(JSON.parse(r.stdout).segments));
      fs.writeFileSync(path.join(dir, 'p8'), 'x'.repeat(64));
      const set = setInterpretation(await identityOf(dir, 'p8'), { dtype: '<f4', shape: [16], offset: 0, order: 'C' }, file);
      const settled = await Promise.race([
        set.then(
          () => 'set',
          (e: Error) => e.message,
        ),
        sleep(10_000).then(() => 'still blocked after 10 s'),
      ]);
      assert.strictEqual(settled, `${file}: a FIFO (named pipe), not a regular file; not read`);
    } finally {
      fs.rmSync(cfg, { recursive: true, force: true });
    }
  });

  it('SIGKILL during create of a 256 MiB random segment: nothing under its name (the hidden temp is not listed)', async () => {
    const name = 'killed_create';
    const child = spawn(process.execPath, [CLI, 'create', name, '--dtype', 'u1', '--shape', String(256 << 20), '--fill', 'random', '--dir', dir], {
      stdio: 'ignore',
    });
    const t0 = Date.now();
    for (;;) {
      const made = [...temps(dir), ...(fs.existsSync(path.join(dir, name)) ? [name] : [])].map((n) => path.join(dir, n));
      if (made.some((p) => (fs.statSync(p, { throwIfNoEntry: false })?.size ?? 0) > 0)) break;
      assert.ok(Date.now() - t0 < 60_000, 'the create never started writing');
      await sleep(2);
    }
    child.kill('SIGKILL');
    await exited(child);
    assert.ok(!fs.existsSync(path.join(dir, name)), 'no truncated segment under the name');
    const left = temps(dir);
    assert.ok(left.length === 1 && /^\.shmi-\d+-[0-9a-f]{12}\.tmp$/.test(left[0]), left.join(', '));
    const listed = ok<{ segments: { name: string }[] }>(await runCli(['list', '--dir', dir, '--json'])).segments.map((s) => s.name);
    assert.deepStrictEqual(
      listed.filter((n) => n.includes('.shmi-')),
      [],
      'the temp is never listed',
    );
    for (const n of left) fs.unlinkSync(path.join(dir, n));
  });

  it('temps a SIGKILL left (process gone, untouched for 10 min) are removed by the next create, persist or restore there; a live or recent one is kept', async () => {
    const gone = spawn('true');
    await exited(gone);
    const deadPid = gone.pid!;
    const sweepDir = fs.mkdtempSync(path.join(disk, 'sweep-'));
    const hour = Date.now() / 1000 - 3600;
    const make = (name: string, old: boolean) => {
      fs.writeFileSync(path.join(sweepDir, name), 'left');
      if (old) fs.utimesSync(path.join(sweepDir, name), hour, hour);
    };
    make(`.shmi-${deadPid}-0123456789ab.tmp`, true);
    make(`.shmi-${deadPid}-0123456789ac.tmp`, false);
    make(`.shmi-${process.pid}-0123456789ad.tmp`, true);
    make(`.shmi-rm-${deadPid}-x`, true);
    ok(await runCli(['create', 'after_kill', '--dtype', 'u1', '--shape', '4', '--dir', sweepDir, '--json']));
    assert.deepStrictEqual(
      fs.readdirSync(sweepDir).sort(),
      [`.shmi-${deadPid}-0123456789ac.tmp`, `.shmi-${process.pid}-0123456789ad.tmp`, `.shmi-rm-${deadPid}-x`, 'after_kill'].sort(),
    );
    make(`.shmi-${deadPid}-0123456789ae.tmp`, true);
    fs.writeFileSync(path.join(dir, 'p7'), 'x');
    ok(await runCli(['persist', 'p7', '--to', path.join(sweepDir, 'p7.bin'), '--dir', dir, '--json']));
    assert.ok(!fs.existsSync(path.join(sweepDir, `.shmi-${deadPid}-0123456789ae.tmp`)), 'persist sweeps its target folder');
    fs.rmSync(sweepDir, { recursive: true });
  });

  it('list never shows our temporary names (.shmi-PID-HEX.tmp, .shmi-rm-HEX; top level or in a folder); create and restore refuse them as names', async () => {
    fs.writeFileSync(path.join(dir, '.shmi-12345-0123456789ab.tmp'), 'half');
    fs.writeFileSync(path.join(dir, '.shmi-rm-0123456789abcdef'), 'going');
    fs.mkdirSync(path.join(dir, 'joblib_memmapping_folder_t'));
    fs.writeFileSync(path.join(dir, 'joblib_memmapping_folder_t', '.shmi-1-0123456789ab.tmp'), 'x');
    fs.writeFileSync(path.join(dir, 'joblib_memmapping_folder_t', 'real.pkl'), 'x');
    const cat = ok<{ segments: { name: string; children: { name: string }[] | null }[] }>(await runCli(['list', '--dir', dir, '--json']));
    const names = cat.segments.flatMap((s) => [s.name, ...(s.children ?? []).map((c) => c.name)]);
    assert.deepStrictEqual(
      names.filter((n) => n.includes('.shmi-')),
      [],
    );
    assert.ok(names.includes('joblib_memmapping_folder_t/real.pkl'));
    const c = await runCli(['create', '.shmi-99-0123456789ab.tmp', '--dtype', 'u1', '--shape', '3', '--dir', dir]);
    assert.strictEqual(c.code, 2);
    assert.match(c.stderr, /names like \.shmi-PID-HEX\.tmp and \.shmi-rm-HEX are SHM Inspector's temporary files/);
    for (const n of ['.shmi-12345-0123456789ab.tmp', '.shmi-rm-0123456789abcdef']) fs.unlinkSync(path.join(dir, n));
    fs.rmSync(path.join(dir, 'joblib_memmapping_folder_t'), { recursive: true });
  });
});
