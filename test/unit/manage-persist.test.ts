/**
 * Issue 6, persist and restore: `shm-inspector persist` / `restore` (dist/cli.js as a child
 * process) on real segments: formats kept, interpretations saved as .npy, raw bytes with
 * FILE.json, deleted-but-mapped segments rescued through /proc, sha256sum-compatible
 * checksums, corrupted snapshots refused, no clobbering, symlinks not followed, a full
 * tmpfs, and SIGKILL / SIGINT mid-copy of a 512 MiB segment leaving no partial target.
 */
import * as assert from 'assert';
import { execFileSync, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { identityOf, setInterpretation } from '../../extension/core/interpretations';
import { py, SegmentJar } from '../fixtures/segments';
import { CLI, runCli as runCliWith, type Run } from '../fixtures/cli';

let configDir = '';

const runCli = (args: string[]): Promise<Run> => runCliWith(args, { env: { SHM_INSPECTOR_CONFIG_DIR: configDir } });

function ok<T>(r: Run): T {
  assert.strictEqual(r.code, 0, r.stderr);
  assert.strictEqual(r.stderr, '');
  return JSON.parse(r.stdout) as T;
}

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of fs.readdirSync(dir)) {
    const st = fs.lstatSync(path.join(dir, n));
    out[n] = `${st.isSymbolicLink() ? 'l' : 'f'}:${st.ino}:${st.size}:${st.mtimeMs}`;
  }
  return out;
}

const sha = (p: string) => crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');

