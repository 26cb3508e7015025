/**
 * System V shared memory segments (issue #15), against real producers: Python's ctypes calling
 * libc shmget/shmat (test/fixtures/sysv_producer.py), attached by a live process, orphaned,
 * marked for removal while attached, made in a private IPC namespace (unshare -i), refused to
 * another user, removed between list and attach, and too large to attach. The core (listSysv,
 * inspectSysv, the read-only attach) and the CLI (list --kind, inspect, stats, unlink sysv:ID).
 * Every segment, process and namespace made here is removed in `after` (IPC_RMID), also on failure;
 * no other segment is ever touched.
 */
import * as assert from 'assert';
import { execFileSync, spawn, type ChildProcess } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { inspectSysv, listSysv, parseSysvTable, readSysvTable, type SysvSegment } from '../../extension/core/sysv';
import { clearSysv } from '../../extension/core/kinds/clear';
import { openSysvView } from '../../extension/native';
import { decodeNpy } from '../../extension/core/formats/npy';
import { runCli, type Run } from '../fixtures/cli';
import { PYTHON, runPython, untilReady } from '../fixtures/segments';

const PRODUCER = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'sysv_producer.py');
const NOBODY = ['--reuid', 'nobody', '--regid', 'nogroup', '--clear-groups'];

/** A key no other run uses (the high bit clear, never IPC_PRIVATE). */
const freshKey = () => (crypto.randomBytes(4).readUInt32BE(0) & 0x7ffffff0) | 1;

class SysvJar {
  readonly ids = new Set<number>();
  readonly procs = new Set<ChildProcess>();

  /** Makes an orphaned segment (the producer exits); returns its shmid. */
  make(args: string[]): number {
    const out = execFileSync(PYTHON, [PRODUCER, 'make', ...args], { encoding: 'utf8', timeout: 60_000 });
    const id = Number(/shmid (\d+)/.exec(out)![1]);
    this.ids.add(id);
    return id;
  }

  /** A producer that stays attached (`prefix`: e.g. unshare -i); resolves with its shmid once ready. */
  async hold(args: string[], prefix: string[] = []): Promise<{ id: number; child: ChildProcess }> {
    const [cmd, argv] =
      prefix.length > 0 ? [prefix[0], [...prefix.slice(1), PYTHON, PRODUCER, 'make', ...args, '--hold']] : [PYTHON, [PRODUCER, 'make', ...args, '--hold']];
    const child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
    this.procs.add(child);
    const id = Number(/shmid (\d+)/.exec(await untilReady(child, 'producer'))![1]);
    // A segment of a private namespace goes with the namespace: only ours are removed here.
    if (prefix.length === 0) this.ids.add(id);
    return { id, child };
  }

  cleanup(): void {
    for (const c of this.procs) c.kill('SIGKILL');
    this.procs.clear();
    if (this.ids.size > 0) execFileSync(PYTHON, [PRODUCER, 'rm', ...[...this.ids].map(String)], { timeout: 60_000 });
    this.ids.clear();
  }
}

function json<T>(r: Run): T {
  assert.strictEqual(r.code, 0, `exit 0 (stderr: ${r.stderr})`);
  assert.strictEqual(r.stderr, '');
  return JSON.parse(r.stdout) as T;
}

