/**
 * Issue #11 (items 1, 5, 12) and #12 (item 9): removal that only ever removes the planned inode.
 * The addon's removeEntries on its own (a name replaced, vanished, a folder grown, a file frozen);
 * a fuzz that races `clear` (dist/cli.js) against a producer exchanging and replacing names
 * (test/fixtures/rename_racer.py, renameat2 through ctypes) and checks that no file but a planned
 * one ever disappears; an interrupted clear (SIGINT mid-run) that reports exactly what is gone;
 * a folder deeper than the walk limit, refused whole. Each test works in its own directory
 * under /dev/shm and removes only that.
 */
import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { clearSegments, planClear, type ClearResult, type UnlinkOutcome } from '../../extension/core/manage';
import { removeEntries, removeEntriesTs } from '../../extension/native';
import { CLI, runCli, treeSnapshot as snapshot } from '../fixtures/cli';
import { PYTHON, pyCode, SegmentJar, untilReady } from '../fixtures/segments';

const RACER = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'rename_racer.py');

/** The directory open for removeEntries (its fd), closed after `fn`. */
async function inDir<T>(d: string, fn: (fd: number) => Promise<T>): Promise<T> {
  const fh = await fs.promises.open(d, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    return await fn(fh.fd);
  } finally {
    await fh.close();
  }
}

/** Every regular file under `d` (recursively): inode -> content. */
function inodes(d: string): Map<number, string> {
  const out = new Map<number, string>();
  const walk = (p: string) => {
    for (const n of fs.readdirSync(p)) {
      const f = path.join(p, n);
      const st = fs.lstatSync(f);
      if (st.isDirectory()) walk(f);
      else if (st.isFile()) out.set(st.ino, fs.readFileSync(f, 'latin1'));
    }
  };
  walk(d);
  return out;
}

function leftovers(d: string): string[] {
  return fs.readdirSync(d).filter((n) => n.startsWith('.shmi-rm-'));
}