describe('manage: persist and restore', function () {
  this.timeout(180_000);
  const jar = new SegmentJar();
  let dir: string;
  let disk: string;

  before(() => {
    assert.ok(fs.existsSync(CLI), 'dist/cli.js is built');
    dir = jar.name('shmi_mpersist').path;
    fs.mkdirSync(dir);
    disk = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-persist-'));
    configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-persist-config-'));
  });
  after(() => {
    jar.cleanup();
    fs.rmSync(disk, { recursive: true, force: true });
    fs.rmSync(configDir, { recursive: true, force: true });
  });

  it('persist of an NPY segment: the same bytes, FILE.sha256 that `sha256sum -c` accepts, no FILE.json; restore brings it back verified', async () => {
    const src = path.join(dir, 'a.npy');
    py(['npy', src, '>f8', '30,20', '--fill', 'random']);
    const to = path.join(disk, 'a_snapshot.npy');
    const r = ok<{ file: string; sha256: string; bytes: number; format: string; sidecar: string | null }>(
      await runCli(['persist', 'a.npy', '--to', to, '--dir', dir, '--json']),
    );
    assert.deepStrictEqual([r.file, r.format, r.sidecar, r.bytes], [to, 'npy', null, fs.statSync(src).size]);
    assert.ok(fs.readFileSync(to).equals(fs.readFileSync(src)));
    assert.strictEqual(r.sha256, sha(src));
    assert.strictEqual(fs.readFileSync(`${to}.sha256`, 'utf8'), `${r.sha256}  a_snapshot.npy\n`);
    assert.match(execFileSync('sha256sum', ['-c', 'a_snapshot.npy.sha256'], { cwd: disk, encoding: 'utf8' }), /a_snapshot\.npy: OK/);
    assert.deepStrictEqual(fs.readdirSync(disk).sort(), ['a_snapshot.npy', 'a_snapshot.npy.sha256'], 'no temp file left');
    const before = snapshot(dir);
    const back = ok<{ name: string; path: string; bytes: number; verified: boolean }>(await runCli(['restore', to, '--dir', dir, '--json']));
    assert.deepStrictEqual(back, { name: 'a_snapshot.npy', path: path.join(dir, 'a_snapshot.npy'), bytes: r.bytes, verified: true });
    assert.ok(fs.readFileSync(back.path).equals(fs.readFileSync(src)));
    assert.deepStrictEqual(Object.keys(snapshot(dir)).sort(), [...Object.keys(before), 'a_snapshot.npy'].sort(), 'only the restored segment is new (no temp left)');
  });

  it('restore refuses to overwrite without --force (untouched), replaces with --force; --name; refuses a corrupted snapshot; unverified without FILE.sha256', async () => {
    const src = path.join(dir, 'b.npy');
    py(['npy', src, '<i4', '100']);
    const to = path.join(disk, 'b.npy');
    ok(await runCli(['persist', 'b.npy', '--to', to, '--dir', dir, '--json']));
    fs.writeFileSync(path.join(dir, 'taken'), 'mine');
    const before = snapshot(dir);
    const r = await runCli(['restore', to, '--name', 'taken', '--dir', dir]);
    assert.strictEqual(r.code, 1);
    assert.strictEqual(r.stderr, `shm-inspector: taken: already exists in ${dir}; pass --force to replace it\n`);
    assert.deepStrictEqual(snapshot(dir), before);
    ok(await runCli(['restore', to, '--name', 'taken', '--force', '--dir', dir, '--json']));
    assert.ok(fs.readFileSync(path.join(dir, 'taken')).equals(fs.readFileSync(src)));
    // Corrupt one byte of the snapshot: refused, nothing created.
    const bad = path.join(disk, 'bad.npy');
    fs.copyFileSync(to, bad);
    fs.writeFileSync(`${bad}.sha256`, fs.readFileSync(`${to}.sha256`, 'utf8').replace('b.npy', 'bad.npy'));
    const fd = fs.openSync(bad, 'r+');
    fs.writeSync(fd, Buffer.from([0xff]), 0, 1, 200);
    fs.closeSync(fd);
    const before2 = snapshot(dir);
    const c = await runCli(['restore', bad, '--dir', dir]);
    assert.strictEqual(c.code, 1);
    assert.match(c.stderr, /^shm-inspector: .*bad\.npy: checksum mismatch \(bad\.npy\.sha256 says [0-9a-f]{64}, the file has [0-9a-f]{64}\); not restored\n$/);
    assert.deepStrictEqual(snapshot(dir), before2, 'nothing created, no temp left');
    // A malformed .sha256: refused too.
    fs.writeFileSync(`${bad}.sha256`, 'not a checksum\n');
    assert.match((await runCli(['restore', bad, '--dir', dir])).stderr, /not in sha256sum's format/);
    // No .sha256 at all: restored, verified false.
    fs.unlinkSync(`${bad}.sha256`);
    const u = ok<{ verified: boolean }>(await runCli(['restore', bad, '--name', 'unverified', '--dir', dir, '--json']));
    assert.strictEqual(u.verified, false);
    for (const args of [['restore', to, '--name', 'a/b'], ['restore', to, '--name', '..'], ['restore']]) {
      assert.strictEqual((await runCli([...args, '--dir', dir])).code, 2, args.join(' '));
    }
    assert.strictEqual((await runCli(['restore', path.join(disk, 'nope'), '--dir', dir])).stderr, `shm-inspector: ${path.join(disk, 'nope')}: no such file\n`);
  });

  it('a raw segment with an interpretation is saved as .npy that numpy loads equal; raw without one gets raw bytes + FILE.json', async () => {
    const raw = path.join(dir, 'psm_interp');
    py(['raw', raw, '>i2', '6,7', '--offset', '16', '--order', 'F', '--fill', 'random']);
    await setInterpretation(
      await identityOf(dir, 'psm_interp'),
      { dtype: '>i2', shape: [6, 7], offset: 16, order: 'F' },
      path.join(configDir, 'interpretations.json'),
    );
    const to = path.join(disk, 'interp.npy');
    const r = ok<{ format: string; sidecar: string | null; sha256: string }>(await runCli(['persist', 'psm_interp', '--to', to, '--dir', dir, '--json']));
    assert.deepStrictEqual([r.format, r.sidecar], ['npy', null]);
    assert.strictEqual(r.sha256, sha(to));
    const same = execFileSync(
      '/usr/bin/python3',
      [
        '-c',
        `import numpy as np, sys
a = np.load(sys.argv[1], mmap_mode='r')
b = np.memmap(sys.argv[2], dtype='>i2', mode='r', offset=16, shape=(6, 7), order='F')
print(a.dtype.str, a.shape, a.flags.f_contiguous, np.array_equal(a, b))`,
        to,
        raw,
      ],
      { encoding: 'utf8' },
    );
    assert.strictEqual(same.trim(), '>i2 (6, 7) True True');

    const plain = path.join(dir, 'psm_plain');
    fs.writeFileSync(plain, crypto.randomBytes(5000));
    const to2 = path.join(disk, 'plain.bin');
    const r2 = ok<{ format: string; sidecar: string | null; sha256: string }>(await runCli(['persist', 'psm_plain', '--to', to2, '--dir', dir, '--json']));
    assert.deepStrictEqual([r2.format, r2.sidecar], ['raw', `${to2}.json`]);
    assert.ok(fs.readFileSync(to2).equals(fs.readFileSync(plain)));
    const known = JSON.parse(fs.readFileSync(`${to2}.json`, 'utf8'));
    assert.strictEqual(known.name, 'psm_plain');
    assert.strictEqual(known.size, 5000);
    assert.strictEqual(known.sha256, r2.sha256);
    assert.strictEqual(known.producer, 'python-shared-memory');
    assert.strictEqual(known.deleted, false);
  });

  it('a deleted-but-mapped segment is rescued through its holder (fd, and map_files with --pid); a wrong --pid is refused', async () => {
    const { name, path: p } = jar.name('shmi_mpersist_del', '.npy');
    py(['npy', p, '<f4', '64,64', '--fill', 'random']);
    const want = fs.readFileSync(p);
    const fdHolder = await jar.holder(['keep', p, '--via', 'fd', '--unlink']);
    assert.ok(!fs.existsSync(p));
    const to = path.join(disk, 'rescued.npy');
    const r = ok<{ format: string; bytes: number }>(await runCli(['persist', name, '--to', to, '--json']));
    assert.strictEqual(r.format, 'npy');
    assert.ok(fs.readFileSync(to).equals(want));
    const wrong = await runCli(['persist', name, '--to', path.join(disk, 'x'), '--pid', String(process.pid)]);
    assert.strictEqual(wrong.code, 1);
    assert.match(wrong.stderr, /does not hold this deleted segment/);
    assert.ok(!fs.existsSync(path.join(disk, 'x')));

    const m = jar.name('shmi_mpersist_map', '.npy');
    py(['npy', m.path, '<i8', '1000']);
    const want2 = fs.readFileSync(m.path);
    const mapHolder = await jar.holder(['keep', m.path, '--via', 'map', '--unlink']);
    const to2 = path.join(disk, 'rescued_map.npy');
    ok(await runCli(['persist', m.name, '--to', to2, '--pid', String(mapHolder.pid), '--json']));
    assert.ok(fs.readFileSync(to2).equals(want2), 'read through /proc/PID/map_files (root)');
    fdHolder.kill();
  });

  it('persist refuses to follow a symlink planted in the directory, a folder, and a missing name; the target is never half-written', async () => {
    const victim = path.join(disk, 'victim_src');
    fs.writeFileSync(victim, 'secret');
    fs.symlinkSync(victim, path.join(dir, 'planted_link'));
    const to = path.join(disk, 'from_link');
    const r = await runCli(['persist', 'planted_link', '--to', to, '--dir', dir]);
    assert.strictEqual(r.code, 1);
    assert.match(r.stderr, /planted_link: a symbolic link \(to .*victim_src\); not followed/);
    fs.mkdirSync(path.join(dir, 'joblib_memmapping_folder_p'));
    assert.match((await runCli(['persist', 'joblib_memmapping_folder_p', '--to', to, '--dir', dir])).stderr, /a folder/);
    assert.strictEqual((await runCli(['persist', 'nope', '--to', to, '--dir', dir])).stderr, 'shm-inspector: nope: no such segment\n');
    assert.strictEqual((await runCli(['persist', 'nope', '--dir', dir])).code, 2, '--to is required');
    assert.strictEqual((await runCli(['persist', '../x', '--to', to, '--dir', dir])).code, 2);
    assert.ok(!fs.existsSync(to));
    assert.deepStrictEqual(
      fs.readdirSync(disk).filter((n) => n.startsWith('.shmi-')),
      [],
    );
  });

  it('a full target file system (own tmpfs, unshare -m): persist refused with the figures; restore into a full directory too', function () {
    if (process.getuid?.() !== 0) this.skip();
    const src = path.join(dir, 'big.npy');
    py(['npy', src, '<f8', '300000', '--fill', 'zeros']);
    const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-pfull-'));
    const snap = path.join(disk, 'big_snap.npy');
    fs.copyFileSync(src, snap);
    try {
      const out = execFileSync(
        'unshare',
        [
          '-m',
          'sh',
          '-c',
          [
            `mount -t tmpfs -o size=1m none ${mnt}`,
            `${process.execPath} ${CLI} persist big.npy --to ${mnt}/big.npy --dir ${dir} 2>&1; echo "rc=$?"`,
            `${process.execPath} ${CLI} restore ${snap} --dir ${mnt} 2>&1; echo "rc=$?"`,
            `ls -A ${mnt}`,
          ].join('\n'),
        ],
        { encoding: 'utf8' },
      );
      const lines = out.trim().split('\n');
      assert.match(
        lines[0],
        new RegExp(`^shm-inspector: not enough room in ${mnt}: big\\.npy needs 2400128 bytes \\(2\\.3 MiB\\), 1048576 bytes \\(1\\.0 MiB\\) free of 1\\.0 MiB$`),
      );
      assert.strictEqual(lines[1], 'rc=1');
      assert.match(lines[2], /^shm-inspector: not enough room in .*: big_snap\.npy needs 2400128 bytes/);
      assert.strictEqual(lines[3], 'rc=1');
      assert.strictEqual(lines.length, 4, `nothing left on the tmpfs: ${out}`);
    } finally {
      fs.rmdirSync(mnt);
    }
  });

  for (const sig of ['SIGKILL', 'SIGINT'] as const) {
    it(`${sig} during persist of a 512 MiB segment (sparse, then filled): no partial target file${sig === 'SIGINT' ? ', and the temp file is cleaned up' : ''}`, async () => {
      const big = jar.name('shmi_mpersist_big');
      py(['big', big.path, '512'], { timeout: 120_000 });
      const out = fs.mkdtempSync(path.join(disk, 'kill-'));
      const to = path.join(out, 'big.bin');
      const child = spawn(process.execPath, [CLI, 'persist', big.name, '--to', to], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      // Wait until the copy is under way: the temp file beside the target has some bytes.
      const t0 = Date.now();
      for (;;) {
        const tmp = fs.readdirSync(out).find((n) => n.startsWith('.shmi-'));
        if (tmp && fs.statSync(path.join(out, tmp)).size > 0) break;
        if (Date.now() - t0 > 60_000) throw new Error('the copy never started');
        await new Promise((r) => setTimeout(r, 2));
      }
      child.kill(sig);
      const code = await exited;
      fs.unlinkSync(big.path);
      const left = fs.readdirSync(out);
      assert.ok(!left.includes('big.bin'), `no target after ${sig}: ${left.join(', ')}`);
      assert.ok(!left.includes('big.bin.sha256'));
      if (sig === 'SIGINT') {
        assert.strictEqual(code, 1);
        assert.strictEqual(stderr, 'shm-inspector: cancelled; nothing was left behind\n');
        assert.deepStrictEqual(left, [], 'the temp file was removed');
      } else {
        // SIGKILL cannot be caught: at most the hidden temp file remains, never the target.
        assert.ok(
          left.every((n) => /^\.shmi-\d+-[0-9a-f]+\.tmp$/.test(n)),
          left.join(', '),
        );
      }
    });
  }
});
