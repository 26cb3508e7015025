/**
 * Issue 6, unlink and clear: `shm-inspector unlink` / `clear` (dist/cli.js as a child process)
 * and clearSegments/unlinkSegments in-process, each in its own directory under /dev/shm
 * (so other processes' segments never count), with hostile input: symlinks planted to the
 * outside, files vanishing or replaced mid-clear, folders growing meanwhile, held segments,
 * permission denied (as nobody, and as root without capabilities), chattr +i.
 * Every test compares the directory listing before and after.
 */
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { clearSegments, globRegExp, planClear, unlinkSegments, type ClearResult, type UnlinkOutcome } from '../../extension/core/manage';
import { py, pyFormats, SegmentJar } from '../fixtures/segments';
import { CLI, runCli as runCliWith, treeSnapshot as snapshot, type Run } from '../fixtures/cli';
const runCli = (args: string[], as?: string[]): Promise<Run> => runCliWith(args, { as });

const NOBODY = ['--reuid', 'nobody', '--regid', 'nogroup', '--clear-groups'];
const NO_CAPS = ['--bounding-set', '-dac_override,-dac_read_search,-fowner', '--inh-caps', '-all'];

/** Asserts that `after` is `before` minus exactly `gone` (and plus `added`, when given). */
function changed(before: Record<string, string>, after: Record<string, string>, gone: string[], added: string[] = []): void {
  const expect = { ...before };
  for (const g of gone) {
    assert.ok(g in expect, `${g} was there`);
    delete expect[g];
  }
  const got = { ...after };
  for (const a of added) delete got[a];
  assert.deepStrictEqual(got, expect);
}

function canSetpriv(): boolean {
  return process.getuid?.() === 0 && fs.existsSync('/usr/bin/setpriv');
}