function oneLine(r: Run, code: number, pattern: RegExp): void {
  assert.strictEqual(r.code, code, `exit ${code} (stdout: ${r.stdout}, stderr: ${r.stderr})`);
  assert.ok(r.stderr.endsWith('\n') && r.stderr.split('\n').length === 2, `one line on stderr: ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr, pattern);
}

const byId = (l: SysvSegment[], id: number) => l.find((s) => s.sysv.shmid === id);

describe('System V table parsing (/proc/sysvipc/shm)', () => {
  it('reads every field: a negative key as unsigned, octal perms with SHM_DEST, times in ms; skips torn lines', () => {
    const text =
      '       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n' +
      '         0         13   600                   176  8716  8716      0     0     0     0     0 1796192600 1796192601 1796192602                  4096                     0\n' +
      '-559038737     65537  1640      219902325555200   42    43      2  1000  1001     0     0          0          0 1796192603                     0                  8192\n' +
      '  12 garbage\n';
    assert.deepStrictEqual(parseSysvTable(text), [
      {
        key: 0,
        shmid: 13,
        perms: 0o600,
        size: 176,
        cpid: 8716,
        lpid: 8716,
        nattch: 0,
        uid: 0,
        gid: 0,
        cuid: 0,
        cgid: 0,
        atimeMs: 1796192600000,
        dtimeMs: 1796192601000,
        ctimeMs: 1796192602000,
        rss: 4096,
        swap: 0,
        pagesKnown: true,
      },
      {
        key: 0xdeadbeef,
        shmid: 65537,
        perms: 0o1640,
        size: 219902325555200,
        cpid: 42,
        lpid: 43,
        nattch: 2,
        uid: 1000,
        gid: 1001,
        cuid: 0,
        cgid: 0,
        atimeMs: 0,
        dtimeMs: 0,
        ctimeMs: 1796192603000,
        rss: 0,
        swap: 8192,
        pagesKnown: true,
      },
    ]);
    assert.deepStrictEqual(parseSysvTable(''), []);
  });
});

describe('System V segments (real shmget/shmat producers)', function () {
  this.timeout(120_000);
  const jar = new SysvJar();
  after(() => jar.cleanup());

  it('lists an orphaned numpy segment and one a live process holds, decoded through a read-only attach', async () => {
    const k1 = freshKey();
    const k2 = freshKey();
    const orphan = jar.make(['64', '--key', String(k1), '--npy', '<f4', '3,4']);
    const { id: held, child } = await jar.hold(['4096', '--key', String(k2), '--mode', '0640']);
    const list = await listSysv();
    const o = byId(list, orphan)!;
    assert.ok(o, 'the orphan is listed');
    assert.strictEqual(o.kind, 'sysv');
    assert.strictEqual(o.name, `sysv:${orphan}`);
    assert.strictEqual(o.path, null);
    assert.strictEqual(o.ino, orphan);
    assert.strictEqual(o.sysv.key, k1);
    assert.strictEqual(o.sysv.keyHex, '0x' + k1.toString(16).padStart(8, '0'));
    assert.deepStrictEqual([o.format, o.dtype, o.shape, o.fortranOrder], ['npy', '<f4', [3, 4], false]);
    assert.strictEqual(o.sysv.nattch, 0);
    assert.strictEqual(o.orphan, true);
    assert.deepStrictEqual(o.holders, []);
    assert.strictEqual(o.deleted, false);
    assert.strictEqual(o.uid, 0);
    assert.strictEqual(o.mode, 0o600);
    assert.ok(o.allocatedBytes >= 4096, 'its page is resident');
    const h = byId(list, held)!;
    assert.ok(h, 'the held one is listed');
    assert.strictEqual(h.size, 4096);
    assert.strictEqual(h.mode, 0o640);
    assert.strictEqual(h.sysv.nattch, 1);
    assert.strictEqual(h.orphan, false);
    assert.deepStrictEqual(h.holders, [{ pid: child.pid, comm: 'python3', via: 'map' }]);
    assert.strictEqual(h.sysv.cpid, child.pid);
    assert.strictEqual(h.format, 'raw');
    // Our own decoding attach is over: the kernel counts only the producer.
    assert.strictEqual((await inspectSysv(held))!.sysv.nattch, 1);
  });

  it("NPY headers read through the attach decode as the NPY decoder says: numpy's own form (parsed in the addon) and any other", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-sysv-npy-'));
    try {
      const made = runPython(
        `import numpy as np, os
d = ${JSON.stringify(dir)}
np.save(os.path.join(d, 'c.npy'), np.arange(12, dtype='>i2').reshape(3, 4))
np.save(os.path.join(d, 'f.npy'), np.asfortranarray(np.arange(6, dtype='<f8').reshape(2, 3)))
np.save(os.path.join(d, 'scalar.npy'), np.float32(1.5))
np.save(os.path.join(d, 's.npy'), np.zeros(3, dtype=[('a', '<i4'), ('b', '<f8')]))
np.save(os.path.join(d, 'big.npy'), np.zeros((2, 5), dtype='<f4'))
# The same header written by hand with other spacing: valid, not numpy's form.
h = b"{'descr':'<u2','fortran_order':False,'shape':(5,)}"
h += b' ' * (64 - 10 - len(h) - 1) + b'\\n'
open(os.path.join(d, 'spaced.npy'), 'wb').write(b'\\x93NUMPY\\x01\\x00' + len(h).to_bytes(2, 'little') + h + bytes(10))
# A header that claims more data than the segment holds.
open(os.path.join(d, 'short.npy'), 'wb').write(open(os.path.join(d, 'big.npy'), 'rb').read()[:-8])`,
      );
      assert.strictEqual(made.code, 0, made.stderr);
      const names = ['c', 'f', 'scalar', 's', 'big', 'spaced', 'short'];
      const ids = names.map((n) => jar.make(['1', '--from', path.join(dir, `${n}.npy`)]));
      const list = await listSysv();
      for (const [i, n] of names.entries()) {
        const file = path.join(dir, `${n}.npy`);
        const bytes = fs.readFileSync(file);
        const s = byId(list, ids[i])!;
        // The segment holds the file's bytes (a page at least): the decoder's verdict on them.
        const want = await decodeNpy({ size: s.size, head: bytes.subarray(0, 1024), tail: undefined, tailOffset: undefined }, async () => new Uint8Array(0));
        assert.deepStrictEqual(
          [s.format, s.dtype, s.shape, s.fortranOrder, s.dataOffset, s.error],
          [want.format, want.dtype, want.shape, want.fortranOrder, want.dataOffset, want.error],
          n,
        );
      }
      const f = (n: string) => byId(list, ids[names.indexOf(n)])!;
      assert.deepStrictEqual([f('c').dtype, f('c').shape, f('c').fortranOrder], ['>i2', [3, 4], false]);
      assert.deepStrictEqual([f('f').shape, f('f').fortranOrder], [[2, 3], true]);
      assert.deepStrictEqual(f('scalar').shape, []);
      assert.strictEqual(f('s').dtype, 'structured');
      assert.deepStrictEqual([f('spaced').dtype, f('spaced').shape], ['<u2', [5]]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a segment removed (IPC_RMID) while attached is marked for removal (SHM_DEST) and still readable', async () => {
    const { id } = await jar.hold(['100', '--npy', '<i8', '5', '--rmid']);
    const s = (await inspectSysv(id))!;
    assert.ok(s);
    assert.strictEqual(s.deleted, true);
    assert.strictEqual(s.sysv.markedForRemoval, true);
    assert.strictEqual(s.sysv.keyHex, '0x00000000');
    assert.deepStrictEqual([s.format, s.dtype, s.shape], ['npy', '<i8', [5]]);
  });

  it('a process in a private IPC namespace (unshare -i): its segment is not listed, nor is it a holder of ours', async function () {
    if (process.getuid?.() !== 0) this.skip();
    const key = freshKey();
    const mine = jar.make(['64', '--key', String(key)]);
    const { child } = await jar.hold(['64', '--key', String(key)], ['unshare', '-i']);
    const list = await listSysv();
    assert.strictEqual(list.filter((s) => s.sysv.key === key).length, 1, 'only the host one with this key');
    assert.strictEqual(byId(list, mine)!.sysv.nattch, 0);
    for (const s of list) assert.ok(!s.holders.some((x) => x.pid === child.pid), `${s.name} is not held by the namespaced process`);
  });

  it('a segment removed between list and attach: a clear error with code EINVAL, and the CLI says so', async () => {
    const id = jar.make(['64', '--npy', '<f4', '4']);
    assert.ok(byId(await listSysv(), id));
    execFileSync(PYTHON, [PRODUCER, 'rm', String(id)]);
    await assert.rejects(openSysvView(id), (e: Error & { code?: string }) => e.code === 'EINVAL' && /no such System V segment/.test(e.message));
    oneLine(await runCli(['inspect', `sysv:${id}`]), 1, new RegExp(`^shm-inspector: sysv:${id}: no such System V segment\\n$`));
    oneLine(await runCli(['stats', `sysv:${id}`]), 1, /no such System V segment/);
  });

  it('another user may list it but not attach it: EACCES, an error on the segment, exit 1 for stats', async function () {
    if (process.getuid?.() !== 0 || !fs.existsSync('/usr/bin/setpriv')) this.skip();
    const id = jar.make(['64', '--npy', '<f4', '4', '--mode', '0600']);
    const r = await runCli(['inspect', `sysv:${id}`, '--json'], { as: NOBODY });
    const s = json<SysvSegment>(r);
    assert.strictEqual(s.name, `sysv:${id}`);
    assert.strictEqual(s.format, 'raw');
    assert.match(s.error ?? '', /permission denied/);
    oneLine(await runCli(['stats', `sysv:${id}`], { as: NOBODY }), 1, /permission denied/);
    oneLine(await runCli(['unlink', `sysv:${id}`], { as: NOBODY }), 1, /permission denied/);
    assert.ok(byId(await listSysv(), id), 'still there');
  });

  it('a segment larger than this process can attach (200 TiB, SHM_NORESERVE): listed as empty (no page), stats exits 1 with a clear error', async () => {
    const id = jar.make([String(200 * 2 ** 40), '--noreserve', '--no-attach']);
    for (const s of [(await inspectSysv(id))!, byId(await listSysv(), id)!]) {
      assert.strictEqual(s.size, 200 * 2 ** 40);
      // The kernel holds no page of it: nothing to decode, and no attach tried.
      assert.deepStrictEqual([s.format, s.error, s.allocatedBytes], ['raw', null, 0]);
    }
    await assert.rejects(openSysvView(id), (e: Error & { code?: string }) => e.code === 'ENOMEM');
    oneLine(
      await runCli(['stats', `sysv:${id}`, '--dtype', 'u1', '--shape', String(200 * 2 ** 40)]),
      1,
      new RegExp(`^shm-inspector: sysv:${id}: too large to attach`),
    );
  });

  it('a segment the kernel holds no page of is listed and inspected without an attach: no page allocated, atime and lpid untouched', async () => {
    const id = jar.make([String(1 << 20), '--no-attach']);
    const before = (await readSysvTable()).find((r) => r.shmid === id)!;
    assert.deepStrictEqual([before.rss, before.atimeMs], [0, 0]);
    const listed = byId(await listSysv(), id)!;
    assert.deepStrictEqual([listed.format, listed.error, listed.allocatedBytes], ['raw', null, 0]);
    assert.strictEqual((await inspectSysv(id))!.error, null);
    const cli = json<{ segments: SysvSegment[] }>(await runCli(['list', '--kind', 'sysv', '--json']));
    assert.strictEqual(byId(cli.segments, id)!.format, 'raw');
    const after = (await readSysvTable()).find((r) => r.shmid === id)!;
    // An attach would have set atime and lpid to us, and reading would have allocated its first page.
    assert.deepStrictEqual([after.rss, after.atimeMs, after.lpid], [0, 0, before.lpid]);
  });

  it('CLI: list --kind sysv|all in JSON and as a table; posix stays the default; bad kinds are usage errors', async () => {
    const key = freshKey();
    const id = jar.make(['64', '--key', String(key), '--npy', '<f4', '2,3']);
    const doc = json<{ segments: SysvSegment[]; directories: unknown[] }>(await runCli(['list', '--kind', 'sysv', '--json']));
    const s = byId(doc.segments, id)!;
    assert.ok(s);
    assert.deepStrictEqual([s.kind, s.name, s.path, s.format, s.dtype], ['sysv', `sysv:${id}`, null, 'npy', '<f4']);
    assert.ok(doc.segments.every((x) => x.kind === 'sysv'));
    const all = json<{ segments: { name: string }[] }>(await runCli(['list', '--kind', 'posix,sysv', '--json']));
    assert.ok(all.segments.some((x) => x.name === `sysv:${id}`));
    const plain = json<{ segments: { name: string }[] }>(await runCli(['list', '--json']));
    assert.ok(!plain.segments.some((x) => x.name.startsWith('sysv:')), 'no --kind: posix only, as before');
    const text = await runCli(['list', '--kind', 'sysv']);
    assert.strictEqual(text.code, 0);
    assert.match(text.stdout, /KEY +ID +OWNER +PERMS +SIZE +NATTCH +STATUS +CPID +LPID +RSS/);
    const row = text.stdout.split('\n').find((l) => l.startsWith('0x' + key.toString(16).padStart(8, '0')))!;
    assert.ok(row, 'a row with its key');
    assert.match(row, new RegExp(`^0x[0-9a-f]{8} +${id} +root +600 .* 0 +orphan .*npy float32 2×3`));
    oneLine(await runCli(['list', '--kind', 'bogus']), 2, /unknown kind 'bogus'/);
    // memfd is listed since issue #15's second part (it was a usage error, 'not listed yet').
    const memfd = await runCli(['list', '--kind', 'memfd']);
    assert.strictEqual(memfd.code, 0, memfd.stderr);
    assert.match(memfd.stdout, /^Memfd regions: \d+/m);
    oneLine(await runCli(['inspect', 'sysv:12x']), 2, /not a System V name/);
  });

  it('CLI: inspect and stats read the array through the attach', async () => {
    const id = jar.make(['64', '--npy', '<f4', '3,4']);
    const text = await runCli(['inspect', `sysv:${id}`]);
    assert.strictEqual(text.code, 0, text.stderr);
    assert.match(text.stdout, /name +sysv:\d+/);
    assert.match(text.stdout, /holders +none \(orphan\)/);
    const st = json<{ count: number; min: number; max: number; mean: number }>(await runCli(['stats', `sysv:${id}`, '--json']));
    assert.deepStrictEqual([st.count, st.min, st.max, st.mean], [12, 0, 11, 5.5]);
  });

  it('CLI: clear --kind sysv plans by key glob, keeps attached ones unless --include-in-use, then removes', async () => {
    // Keys under one random prefix: the glob selects this test's segments only (the machine is shared).
    const hi = (crypto.randomBytes(2).readUInt16BE(0) & 0x7fff) | 0x1000;
    const key = (i: number) => String((hi << 16) | i);
    const glob = `0x${hi.toString(16).padStart(4, '0')}*`;
    const a = jar.make(['4096', '--key', key(1), '--npy', '<f8', '512']);
    const b = jar.make(['4096', '--key', key(2)]);
    const { id: held, child } = await jar.hold(['4096', '--key', key(3)]);
    type Clear = {
      dryRun?: true;
      planned?: string[];
      removed: string[];
      skipped: { name: string; reason: string }[];
      failed: unknown[];
      bytes: number;
      pendingBytes: number;
    };
    const plan = json<Clear>(await runCli(['clear', '--kind', 'sysv', '--glob', glob, '--json']));
    assert.strictEqual(plan.dryRun, true);
    assert.deepStrictEqual(plan.removed, [], 'a plan removes nothing');
    assert.deepStrictEqual((plan.planned ?? []).sort(), [`sysv:${a}`, `sysv:${b}`].sort());
    assert.deepStrictEqual(plan.skipped, [{ name: `sysv:${held}`, reason: `attached by python3 (pid ${child.pid}); pass --include-in-use` }]);
    assert.ok(plan.bytes >= 4096, 'the array page is resident');
    assert.strictEqual((await readSysvTable()).filter((r) => [a, b, held].includes(r.shmid)).length, 3, 'a plan removes nothing');
    const text = await runCli(['clear', '--kind', 'sysv', '--glob', glob]);
    assert.match(text.stdout, /would remove 2 entries[^]*nothing was removed: pass --yes/);
    const done = json<Clear>(await runCli(['clear', '--kind', 'sysv', '--glob', glob, '--orphans', '--yes', '--json']));
    assert.deepStrictEqual(done.removed.sort(), [`sysv:${a}`, `sysv:${b}`].sort());
    assert.deepStrictEqual(done.skipped, [], '--orphans leaves the attached one out of the selection');
    let table = await readSysvTable();
    assert.ok(!table.some((r) => r.shmid === a || r.shmid === b), 'the orphans are gone');
    const forced = json<Clear>(await runCli(['clear', '--kind', 'sysv', '--glob', glob, '--include-in-use', '--yes', '--json']));
    assert.deepStrictEqual(forced.removed, [`sysv:${held}`]);
    table = await readSysvTable();
    assert.ok((table.find((r) => r.shmid === held)!.perms & 0o1000) !== 0, 'marked for removal, still attached');
    oneLine(await runCli(['clear', '--kind', 'sysv']), 2, /needs at least one selector/);
    oneLine(await runCli(['clear', '--kind', 'memfd', '--orphans']), 2, /memfd regions cannot be cleared: nothing names them/);
    oneLine(await runCli(['clear', '--kind', 'bogus', '--orphans']), 2, /posix, sysv or container/);
  });

  it('attach sysv:ID: the code to copy (ctypes shmat, read-only) reads the right values in /usr/bin/python3; sysv_ipc beside it', async () => {
    const id = jar.make(['4096', '--key', String(freshKey()), '--npy', '<i4', '6,7']);
    type Snippet = { kind: string; code: string; requires: string[]; alternatives: { kind: string; code: string; requires: string[] }[] };
    const s = json<Snippet>(await runCli(['attach', `sysv:${id}`, '--json']));
    assert.deepStrictEqual([s.kind, s.requires], ['ctypes', ['numpy']]);
    assert.match(s.code, /shmat\(shmid, None, SHM_RDONLY\)/);
    const run = runPython(s.code, 'print(arr.dtype, arr.shape, int(arr.sum()), int(arr[5, 6]), arr.flags.writeable)\nlibc.shmdt(ctypes.c_void_p(addr))');
    assert.strictEqual(run.stdout.trim(), 'int32 (6, 7) 861 41 False', `${run.stderr}\n--- code:\n${s.code}`);
    // Detached again: the kernel counts no attachment of ours left behind.
    assert.strictEqual((await inspectSysv(id, { decode: false }))!.sysv.nattch, 0);
    assert.deepStrictEqual([s.alternatives[0].kind, s.alternatives[0].requires], ['sysv_ipc', ['sysv_ipc', 'numpy']]);
    assert.match(s.alternatives[0].code, new RegExp(`sysv_ipc\\.attach\\(${id}, flags=sysv_ipc\\.SHM_RDONLY\\)`));
    const compiled = runPython(`compile(${JSON.stringify(s.alternatives[0].code)}, 'alt', 'exec')`);
    assert.strictEqual(compiled.code, 0, compiled.stderr);
    // Raw bytes (no header): the bytes themselves; the text form names what it needs.
    const raw = jar.make(['100', '--key', String(freshKey())]);
    const r = json<Snippet>(await runCli(['attach', `sysv:${raw}`, '--json']));
    assert.deepStrictEqual(r.requires, []);
    assert.strictEqual(runPython(r.code).stdout.trim(), `100 b'${'\\x00'.repeat(16)}'`);
    const gone = await runCli(['attach', 'sysv:2147483000']);
    assert.strictEqual(gone.code, 1);
    assert.match(gone.stderr, /sysv:2147483000: no such System V segment/);
  });

  it('persist sysv:ID: a snapshot through the read-only attach (NPY as it is, raw with FILE.json); restore makes a POSIX segment of it', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-sysv-persist-'));
    try {
      const id = jar.make(['4096', '--key', String(freshKey()), '--npy', '<i4', '6,7']);
      const file = path.join(tmp, 'snap.npy');
      const p = json<{ format: string; bytes: number; fromKind: string; sidecar: string | null }>(await runCli(['persist', `sysv:${id}`, '--to', file, '--json']));
      assert.deepStrictEqual([p.format, p.bytes, p.fromKind, p.sidecar], ['npy', 4096, 'sysv', null]);
      const check = runPython(`import numpy as np\na = np.load(${JSON.stringify(file)})\nprint(a.dtype, a.shape, int(a.sum()))`);
      assert.strictEqual(check.stdout.trim(), 'int32 (6, 7) 861', check.stderr);
      assert.match(fs.readFileSync(`${file}.sha256`, 'utf8'), /^[0-9a-f]{64} {2}snap\.npy\n$/);
      // Read-only and detached: the segment is as it was, attached by nobody.
      assert.strictEqual((await inspectSysv(id, { decode: false }))!.sysv.nattch, 0);
      const text = await runCli(['persist', `sysv:${id}`, '--to', path.join(tmp, 'again.npy')]);
      assert.match(text.stdout, /restore loads it back as a POSIX segment \(a file of the segment directory\), not as a System V segment/);
      // Restored: a file of the segment directory (here a folder of the test's), decoded like any.
      const dir = path.join(tmp, 'shm');
      fs.mkdirSync(dir);
      const r = json<{ name: string; verified: boolean }>(await runCli(['restore', file, '--dir', dir, '--name', 'back.npy', '--json']));
      assert.deepStrictEqual([r.name, r.verified], ['back.npy', true]);
      const back = json<{ format: string; dtype: string; shape: number[] }>(await runCli(['inspect', 'back.npy', '--dir', dir, '--json']));
      assert.deepStrictEqual([back.format, back.dtype, back.shape], ['npy', '<i4', [6, 7]]);
      // Raw bytes: FILE.json says what they came from.
      const raw = jar.make(['100', '--key', String(freshKey())]);
      const rp = json<{ format: string; sidecar: string }>(await runCli(['persist', `sysv:${raw}`, '--to', path.join(tmp, 'raw.bin'), '--json']));
      assert.strictEqual(rp.format, 'raw');
      const side = JSON.parse(fs.readFileSync(rp.sidecar, 'utf8')) as { name: string; size: number; readVia: string };
      assert.deepStrictEqual([side.name, side.size, side.readVia], [`sysv:${raw}`, 100, `shmat(${raw}, SHM_RDONLY)`]);
      const gone = await runCli(['persist', 'sysv:2147483000', '--to', path.join(tmp, 'none')]);
      assert.strictEqual(gone.code, 1);
      assert.match(gone.stderr, /sysv:2147483000: no such System V segment/);
      assert.ok(!fs.existsSync(path.join(tmp, 'none')));
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("the UI's clear of selected System V rows: exactly those, each re-checked (shmid, key, creation time) before IPC_RMID", async () => {
    const a = jar.make(['64', '--key', String(freshKey())]);
    const b = jar.make(['64', '--key', String(freshKey())]);
    const { id: held } = await jar.hold(['64', '--key', String(freshKey())]);
    const listed = await listSysv({ decode: false });
    const [sa, sb, sh] = [byId(listed, a)!, byId(listed, b)!, byId(listed, held)!];
    // b as listed long ago: its shmid now names a segment made later (what a reused shmid looks like).
    const stale = { ...sb, sysv: { ...sb.sysv, ctimeMs: sb.sysv.ctimeMs - 60_000 } };
    const plan = await clearSysv({ segments: [sa, stale, sh], dryRun: true });
    assert.deepStrictEqual(plan.planned, [`sysv:${a}`]);
    assert.deepStrictEqual(
      plan.skipped.map((x) => [x.name, x.reason.replace(/python3 \(pid \d+\)/, 'P')]),
      [
        [`sysv:${b}`, 'replaced by another segment since it was listed; left alone'],
        [`sysv:${held}`, 'attached by P; pass --include-in-use'],
      ],
    );
    const r = await clearSysv({ segments: [sa, stale, sh] });
    assert.deepStrictEqual(r.removed, [`sysv:${a}`]);
    const after = await listSysv({ decode: false });
    assert.ok(!byId(after, a), 'the planned one is gone');
    assert.ok(byId(after, b) && byId(after, held), 'the replaced and the attached ones stay');
    // Gone since it was listed: skipped, saying so.
    const again = await clearSysv({ segments: [sa] });
    assert.deepStrictEqual([again.removed, again.skipped[0]?.reason], [[], 'gone since it was listed']);
  });

  it('CLI: unlink sysv:ID refuses an attached segment without --force, removes it with; an orphan goes at once', async () => {
    const { id: held, child } = await jar.hold(['0', '--npy', '<f8', '1024']);
    const orphan = jar.make(['8192']);
    // One NAME that is not removed: exit 1 with the reason on stderr (as for a file).
    oneLine(await runCli(['unlink', `sysv:${held}`]), 1, new RegExp(`^shm-inspector: sysv:${held}: attached 1 time; pass --force`));
    // Among several, the outcomes say which process holds it.
    const r = await runCli(['unlink', `sysv:${held}`, 'shmi_no_such_segment_here', '--json']);
    assert.strictEqual(r.code, 1);
    const refused = JSON.parse(r.stdout) as { outcomes: { status: string; holders: { pid: number }[] }[] };
    assert.deepStrictEqual(
      refused.outcomes.map((o) => o.status),
      ['held', 'missing'],
    );
    assert.deepStrictEqual(
      refused.outcomes[0].holders.map((h) => h.pid),
      [child.pid],
    );
    assert.ok(
      (await readSysvTable()).some((x) => x.shmid === held),
      'still there',
    );
    const forced = json<{ outcomes: { name: string; status: string; pendingBytes: number }[] }>(
      await runCli(['unlink', `sysv:${held}`, `sysv:${orphan}`, '--force', '--json']),
    );
    assert.deepStrictEqual(
      forced.outcomes.map((o) => [o.name, o.status]),
      [
        [`sysv:${held}`, 'removed'],
        [`sysv:${orphan}`, 'removed'],
      ],
    );
    assert.ok(forced.outcomes[0].pendingBytes > 0, 'its RAM stays until the producer detaches');
    const table = await readSysvTable();
    assert.ok(!table.some((x) => x.shmid === orphan), 'the orphan is gone');
    const still = table.find((x) => x.shmid === held);
    assert.ok(still && (still.perms & 0o1000) !== 0, 'the held one is marked for removal');
    oneLine(await runCli(['unlink', `sysv:${orphan}`]), 1, /no such System V segment/);
  });
});