describe('manage: removal races (only the planned inode is ever removed)', function () {
  this.timeout(180_000);
  const jar = new SegmentJar();
  const dirs = jar.folders('shmi_mraces');
  const freshDir = () => dirs.fresh();

  before(() => assert.ok(fs.existsSync(CLI), 'dist/cli.js is built'));
  after(() => jar.cleanup());

  for (const [impl, remove] of [
    ['removeEntries (addon)', removeEntries],
    ['removeEntries without the addon', removeEntriesTs],
  ] as const) {
    it(`${impl}: removes the planned inode; a name replaced meanwhile is put back untouched (CHANGED); vanished is ENOENT; a bad name EINVAL`, async () => {
      const d = freshDir();
      fs.writeFileSync(path.join(d, 'a'), Buffer.alloc(8192, 1));
      fs.writeFileSync(path.join(d, 'b'), 'planned b');
      fs.writeFileSync(path.join(d, 'c'), 'planned c');
      const a = fs.lstatSync(path.join(d, 'a'));
      const b = fs.lstatSync(path.join(d, 'b'));
      const c = fs.lstatSync(path.join(d, 'c'));
      // b's name is given to a new file (a producer's atomic rewrite); c's inode is planned as a folder.
      fs.writeFileSync(path.join(d, 'b.tmp'), 'new b');
      fs.renameSync(path.join(d, 'b.tmp'), path.join(d, 'b'));
      const out = await inDir(d, (fd) =>
        remove(fd, [
          { name: 'a', dev: a.dev, ino: a.ino, kind: 'file' },
          { name: 'b', dev: b.dev, ino: b.ino, kind: 'file' },
          { name: 'c', dev: c.dev, ino: c.ino, kind: 'dir' },
          { name: 'gone', dev: a.dev, ino: 1 },
          { name: '../x', dev: a.dev, ino: a.ino },
          { name: 'a', dev: a.dev, ino: a.ino },
        ]),
      );
      assert.deepStrictEqual(
        out.map((o) => o.code),
        ['OK', 'CHANGED', 'CHANGED', 'ENOENT', 'EINVAL', 'ENOENT'],
      );
      assert.strictEqual(out[0].blocks * 512, a.blocks * 512);
      assert.strictEqual(out[0].nlink, 1);
      assert.match(out[1].message!, /replaced by a different file/);
      assert.deepStrictEqual(fs.readdirSync(d).sort(), ['b', 'c']);
      assert.strictEqual(fs.readFileSync(path.join(d, 'b'), 'utf8'), 'new b');
      assert.strictEqual(fs.readFileSync(path.join(d, 'c'), 'utf8'), 'planned c');
      assert.strictEqual(fs.lstatSync(path.join(d, 'c')).ino, c.ino, 'the same inode, put back');
    });

    it(`${impl}: a folder that gained an entry is put back (ENOTEMPTY); an immutable file is EPERM and stays; a symlink goes, never its target`, async function () {
      const d = freshDir();
      const f = path.join(d, 'folder');
      fs.mkdirSync(f);
      fs.writeFileSync(path.join(f, 'late.pkl'), 'late');
      fs.writeFileSync(path.join(d, 'target'), 'target');
      fs.symlinkSync(path.join(d, 'target'), path.join(d, 'link'));
      const fst = fs.lstatSync(f);
      const lst = fs.lstatSync(path.join(d, 'link'));
      const out = await inDir(d, (fd) =>
        remove(fd, [
          { name: 'folder', dev: fst.dev, ino: fst.ino, kind: 'dir' },
          { name: 'link', dev: lst.dev, ino: lst.ino, kind: 'symlink' },
        ]),
      );
      assert.deepStrictEqual(
        out.map((o) => o.code),
        ['ENOTEMPTY', 'OK'],
      );
      assert.deepStrictEqual(fs.readdirSync(d).sort(), ['folder', 'target']);
      assert.strictEqual(fs.lstatSync(f).ino, fst.ino);
      assert.deepStrictEqual(fs.readdirSync(f), ['late.pkl']);
      const frozen = path.join(d, 'frozen');
      fs.writeFileSync(frozen, 'frozen');
      if (!jar.freeze(frozen)) return; // no chattr on this tmpfs
      const st = fs.lstatSync(frozen);
      const [o] = await inDir(d, (fd) => remove(fd, [{ name: 'frozen', dev: st.dev, ino: st.ino, kind: 'file' }]));
      assert.deepStrictEqual([o.code, o.message], ['EPERM', 'operation not permitted']);
      assert.strictEqual(fs.readFileSync(frozen, 'utf8'), 'frozen');
      jar.thaw(frozen);
      assert.deepStrictEqual(leftovers(d), []);
    });
  }

  it('fuzz: clear races a producer exchanging (RENAME_EXCHANGE) and replacing (rename(tmp, name)) names; no file but a planned one ever disappears', async () => {
    const PAIRS = 1500;
    const REPLACES = 500;
    const started = Date.now();
    let trials = 0;
    let changed = 0;
    let removedTotal = 0;
    // A few seconds of trials, at least two.
    while (trials < 2 || (Date.now() - started < 8000 && trials < 6)) {
      trials++;
      const d = freshDir();
      const old = new Date(Date.now() - 3600e3);
      const planned = new Map<string, number>();
      for (let i = 0; i < PAIRS + REPLACES; i++) {
        const p = path.join(d, `f${String(i).padStart(5, '0')}`);
        fs.writeFileSync(p, `planned ${i}`);
        fs.utimesSync(p, old, old);
        planned.set(path.basename(p), fs.lstatSync(p).ino);
      }
      // The other half of each exchanging pair: not selected by the glob, never to be removed.
      for (let i = 0; i < PAIRS; i++) fs.writeFileSync(path.join(d, `g${String(i).padStart(5, '0')}`), `bystander ${i}`);
      fs.writeFileSync(path.join(d, 'keep.old'), 'bystander');
      fs.utimesSync(path.join(d, 'keep.old'), old, old);
      const before = inodes(d);
      const log = path.join(dirs.root, `racer-${trials}.log`);
      const stop = path.join(dirs.root, `racer-${trials}.stop`);
      const racer = spawn(PYTHON, [RACER, d, String(PAIRS), String(REPLACES), log, stop], { stdio: ['ignore', 'pipe', 'inherit'] });
      let said = '';
      racer.stdout!.on('data', (b: Buffer) => (said += b.toString()));
      const ready = untilReady(racer, 'racer');
      const exited = new Promise<void>((resolve) => racer.on('exit', () => resolve()));
      let r;
      try {
        await ready;
        // Only the old f* files are planned (the racer's files are new): the plan is exactly `planned`.
        r = await runCli(['clear', '--glob', 'f*', '--older-than', '30m', '--yes', '--json', '--dir', d]);
      } finally {
        fs.writeFileSync(stop, '');
        await Promise.race([exited, new Promise((res) => setTimeout(res, 10_000))]);
        if (racer.exitCode === null) racer.kill('SIGKILL');
      }
      assert.match(said, /ops \d+ exchanges \d+/, 'the racer ran to its end');
      assert.ok(r.code === 0 || r.code === 1, r.stderr);
      const doc = JSON.parse(r.stdout) as ClearResult;
      const after = inodes(d);
      const plannedInodes = new Set(planned.values());
      // 1. Nothing but planned inodes disappeared: every bystander and every file the racer made is still there, unchanged.
      for (const [ino, content] of before) {
        if (!plannedInodes.has(ino)) assert.strictEqual(after.get(ino), content, `bystander ${content} survived`);
      }
      const made = fs.readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);
      assert.ok(made.length > 0);
      for (const line of made) {
        const [ino, tag] = line.split(' ');
        assert.strictEqual(after.get(Number(ino)), `intruder ${tag}`, `the racer's file ${tag} survived`);
      }
      // 2. What the report calls removed is gone: the planned inode of that name no longer exists.
      for (const name of doc.removed) assert.ok(!after.has(planned.get(name)!), `${name}: its planned inode is gone`);
      // 3. No private name is left behind.
      assert.deepStrictEqual(leftovers(d), []);
      for (const f of doc.failed) assert.match(f.error, /replaced by a different file while it was being removed; that file was kept/);
      changed += doc.skipped.filter((s) => /replaced by a different file/.test(s.reason)).length;
      removedTotal += doc.removed.length;
      fs.rmSync(d, { recursive: true, force: true });
      fs.rmSync(log, { force: true });
      fs.rmSync(stop, { force: true });
    }
    assert.ok(changed > 0, 'the race was exercised: some names were given to other files between plan and removal');
    assert.ok(removedTotal > 0);
  });

  it("fuzz, a folder: its entries exchanged with files outside it and replaced while the UI's clear (the planned segments) empties it; only planned entries disappear", async () => {
    const PAIRS = 600;
    const REPLACES = 200;
    let changed = 0;
    for (let trial = 1; trial <= 3; trial++) {
      const d = freshDir();
      const folder = path.join(d, 'joblib_memmapping_folder_race');
      const outside = path.join(d, 'outside');
      fs.mkdirSync(folder);
      fs.mkdirSync(outside);
      for (let i = 0; i < PAIRS + REPLACES; i++) fs.writeFileSync(path.join(folder, `f${String(i).padStart(5, '0')}`), `planned ${i}`);
      for (let i = 0; i < PAIRS; i++) fs.writeFileSync(path.join(outside, `g${String(i).padStart(5, '0')}`), `bystander ${i}`);
      const before = inodes(d);
      const { segments } = await planClear({ dir: d, glob: 'joblib_*' });
      assert.deepStrictEqual(
        segments.map((s) => [s.name, s.children!.length]),
        [['joblib_memmapping_folder_race', PAIRS + REPLACES]],
      );
      const plannedInodes = new Set(segments[0].children!.map((c) => c.ino));
      const log = path.join(dirs.root, `racer-folder-${trial}.log`);
      const stop = path.join(dirs.root, `racer-folder-${trial}.stop`);
      const racer = spawn(PYTHON, [RACER, folder, String(PAIRS), String(REPLACES), log, stop, outside], { stdio: ['ignore', 'pipe', 'inherit'] });
      const ready = untilReady(racer, 'racer');
      const exited = new Promise<void>((resolve) => racer.on('exit', () => resolve()));
      let r: ClearResult;
      try {
        await ready;
        r = await clearSegments({ dir: d, names: segments });
      } finally {
        fs.writeFileSync(stop, '');
        await Promise.race([exited, new Promise((res) => setTimeout(res, 10_000))]);
        if (racer.exitCode === null) racer.kill('SIGKILL');
      }
      const after = inodes(d);
      for (const [ino, content] of before) {
        if (!plannedInodes.has(ino)) assert.strictEqual(after.get(ino), content, `bystander ${content} survived`);
      }
      for (const line of fs.readFileSync(log, 'utf8').trim().split('\n').filter(Boolean)) {
        const [ino, tag] = line.split(' ');
        assert.strictEqual(after.get(Number(ino)), `intruder ${tag}`, `the racer's file ${tag} survived`);
      }
      const planned = new Map(segments[0].children!.map((c) => [c.name, c.ino]));
      for (const name of r.removed) assert.ok(!after.has(planned.get(name)!), `${name}: its planned inode is gone`);
      assert.ok(fs.existsSync(folder), 'the folder stays: files not planned are in it');
      assert.deepStrictEqual(leftovers(folder), []);
      changed += r.skipped.filter((s) => /replaced by a different file/.test(s.reason)).length;
      fs.rmSync(d, { recursive: true, force: true });
      fs.rmSync(log, { force: true });
      fs.rmSync(stop, { force: true });
    }
    assert.ok(changed > 0, 'the race was exercised');
  });

  it('an interrupted clear (SIGINT mid-run over many entries) prints the same document with interrupted: true, removed = exactly what is gone, exit 1', async () => {
    const d = freshDir();
    const COUNT = 20_000;
    pyCode(`import os,sys\nfor i in range(${COUNT}): open(os.path.join(sys.argv[1], 'psm_%06d' % i), 'wb').close()`, [d]);
    const before = new Set(fs.readdirSync(d));
    assert.strictEqual(before.size, COUNT);
    const child = spawn(process.execPath, [CLI, 'clear', '--glob', 'psm_*', '--yes', '--json', '--dir', d], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    // The first change to the directory means removal has begun: interrupt.
    const watcher = fs.watch(d, () => {
      watcher.close();
      child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    watcher.close();
    assert.strictEqual(code, 1, stderr);
    const doc = JSON.parse(stdout) as ClearResult;
    assert.strictEqual(doc.interrupted, true);
    const after = new Set(fs.readdirSync(d));
    const gone = [...before].filter((x) => !after.has(x));
    assert.ok(gone.length > 0 && gone.length < COUNT, `interrupted mid-run: ${gone.length} of ${COUNT} removed`);
    assert.deepStrictEqual([...doc.removed].sort(), gone.sort(), 'removed names exactly what is gone');
    assert.deepStrictEqual([doc.skipped, doc.failed], [[], []]);
    assert.deepStrictEqual(leftovers(d), []);
    assert.match(stderr, /^shm-inspector: interrupted: \d+ removed before it stopped/);
  });

  it('a folder nested deeper than the walk limit is refused whole before anything is removed (clear, dry run, unlink)', async () => {
    const d = freshDir();
    let p = path.join(d, 'joblib_memmapping_folder_deep');
    fs.mkdirSync(p);
    for (let level = 0; level < 18; level++) {
      fs.writeFileSync(path.join(p, `level${level}.pkl`), Buffer.alloc(4096, level));
      p = path.join(p, 'sub');
      fs.mkdirSync(p);
    }
    fs.writeFileSync(path.join(p, 'bottom.pkl'), 'bottom');
    fs.writeFileSync(path.join(d, 'joblib_shallow.pkl'), 'shallow');
    const before = snapshot(d);
    const dry = JSON.parse((await runCli(['clear', '--glob', 'joblib_*', '--json', '--dir', d])).stdout) as ClearResult;
    assert.deepStrictEqual(dry.planned, ['joblib_shallow.pkl']);
    assert.deepStrictEqual(
      dry.failed.map((f) => f.name),
      ['joblib_memmapping_folder_deep'],
    );
    assert.match(dry.failed[0].error, /^not all of it could be listed \(.*nested deeper than 16 levels.*\); none of it is removed$/);
    const r = await runCli(['clear', '--glob', 'joblib_*', '--yes', '--json', '--dir', d]);
    assert.strictEqual(r.code, 1);
    const doc = JSON.parse(r.stdout) as ClearResult;
    assert.deepStrictEqual(doc.removed, ['joblib_shallow.pkl']);
    assert.deepStrictEqual(doc.failed, dry.failed);
    const u = await runCli(['unlink', 'joblib_memmapping_folder_deep', 'joblib_shallow.pkl', '--dir', d, '--json']);
    assert.strictEqual(u.code, 1);
    const out = (JSON.parse(u.stdout) as { outcomes: UnlinkOutcome[] }).outcomes;
    assert.deepStrictEqual(
      out.map((o) => [o.status, o.error]),
      [
        ['failed', dry.failed[0].error],
        ['missing', 'no such segment'],
      ],
    );
    const expect = { ...before };
    delete expect['joblib_shallow.pkl'];
    assert.deepStrictEqual(snapshot(d), expect, 'not one entry of the deep folder was removed');
  });
});