describe('manage: unlink and clear', function () {
  this.timeout(120_000);
  const jar = new SegmentJar();
  let outside: string;
  const dirs = jar.folders('shmi_mremove');
  /** A fresh directory for one test. */
  const freshDir = () => dirs.fresh();
  const file = (d: string, name: string, bytes = 4096, mode = 0o600) => {
    const p = path.join(d, name);
    fs.writeFileSync(p, Buffer.alloc(bytes, 7), { mode });
    return p;
  };

  before(() => {
    assert.ok(fs.existsSync(CLI), 'dist/cli.js is built');
    outside = jar.folder('shmi_mremove_outside');
    fs.writeFileSync(path.join(outside, 'victim.shm'), 'precious');
    fs.mkdirSync(path.join(outside, 'victim_dir'));
    fs.writeFileSync(path.join(outside, 'victim_dir', 'inner.pkl'), 'precious too');
  });
  after(() => jar.cleanup());

  it('globRegExp: *, ?, [..], [!..]; * never crosses /; regex characters are literal', () => {
    const g = (p: string, s: string) => globRegExp(p).test(s);
    assert.ok(g('*.shm', 'a.shm') && !g('*.shm', 'a.shmx') && !g('*.shm', 'd/a.shm'));
    assert.ok(g('psm_*', 'psm_1a2b') && !g('psm_*', 'xpsm_1'));
    assert.ok(g('a?c', 'abc') && !g('a?c', 'ac'));
    assert.ok(g('[ab]x', 'bx') && !g('[!ab]x', 'bx') && g('[!ab]x', 'cx'));
    assert.ok(g('a.(b)+', 'a.(b)+') && !g('a.(b)+', 'aX(b)+'));
  });

  it('clear without a selector: usage error 2; a bad duration: 2', async () => {
    const d = freshDir();
    file(d, 'a.shm');
    const before = snapshot(d);
    for (const args of [
      ['clear', '--dir', d],
      ['clear', '--yes', '--dir', d],
      ['clear', '--older-than', '5x', '--dir', d],
      ['clear', '--glob', 'x', 'extra', '--dir', d],
    ]) {
      const r = await runCli(args);
      assert.strictEqual(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.strictEqual(r.stdout, '');
      assert.match(r.stderr, /^shm-inspector: .*\n$/);
    }
    assert.match((await runCli(['clear', '--dir', d])).stderr, /at least one selector/);
    assert.deepStrictEqual(snapshot(d), before);
  });

  it('clear --glob without --yes prints the plan and removes nothing; --json gives the contract document with dryRun', async () => {
    const d = freshDir();
    file(d, 'a.shm');
    file(d, 'b.shm', 8192);
    file(d, 'psm_1');
    const before = snapshot(d);
    const text = await runCli(['clear', '--glob', '*.shm', '--dir', d]);
    assert.strictEqual(text.code, 0, text.stderr);
    assert.match(text.stdout, /would remove 2 entries/);
    assert.match(text.stdout, /^ {2}a\.shm$/m);
    assert.match(text.stdout, /pass --yes/);
    const j = await runCli(['clear', '--glob', '*.shm', '--dir', d, '--json']);
    const doc = JSON.parse(j.stdout) as ClearResult;
    // Issue #12 item 9 (a correction of the contract): the plan is `planned`; `removed` names only what is gone.
    assert.deepStrictEqual(doc, { dryRun: true, planned: ['a.shm', 'b.shm'], removed: [], skipped: [], failed: [], bytes: 12288, pendingBytes: 0 });
    const dry = JSON.parse((await runCli(['clear', '--glob', '*.shm', '--dry-run', '--yes', '--dir', d, '--json'])).stdout) as ClearResult;
    assert.strictEqual(dry.dryRun, true);
    assert.deepStrictEqual([dry.planned, dry.removed], [['a.shm', 'b.shm'], []]);
    assert.deepStrictEqual(snapshot(d), before, 'nothing changed');
    const done = await runCli(['clear', '--glob', '*.shm', '--yes', '--dir', d, '--json']);
    assert.strictEqual(done.code, 0);
    assert.deepStrictEqual(JSON.parse(done.stdout), { removed: ['a.shm', 'b.shm'], skipped: [], failed: [], bytes: 12288, pendingBytes: 0 });
    changed(before, snapshot(d), ['a.shm', 'b.shm']);
  });

  it('selectors combine with AND: --glob and --older-than', async () => {
    const d = freshDir();
    const old = file(d, 'psm_old');
    file(d, 'psm_new');
    const oldOther = file(d, 'other_old');
    const t = new Date(Date.now() - 3 * 3600e3);
    fs.utimesSync(old, t, t);
    fs.utimesSync(oldOther, t, t);
    const before = snapshot(d);
    const r = JSON.parse((await runCli(['clear', '--glob', 'psm_*', '--older-than', '2h', '--yes', '--json', '--dir', d])).stdout) as ClearResult;
    assert.deepStrictEqual(r.removed, ['psm_old']);
    changed(before, snapshot(d), ['psm_old']);
    const none = JSON.parse((await runCli(['clear', '--older-than', '4h', '--yes', '--json', '--dir', d])).stdout) as ClearResult;
    assert.deepStrictEqual(none.removed, []);
  });

  it('in-use segments are skipped (named holders) unless --include-in-use; then their RAM is pendingBytes; --orphans never takes a held one', async () => {
    const d = freshDir();
    const held = path.join(d, 'held.npy');
    py(['npy', held, '<f8', '1024']);
    const h = await jar.holder(['keep', held, '--via', 'map']);
    file(d, 'free.bin', 4096);
    const alloc = fs.statSync(held).blocks * 512;
    const before = snapshot(d);
    const plan = JSON.parse((await runCli(['clear', '--glob', '*', '--json', '--dir', d])).stdout) as ClearResult;
    assert.deepStrictEqual([plan.planned, plan.removed], [['free.bin'], []]);
    assert.deepStrictEqual(plan.skipped, [{ name: 'held.npy', reason: `in use by python3 (pid ${h.pid})` }]);
    const orph = JSON.parse((await runCli(['clear', '--orphans', '--include-in-use', '--json', '--dir', d])).stdout) as ClearResult;
    assert.ok(!orph.planned!.includes('held.npy'), 'a held segment is not an orphan');
    assert.deepStrictEqual(snapshot(d), before);
    const r = JSON.parse((await runCli(['clear', '--glob', 'held*', '--include-in-use', '--yes', '--json', '--dir', d])).stdout) as ClearResult;
    assert.deepStrictEqual(r, { removed: ['held.npy'], skipped: [], failed: [], bytes: 0, pendingBytes: alloc });
    changed(before, snapshot(d), ['held.npy']);
  });

  it('--orphans: unheld segments go; where some process cannot be inspected it says so instead of guessing', async () => {
    const d = freshDir();
    file(d, 'orphan.bin');
    const held = file(d, 'held.bin');
    await jar.holder(['keep', held, '--via', 'fd']);
    const before = snapshot(d);
    const list = JSON.parse(execFileSync(process.execPath, [CLI, 'list', '--json', '--dir', d], { encoding: 'utf8' }));
    const r = JSON.parse((await runCli(['clear', '--orphans', '--yes', '--json', '--dir', d])).stdout) as ClearResult;
    if (list.invisibleProcesses === 0) {
      assert.deepStrictEqual(r.removed, ['orphan.bin']);
      changed(before, snapshot(d), ['orphan.bin']);
    } else {
      // (Here PID 1 belongs to the sandbox and cannot be read even by root.)
      assert.deepStrictEqual(r.removed, []);
      assert.deepStrictEqual(
        r.skipped.map((s) => s.name),
        ['orphan.bin'],
      );
      assert.match(r.skipped[0].reason, /cannot tell whether it is an orphan/);
      assert.deepStrictEqual(snapshot(d), before);
      const r2 = JSON.parse((await runCli(['clear', '--orphans', '--include-in-use', '--yes', '--json', '--dir', d])).stdout) as ClearResult;
      assert.deepStrictEqual(r2.removed, ['orphan.bin'], 'held.bin (visibly held) is still not an orphan');
      changed(before, snapshot(d), ['orphan.bin']);
    }
  });

  it('a symlink planted to the outside: clear and unlink remove the link at most, never the target (file or folder)', async () => {
    const d = freshDir();
    fs.symlinkSync(path.join(outside, 'victim.shm'), path.join(d, 'link.shm'));
    fs.symlinkSync(path.join(outside, 'victim_dir'), path.join(d, 'joblib_memmapping_folder_link'));
    fs.symlinkSync(path.join(outside, 'victim_dir', 'inner.pkl'), path.join(d, 'psm_link'));
    file(d, 'real.shm');
    const before = snapshot(d);
    const out0 = snapshot(outside);
    const r = JSON.parse((await runCli(['clear', '--glob', '*.shm', '--yes', '--json', '--dir', d])).stdout) as ClearResult;
    assert.deepStrictEqual(r.removed, ['link.shm', 'real.shm']);
    const r2 = JSON.parse((await runCli(['clear', '--glob', 'joblib_*', '--yes', '--json', '--dir', d])).stdout) as ClearResult;
    assert.deepStrictEqual(r2.removed, ['joblib_memmapping_folder_link']);
    const u = await runCli(['unlink', 'psm_link', '--dir', d]);
    assert.strictEqual(u.code, 0, u.stderr);
    changed(before, snapshot(d), ['link.shm', 'real.shm', 'joblib_memmapping_folder_link', 'psm_link']);
    assert.deepStrictEqual(snapshot(outside), out0, 'nothing outside changed');
    assert.strictEqual(fs.readFileSync(path.join(outside, 'victim.shm'), 'utf8'), 'precious');
    // unlink NAME outside the directory: usage error, nothing removed.
    for (const bad of ['../' + path.basename(outside) + '/victim.shm', path.join(outside, 'victim.shm'), 'joblib_memmapping_folder_x/../../x']) {
      const e = await runCli(['unlink', bad, '--dir', d]);
      assert.strictEqual(e.code, 2, `${bad}: ${e.stderr}`);
    }
    assert.deepStrictEqual(snapshot(outside), out0);
  });

  it('a folder is removed entry by entry as listed (symlinks inside are not followed); one that grows meanwhile is left in place', async () => {
    const d = freshDir();
    const f = path.join(d, 'joblib_memmapping_folder_1');
    fs.mkdirSync(f);
    file(f, 'a.pkl');
    fs.mkdirSync(path.join(f, 'sub'));
    file(path.join(f, 'sub'), 'b.pkl');
    fs.symlinkSync(path.join(outside, 'victim_dir'), path.join(f, 'escape'));
    const out0 = snapshot(outside);
    const before = snapshot(d);
    const u = await runCli(['unlink', 'joblib_memmapping_folder_1', '--dir', d, '--json']);
    assert.strictEqual(u.code, 0, u.stderr);
    const doc = JSON.parse(u.stdout) as { outcomes: UnlinkOutcome[]; bytes: number };
    assert.strictEqual(doc.outcomes[0].status, 'removed');
    assert.strictEqual(doc.bytes, 8192);
    changed(before, snapshot(d), Object.keys(before));
    assert.deepStrictEqual(snapshot(outside), out0);

    // A new entry appears in the folder after it was planned: the planned entry goes, the folder stays with the newcomer.
    const g = path.join(d, 'joblib_memmapping_folder_2');
    fs.mkdirSync(g);
    file(g, 'x.pkl');
    const before2 = snapshot(d);
    const { segments } = await planClear({ dir: d, glob: 'joblib_*' });
    fs.writeFileSync(path.join(g, 'late.pkl'), 'late');
    const r = await clearSegments({ dir: d, names: segments });
    assert.deepStrictEqual(r.removed, ['joblib_memmapping_folder_2/x.pkl'], 'what is gone: the planned entry');
    assert.deepStrictEqual(r.failed, [{ name: 'joblib_memmapping_folder_2', error: 'entries that were not listed appeared in it; the folder is left in place' }]);
    changed(before2, snapshot(d), ['joblib_memmapping_folder_2/x.pkl'], ['joblib_memmapping_folder_2/late.pkl']);
  });

  it('between plan and removal: a file that vanished is skipped, one replaced by a new inode is left alone (the UI removes exactly what it showed)', async () => {
    const d = freshDir();
    for (const nm of ['a.shm', 'gone.shm', 'swap.shm', 'z.shm']) file(d, nm);
    const before = snapshot(d);
    const { result, segments } = await planClear({ dir: d, glob: '*.shm' });
    assert.deepStrictEqual(result.planned, ['a.shm', 'gone.shm', 'swap.shm', 'z.shm']);
    fs.unlinkSync(path.join(d, 'gone.shm'));
    // Someone replaces it: a new file renamed over the name (a different inode).
    fs.writeFileSync(path.join(d, 'swap.new'), 'new content');
    fs.renameSync(path.join(d, 'swap.new'), path.join(d, 'swap.shm'));
    const r = await clearSegments({ dir: d, names: segments });
    assert.deepStrictEqual(r.removed, ['a.shm', 'z.shm']);
    assert.deepStrictEqual(r.skipped, [
      { name: 'gone.shm', reason: 'no such segment' },
      { name: 'swap.shm', reason: 'replaced by a different file since it was listed; left alone' },
    ]);
    assert.deepStrictEqual(r.failed, []);
    assert.strictEqual(r.bytes, 2 * 4096);
    const after = snapshot(d);
    assert.deepStrictEqual(Object.keys(after), ['swap.shm']);
    assert.notStrictEqual(after['swap.shm'], before['swap.shm'], 'the new file, kept');
    assert.strictEqual(fs.readFileSync(path.join(d, 'swap.shm'), 'utf8'), 'new content');
    // unlink with the identity shown (the tree's Unlink): the same.
    const u = await unlinkSegments({ dir: d, names: [{ name: 'swap.shm', dev: segments[2].dev, ino: segments[2].ino }] });
    assert.deepStrictEqual(
      u.map((o) => [o.status, o.error]),
      [['failed', 'replaced by a different file since it was listed; left alone']],
    );
    assert.strictEqual(fs.readFileSync(path.join(d, 'swap.shm'), 'utf8'), 'new content');
  });

  it('a folder swapped for a symlink to the outside after listing: nothing outside is touched', async () => {
    const d = freshDir();
    const f = path.join(d, 'joblib_memmapping_folder_s');
    fs.mkdirSync(f);
    file(f, 'inner.pkl');
    const out0 = snapshot(outside);
    const realOpen = fs.promises.open;
    let swapped = false;
    fs.promises.open = (async (p: fs.PathLike, ...rest: unknown[]) => {
      if (!swapped && String(p).endsWith('/joblib_memmapping_folder_s') && String(p).startsWith('/proc/self/fd/')) {
        swapped = true;
        fs.renameSync(f, path.join(d, 'moved_away'));
        fs.symlinkSync(path.join(outside, 'victim_dir'), f);
      }
      return (realOpen as (...a: unknown[]) => Promise<fs.promises.FileHandle>)(p, ...rest);
    }) as typeof fs.promises.open;
    let r: ClearResult;
    try {
      r = await clearSegments({ dir: d, glob: 'joblib_*' });
    } finally {
      fs.promises.open = realOpen;
    }
    assert.ok(swapped);
    assert.deepStrictEqual(r.removed, []);
    assert.deepStrictEqual(r.skipped, [{ name: 'joblib_memmapping_folder_s', reason: 'replaced since it was listed; left alone' }]);
    assert.deepStrictEqual(snapshot(outside), out0);
    assert.ok(fs.existsSync(path.join(d, 'moved_away', 'inner.pkl')));
  });

  it('deleted-but-mapped segments are never cleared; unlink calls them missing and names their holders', async () => {
    const d = freshDir();
    const p = path.join(d, 'del.npy');
    py(['npy', p, '<f4', '100']);
    const h = await jar.holder(['keep', p, '--via', 'fd', '--unlink']);
    const r = JSON.parse((await runCli(['clear', '--glob', '*', '--include-in-use', '--yes', '--json', '--dir', d])).stdout) as ClearResult;
    assert.deepStrictEqual(r, { removed: [], skipped: [], failed: [], bytes: 0, pendingBytes: 0 });
    const byName = await clearSegments({ dir: d, names: ['del.npy'], includeInUse: true });
    assert.deepStrictEqual(byName.skipped, [{ name: 'del.npy', reason: `deleted but still mapped by python3 (pid ${h.pid}); never cleared` }]);
    const u = await runCli(['unlink', 'del.npy', '--force', '--dir', d]);
    assert.strictEqual(u.code, 1);
    assert.match(u.stderr, new RegExp(`^shm-inspector: del\\.npy: already unlinked; still held by python3 \\(pid ${h.pid}\\)\\n$`));
  });

  it('unlink refuses a held segment without --force (naming holders), and with --force says the RAM stays until they let go', async () => {
    const d = freshDir();
    const p = path.join(d, 'held.npy');
    py(['npy', p, '<f8', '2048']);
    const h = await jar.holder(['keep', p, '--via', 'map']);
    const alloc = fs.statSync(p).blocks * 512;
    const before = snapshot(d);
    const r = await runCli(['unlink', 'held.npy', '--dir', d]);
    assert.strictEqual(r.code, 1);
    assert.strictEqual(r.stdout, '');
    assert.match(r.stderr, new RegExp(`^shm-inspector: held\\.npy: held by python3 \\(pid ${h.pid}\\); pass --force .*RAM stays in use.*\\n$`));
    assert.deepStrictEqual(snapshot(d), before);
    const f = await runCli(['unlink', '/held.npy', '--force', '--dir', d, '--json']);
    assert.strictEqual(f.code, 0, f.stderr);
    const doc = JSON.parse(f.stdout) as { outcomes: UnlinkOutcome[]; bytes: number; pendingBytes: number };
    assert.deepStrictEqual(doc.outcomes, [
      {
        name: 'held.npy',
        status: 'removed',
        error: `its RAM is not freed until python3 (pid ${h.pid}) let go`,
        bytes: 0,
        pendingBytes: alloc,
        holders: [{ pid: h.pid, comm: 'python3', via: 'map' }],
      },
    ]);
    assert.strictEqual(doc.pendingBytes, alloc);
    changed(before, snapshot(d), ['held.npy']);
  });

  it('unlink of several names: the others go, a missing one is a partial failure (exit 1, details on stdout, one line on stderr)', async () => {
    const d = freshDir();
    file(d, 'a');
    file(d, 'b', 8192);
    const before = snapshot(d);
    const r = await runCli(['unlink', 'a', 'missing', 'b', '--dir', d, '--json']);
    assert.strictEqual(r.code, 1);
    const doc = JSON.parse(r.stdout) as { outcomes: UnlinkOutcome[]; bytes: number };
    assert.deepStrictEqual(
      doc.outcomes.map((o) => [o.name, o.status]),
      [
        ['a', 'removed'],
        ['missing', 'missing'],
        ['b', 'removed'],
      ],
    );
    assert.strictEqual(doc.bytes, 12288);
    assert.match(r.stderr, /^shm-inspector: 1 of 3 not unlinked.*\n$/);
    changed(before, snapshot(d), ['a', 'b']);
    const t = await runCli(['unlink', 'gone', '--dir', d]);
    assert.strictEqual(t.code, 1);
    assert.strictEqual(t.stderr, 'shm-inspector: gone: no such segment\n');
    assert.strictEqual((await runCli(['unlink', '--dir', d])).code, 2);
  });

  it('a tensor among several names: refused as part of its container, as when named alone; in clear, it never keeps its container named too from going', async () => {
    const d = freshDir();
    const model = path.join(d, 'm.safetensors');
    pyFormats(['safetensors', model, 'w:F32:4,4;b:F32:4']);
    file(d, 'a');
    const before = snapshot(d);
    const part = 'part of a container file; unlink the container';
    const alone = await unlinkSegments({ dir: d, names: ['m.safetensors/w'] });
    assert.deepStrictEqual(
      alone.map((o) => [o.name, o.status, o.error]),
      [['m.safetensors/w', 'failed', part]],
    );
    const r = await runCli(['unlink', 'm.safetensors/w', 'a', '--dir', d, '--json']);
    assert.strictEqual(r.code, 1);
    const doc = JSON.parse(r.stdout) as { outcomes: UnlinkOutcome[] };
    assert.deepStrictEqual(
      doc.outcomes.map((o) => [o.name, o.status, o.error]),
      [
        ['m.safetensors/w', 'failed', part],
        ['a', 'removed', null],
      ],
    );
    changed(before, snapshot(d), ['a']);
    const c = await clearSegments({ dir: d, names: ['m.safetensors/b', 'm.safetensors'] });
    assert.deepStrictEqual(c.removed, ['m.safetensors']);
    assert.deepStrictEqual(c.skipped, [{ name: 'm.safetensors/b', reason: 'part of a container file; not removed on its own' }]);
    changed(before, snapshot(d), ['a', 'm.safetensors']);
  });

  it('permission denied as nobody: a root-owned 0600 segment in a root-owned sticky directory lands in failed (EPERM), exit 1; unlink too', async function () {
    if (!canSetpriv()) this.skip();
    const d = freshDir();
    fs.chmodSync(d, 0o1777);
    file(d, 'roots.shm', 4096, 0o600);
    const before = snapshot(d);
    const r = await runCli(['clear', '--glob', '*.shm', '--yes', '--json', '--dir', d], NOBODY);
    assert.strictEqual(r.code, 1, r.stderr);
    const doc = JSON.parse(r.stdout) as ClearResult;
    assert.deepStrictEqual(doc.removed, []);
    assert.strictEqual(doc.failed.length, 1);
    assert.strictEqual(doc.failed[0].name, 'roots.shm');
    assert.match(doc.failed[0].error, /^(EPERM|EACCES): /);
    assert.match(r.stderr, /^shm-inspector: 1 could not be removed/);
    const u = await runCli(['unlink', 'roots.shm', '--dir', d], NOBODY);
    assert.strictEqual(u.code, 1);
    assert.match(u.stderr, /^shm-inspector: roots\.shm: .*(EPERM|EACCES)/);
    assert.deepStrictEqual(snapshot(d), before);
  });

  it('permission denied as root without capabilities: a directory it may not write (EACCES), exit 1', async function () {
    if (!canSetpriv()) this.skip();
    const d = freshDir();
    file(d, 'x.shm');
    fs.chownSync(d, 65534, 65534);
    fs.chmodSync(d, 0o755);
    const before = snapshot(d);
    const r = await runCli(['clear', '--glob', '*', '--yes', '--json', '--dir', d], NO_CAPS);
    assert.strictEqual(r.code, 1, r.stderr);
    const doc = JSON.parse(r.stdout) as ClearResult;
    assert.deepStrictEqual(
      doc.failed.map((f) => f.name),
      ['x.shm'],
    );
    assert.match(doc.failed[0].error, /^EACCES: permission denied/);
    const u = await runCli(['unlink', 'x.shm', '--dir', d], NO_CAPS);
    assert.strictEqual(u.code, 1);
    assert.match(u.stderr, /EACCES/);
    assert.deepStrictEqual(snapshot(d), before);
  });

  it('chattr +i (immutable, even for root): clear reports EPERM in failed, the others still go', async function () {
    const d = freshDir();
    const p = file(d, 'frozen.shm');
    file(d, 'thawed.shm');
    if (!jar.freeze(p)) this.skip(); // no chattr on this tmpfs
    const before = snapshot(d);
    const r = await runCli(['clear', '--glob', '*.shm', '--yes', '--json', '--dir', d]);
    assert.strictEqual(r.code, 1);
    const doc = JSON.parse(r.stdout) as ClearResult;
    assert.deepStrictEqual(doc.removed, ['thawed.shm']);
    assert.deepStrictEqual(doc.failed, [{ name: 'frozen.shm', error: 'EPERM: operation not permitted' }]);
    changed(before, snapshot(d), ['thawed.shm']);
    jar.thaw(p);
  });

  it('unlinkSegments in-process: outcomes in order; names outside the directory are usage errors before anything is removed', async () => {
    const d = freshDir();
    file(d, 'k');
    const before = snapshot(d);
    await assert.rejects(unlinkSegments({ dir: d, names: ['k', '../x'] }), /is outside/);
    assert.deepStrictEqual(snapshot(d), before);
    const out = await unlinkSegments({ dir: d, names: ['k'] });
    assert.deepStrictEqual(
      out.map((o) => o.status),
      ['removed'],
    );
  });
});
