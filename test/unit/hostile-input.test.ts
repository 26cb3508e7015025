/**
 * Hostile input, second round (issue #11 items 4, 8, 10, 11; #12 items 10, 11): process names,
 * error messages, link targets and paths with newlines and escapes; spelled names for `create`
 * and `restore --name`; `clear --glob` over `./NAME` entries; `.shmi-*` names that are not ours.
 * Each test works in its own directory (never all of /dev/shm) and removes what it made.
 */
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { CLI, runCli } from '../fixtures/cli';
import { SegmentJar } from '../fixtures/segments';

/** The lines of a text, without the empty one after its last newline. */
const lines = (s: string) => s.split('\n').filter((l, i, a) => !(l === '' && i === a.length - 1));

describe('hostile input: names, messages and paths', function () {
  this.timeout(60_000);
  const jar = new SegmentJar();
  const dirs = jar.folders('shmi_hostile');
  const freshDir = () => dirs.fresh();
  let tmp: string;
  /** A process that names itself `comm` (prctl PR_SET_NAME) and maps `file` (Python's mmap); resolves when it has. */
  const namedHolder = (comm: Buffer, file: string) =>
    jar.mapper(
      [
        'ctypes.CDLL(None).prctl(15, ctypes.c_char_p(bytes.fromhex(sys.argv[1])), 0, 0, 0)',
        'fd = os.open(sys.argv[2], os.O_RDWR)',
        'm = mmap.mmap(fd, 0)',
        'os.close(fd)',
      ],
      [comm.toString('hex'), file],
    );

  before(() => {
    assert.ok(fs.existsSync(CLI), 'dist/cli.js is built');
    tmp = jar.temp('shmi-hostile-');
  });
  after(() => jar.cleanup());

  it('a process name with a newline and ESC is escaped in unlink refusals and listings, never splitting a line', async () => {
    const d = freshDir();
    const file = path.join(d, 'plain');
    fs.writeFileSync(file, Buffer.alloc(4096, 1));
    const h = await namedHolder(Buffer.from('ev\nil\x1b[1m', 'latin1'), file);
    const shown = `ev\\x0ail\\x1b[1m (pid ${h.pid})`;
    const one = await runCli(['unlink', 'plain', '--dir', d]);
    assert.strictEqual(one.code, 1);
    assert.strictEqual(one.stderr, `shm-inspector: plain: held by ${shown}; pass --force to unlink it anyway (its RAM stays in use until they let go)\n`);
    const two = await runCli(['unlink', 'plain', 'lat\\xe9', '--dir', d]);
    assert.ok(lines(two.stdout).includes(`plain: held by ${shown}; pass --force to unlink it anyway (its RAM stays in use until they let go)`), two.stdout);
    assert.ok(!/\x1b/.test(two.stdout + two.stderr), 'no raw ESC');
    const list = await runCli(['list', '--dir', d]);
    assert.ok(!list.stdout.includes('\x1b') && !lines(list.stdout).some((l) => l.startsWith('il')), list.stdout);
    assert.ok(list.stdout.includes(`ev\\x0ail\\x1b[1m(${h.pid})`), list.stdout);
    const info = await runCli(['inspect', 'plain', '--dir', d]);
    assert.ok(info.stdout.includes(`ev\\x0ail\\x1b[1m (pid ${h.pid}, `), info.stdout);
    assert.ok(fs.existsSync(file), 'still there');
  });

  it('an error message is the whole message on one stderr line, its newlines and escapes escaped', async () => {
    const d = freshDir();
    fs.symlinkSync('/tmp/t\x1b[2J\nevil', path.join(d, 'link'));
    const r = await runCli(['persist', 'link', '--dir', d, '--to', path.join(tmp, 'l')]);
    assert.strictEqual(r.code, 1);
    assert.strictEqual(lines(r.stderr).length, 1, r.stderr);
    assert.ok(r.stderr.includes('/tmp/t\\x1b[2J\\x0aevil'), r.stderr);
    assert.ok(!fs.existsSync(path.join(tmp, 'l')));
    const missing = path.join(tmp, 'no\nsuch');
    const r2 = await runCli(['restore', missing, '--dir', d, '--name', 'x']);
    assert.strictEqual(r2.code, 1);
    assert.strictEqual(lines(r2.stderr).length, 1, r2.stderr);
    assert.ok(r2.stderr.includes(`${tmp}/no\\x0asuch`), r2.stderr);
  });

  it("clear --glob '*' takes an entry written ./NAME (a file named sysv:fake or memfd:x) like any other", async () => {
    const d = freshDir();
    for (const f of ['sysv:fake', 'memfd:x', 'plain']) fs.writeFileSync(path.join(d, f), 'x');
    const list = JSON.parse((await runCli(['list', '--json', '--dir', d])).stdout) as { segments: { name: string }[] };
    assert.deepStrictEqual(list.segments.map((s) => s.name).sort(), ['./memfd:x', './sysv:fake', 'plain']);
    const some = JSON.parse((await runCli(['clear', '--glob', 'sysv:*', '--yes', '--json', '--dir', d])).stdout) as { removed: string[] };
    assert.deepStrictEqual(some.removed, ['./sysv:fake']);
    const all = JSON.parse((await runCli(['clear', '--glob', '*', '--yes', '--json', '--dir', d])).stdout) as { removed: string[] };
    assert.deepStrictEqual(all.removed.sort(), ['./memfd:x', 'plain']);
    assert.deepStrictEqual(fs.readdirSync(d), []);
  });

  it('only our own temporary names are hidden: a user .shmi-cache is listed, inspected and unlinked', async () => {
    const d = freshDir();
    fs.writeFileSync(path.join(d, '.shmi-cache'), Buffer.alloc(8192, 3));
    fs.writeFileSync(path.join(d, '.shmi-123-0123456789ab.tmp'), 'ours');
    fs.writeFileSync(path.join(d, '.shmi-rm-0123456789abcdef'), 'ours');
    const list = JSON.parse((await runCli(['list', '--json', '--dir', d])).stdout) as { segments: { name: string }[] };
    assert.deepStrictEqual(
      list.segments.map((s) => s.name),
      ['.shmi-cache'],
    );
    const info = await runCli(['inspect', '.shmi-cache', '--dir', d]);
    assert.strictEqual(info.code, 0, info.stderr);
    const u = await runCli(['unlink', '.shmi-cache', '--dir', d]);
    assert.strictEqual(u.code, 0, u.stderr);
    assert.deepStrictEqual(fs.readdirSync(d).sort(), ['.shmi-123-0123456789ab.tmp', '.shmi-rm-0123456789abcdef']);
    const c = await runCli(['create', '.shmi-cache2', '--dtype', 'u1', '--shape', '4', '--dir', d]);
    assert.strictEqual(c.code, 0, c.stderr);
    const bad = await runCli(['create', '.shmi-1-0123456789ab.tmp', '--dtype', 'u1', '--shape', '4', '--dir', d]);
    assert.strictEqual(bad.code, 2, bad.stderr);
  });
  it('create NAME and restore --name NAME read the spelling like every NAME, and print the written name', async () => {
    const d = freshDir();
    const c = await runCli(['create', 'lat\\xe9', '--dtype', 'u1', '--shape', '4', '--dir', d]);
    assert.strictEqual(c.code, 0, c.stderr);
    assert.deepStrictEqual(
      fs.readdirSync(d, { encoding: 'buffer' }).map((b) => b.toString('hex')),
      ['6c6174e9'],
    );
    assert.match(c.stdout, /^created lat\\xe9: /);
    const cj = JSON.parse((await runCli(['create', 'a\\\\b', '--dtype', 'u1', '--shape', '4', '--json', '--dir', d])).stdout) as { name: string; path: string };
    assert.strictEqual(cj.name, 'a\\\\b');
    assert.ok(fs.existsSync(path.join(d, 'a\\b')), 'the name is a, a backslash, b');
    const snap = path.join(tmp, 'snap');
    fs.writeFileSync(snap, Buffer.alloc(64, 5));
    const r = await runCli(['restore', snap, '--dir', d, '--name', 'r\\xff\\x0a']);
    assert.strictEqual(r.code, 0, r.stderr);
    assert.match(r.stdout, /^restored r\\xff\\x0a \(64 bytes\) to .*\/r\\xff\\x0a; /);
    assert.ok(fs.readdirSync(d, { encoding: 'buffer' }).some((b) => b.toString('hex') === '72ff0a'));
    const list = JSON.parse((await runCli(['list', '--json', '--dir', d])).stdout) as { segments: { name: string }[] };
    assert.deepStrictEqual(list.segments.map((s) => s.name).sort(), ['a\\\\b', 'lat\\xe9', 'r\\xff\\x0a']);
    const again = await runCli(['restore', snap, '--dir', d, '--name', 'r\\xFF\\x0a']);
    assert.strictEqual(again.code, 1);
    assert.match(again.stderr, /^shm-inspector: r\\xff\\x0a: already exists/);
    const slash = await runCli(['create', 'a\\x2fb', '--dtype', 'u1', '--shape', '4', '--dir', d]);
    assert.strictEqual(slash.code, 2, slash.stderr);
  });
  it('tensor names with a lone surrogate and U+FFFD are two names, each selectable; symlink targets are spelled like names', async () => {
    const d = freshDir();
    let header = '{"a\\ud800":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a\\ufffd":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}';
    while (header.length % 8) header += ' ';
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    fs.writeFileSync(path.join(d, 'two.safetensors'), Buffer.concat([len, Buffer.from(header, 'ascii'), Buffer.from([7, 9])]));
    type Seg = { name: string; children: Seg[] | null; symlinkTarget: string | null; symlinkTargetBytes?: string };
    const list = JSON.parse((await runCli(['list', '--json', '--dir', d])).stdout) as { segments: Seg[] };
    const st = list.segments.find((s) => s.name === 'two.safetensors')!;
    assert.deepStrictEqual(st.children!.map((c) => c.name).sort(), ['two.safetensors/a\\xed\\xa0\\x80', 'two.safetensors/a\ufffd']);
    const lone = await runCli(['stats', 'two.safetensors', '--tensor', 'a\\xED\\xa0\\x80', '--json', '--dir', d]);
    assert.strictEqual(lone.code, 0, lone.stderr);
    assert.strictEqual((JSON.parse(lone.stdout) as { max: number }).max, 7);
    const repl = await runCli(['stats', 'two.safetensors', '--tensor', 'a\ufffd', '--json', '--dir', d]);
    assert.strictEqual(repl.code, 0, repl.stderr);
    assert.strictEqual((JSON.parse(repl.stdout) as { max: number }).max, 9);

    fs.symlinkSync(Buffer.from('/tmp/\xff\\x\n', 'latin1'), path.join(d, 'ln'));
    fs.symlinkSync('/tmp/plain', path.join(d, 'ok'));
    const l2 = JSON.parse((await runCli(['list', '--json', '--dir', d])).stdout) as { segments: Seg[] };
    const ln = l2.segments.find((s) => s.name === 'ln')!;
    assert.strictEqual(ln.symlinkTarget, '/tmp/\\xff\\\\x\\x0a');
    assert.strictEqual(ln.symlinkTargetBytes, Buffer.from('/tmp/\xff\\x\n', 'latin1').toString('hex'));
    const ok = l2.segments.find((s) => s.name === 'ok')!;
    assert.strictEqual(ok.symlinkTarget, '/tmp/plain');
    assert.ok(!('symlinkTargetBytes' in ok));
    const human = await runCli(['inspect', 'ln', '--dir', d]);
    assert.ok(human.stdout.includes('/tmp/\\xff\\\\x\\x0a (not followed)'), human.stdout);
  });
  it('a deleted, map-only segment whose name holds the characters \\012 keeps that name (map_files gives the exact bytes)', async function () {
    if (process.getuid?.() !== 0) this.skip(); // /proc/PID/map_files needs CAP_SYS_ADMIN
    const d = freshDir();
    const file = path.join(d, 'a\\012b');
    fs.writeFileSync(file, Buffer.alloc(8192, 2));
    // Mapped through libc's mmap and the fd closed: held by the mapping alone (Python's mmap keeps a dup).
    const child = await jar.mapper(['mapit(sys.argv[1], 8192)', 'os.unlink(sys.argv[1])'], [file]);
    type Seg = { name: string; deleted: boolean; holders: { pid: number; via: string }[]; details?: Record<string, unknown> };
    const list = JSON.parse((await runCli(['list', '--json', '--dir', d])).stdout) as { segments: Seg[] };
    const del = list.segments.filter((s) => s.deleted);
    assert.deepStrictEqual(
      del.map((s) => s.name),
      ['a\\\\012b'],
      JSON.stringify(list.segments),
    );
    assert.deepStrictEqual(
      del[0].holders.map((h) => [h.pid, h.via]),
      [[child.pid, 'map']],
    );
    assert.ok(!del[0].details || !('nameUncertain' in del[0].details));
  });
  it('render --out never opens what is there: a FIFO or a symlink is refused at once, a regular file is replaced whole', async () => {
    const d = freshDir();
    assert.strictEqual((await runCli(['create', 'img', '--dtype', 'f4', '--shape', '8,8', '--fill', 'arange', '--dir', d])).code, 0);
    const fifo = path.join(tmp, 'out.fifo');
    execFileSync('mkfifo', [fifo]);
    const t0 = Date.now();
    const f = await runCli(['render', 'img', '--out', fifo, '--dir', d]);
    assert.strictEqual(f.code, 1, f.stderr);
    assert.match(f.stderr, /out\.fifo: a FIFO \(named pipe\), not a regular file; not written/);
    assert.ok(Date.now() - t0 < 20_000);
    const precious = path.join(tmp, 'precious');
    fs.writeFileSync(precious, 'keep me');
    fs.symlinkSync(precious, path.join(tmp, 'link.png'));
    const l = await runCli(['render', 'img', '--out', path.join(tmp, 'link.png'), '--dir', d]);
    assert.strictEqual(l.code, 1);
    assert.match(l.stderr, /a symbolic link; not followed/);
    assert.strictEqual(fs.readFileSync(precious, 'utf8'), 'keep me');
    const png = path.join(tmp, 'ok.png');
    fs.writeFileSync(png, 'old', { mode: 0o640 });
    const ok = await runCli(['render', 'img', '--out', png, '--dir', d]);
    assert.strictEqual(ok.code, 0, ok.stderr);
    assert.deepStrictEqual([...fs.readFileSync(png).subarray(1, 4)], [...Buffer.from('PNG')]);
    assert.strictEqual(fs.statSync(png).mode & 0o777, 0o640);
    assert.deepStrictEqual(
      fs.readdirSync(tmp).filter((n) => n.startsWith('.shmi-')),
      [],
      'no temp left',
    );
  });
  it('a newline in a user-given path is escaped in human output: one line per fact, as without it', async () => {
    const d = freshDir();
    assert.strictEqual((await runCli(['create', 'img', '--dtype', 'f4', '--shape', '8,8', '--dir', d])).code, 0);
    const nl = fs.mkdtempSync(path.join(tmp, 'n\nl-'));
    const r = await runCli(['render', 'img', '--out', path.join(nl, 'a\nb.png'), '--dir', d]);
    assert.strictEqual(r.code, 0, r.stderr);
    assert.strictEqual(lines(r.stdout).length, 1, r.stdout);
    assert.ok(r.stdout.includes('n\\x0al-') && r.stdout.includes('/a\\x0ab.png: 8 x 8 pixels'), r.stdout);
    const p = await runCli(['persist', 'img', '--to', path.join(nl, 'snap\n.npy'), '--dir', d]);
    assert.strictEqual(p.code, 0, p.stderr);
    assert.strictEqual(lines(p.stdout).length, 2, p.stdout);
    assert.match(lines(p.stdout)[1], /^sha256 [0-9a-f]{64} in .*\/snap\\x0a\.npy\.sha256$/);
    const dn = fs.mkdtempSync(path.join(dirs.root, 'd\nn-'));
    const c = await runCli(['create', 'x', '--dtype', 'u1', '--shape', '2', '--dir', dn]);
    assert.strictEqual(c.code, 0, c.stderr);
    assert.strictEqual(lines(c.stdout).length, 2, c.stdout);
    const rs = await runCli(['restore', path.join(nl, 'snap\n.npy'), '--name', 'back', '--dir', dn]);
    assert.strictEqual(rs.code, 0, rs.stderr);
    assert.strictEqual(lines(rs.stdout).length, 1, rs.stdout);
  });
  it('restore refuses a FIFO FILE.json at once (as a FIFO FILE.sha256), never skipping it', async () => {
    const d = freshDir();
    const snap = path.join(tmp, 'fsnap');
    fs.writeFileSync(snap, Buffer.alloc(16, 1));
    execFileSync('mkfifo', [`${snap}.json`]);
    const r = await runCli(['restore', snap, '--dir', d]);
    assert.strictEqual(r.code, 1, r.stdout);
    assert.strictEqual(r.stderr, `shm-inspector: ${snap}.json: a FIFO (named pipe), not a regular file; not read; not restored\n`);
    assert.deepStrictEqual(fs.readdirSync(d), []);
  });

  it("persist's failure text is true: a rename refused (FILE.sha256 immutable) leaves the old FILE.json, and says which old files are untouched", async function () {
    const d = freshDir();
    const out = freshDir();
    fs.writeFileSync(path.join(d, 'rawseg'), Buffer.alloc(64, 9));
    assert.strictEqual((await runCli(['create', 'arr', '--dtype', 'u1', '--shape', '64', '--dir', d])).code, 0);
    const to = path.join(out, 'snap');
    assert.strictEqual((await runCli(['persist', 'rawseg', '--to', to, '--dir', d])).code, 0);
    assert.deepStrictEqual(fs.readdirSync(out).sort(), ['snap', 'snap.json', 'snap.sha256']);
    const before = fs.readFileSync(`${to}.json`, 'utf8');
    if (!jar.freeze(`${to}.sha256`)) this.skip(); // no chattr on this tmpfs
    try {
      const r = await runCli(['persist', 'arr', '--to', to, '--force', '--dir', d]);
      assert.strictEqual(r.code, 1);
      assert.match(r.stderr, /^shm-inspector: arr: persist failed: EPERM: .*; snap, snap\.sha256 and snap\.json are untouched\n$/);
      assert.strictEqual(fs.readFileSync(`${to}.json`, 'utf8'), before, 'the old FILE.json is still there');
      assert.deepStrictEqual(fs.readdirSync(out).sort(), ['snap', 'snap.json', 'snap.sha256']);
    } finally {
      jar.thaw(`${to}.sha256`);
    }
  });
  /** Runs `act` once, the moment a `.shmi-*` temp appears in `dir` (the operation has checked its target and is copying). */
  function onTemp(dir: string, act: () => void): { stop: () => void; fired: () => boolean } {
    let fired = false;
    const w = fs.watch(dir, (_ev, f) => {
      if (fired || !String(f ?? '').startsWith('.shmi-')) return;
      fired = true;
      act();
    });
    return { stop: () => w.close(), fired: () => fired };
  }

  it('persist without --force never replaces a FILE that appears while it copies; restore --force replaces only the file it checked', async () => {
    const d = freshDir();
    const out = freshDir();
    const big = path.join(d, 'big');
    fs.writeFileSync(big, Buffer.alloc(64 << 20, 1));
    const to = path.join(out, 'snap');
    const w = onTemp(out, () => fs.writeFileSync(to, 'theirs', { flag: 'wx' }));
    const r = await runCli(['persist', 'big', '--to', to, '--dir', d]);
    w.stop();
    assert.ok(w.fired(), 'the other writer ran');
    assert.strictEqual(r.code, 1, r.stdout);
    assert.match(r.stderr, /snap appeared while the snapshot was written; not replaced \(pass --force to replace it\); nothing was left behind\n$/);
    assert.strictEqual(fs.readFileSync(to, 'utf8'), 'theirs');
    assert.deepStrictEqual(fs.readdirSync(out), ['snap']);

    const snap = path.join(tmp, 'bigsnap');
    fs.writeFileSync(snap, Buffer.alloc(64 << 20, 2));
    const tgt = path.join(d, 'tgt');
    fs.writeFileSync(tgt, 'confirmed');
    const w2 = onTemp(d, () => {
      fs.writeFileSync(path.join(d, 'newcomer'), 'newcomer');
      fs.renameSync(path.join(d, 'newcomer'), tgt);
    });
    const r2 = await runCli(['restore', snap, '--name', 'tgt', '--force', '--dir', d]);
    w2.stop();
    assert.ok(w2.fired(), 'the other writer ran');
    assert.strictEqual(r2.code, 1, r2.stdout);
    assert.match(r2.stderr, /tgt: another file took its place in .* while the snapshot was restored; not replaced/);
    assert.strictEqual(fs.readFileSync(tgt, 'utf8'), 'newcomer');
    assert.deepStrictEqual(fs.readdirSync(d).sort(), ['big', 'tgt']);
    const r3 = await runCli(['restore', snap, '--name', 'tgt', '--force', '--dir', d]);
    assert.strictEqual(r3.code, 0, r3.stderr);
    assert.strictEqual(fs.statSync(tgt).size, 64 << 20);
  });
});
