/**
 * memfd regions and shared anonymous memory (issue #15), against real producers
 * (test/fixtures/memfd_producer.py): a memfd made by Python's os.memfd_create holding an .npy and
 * kept alive only by a forked child's mapping, and a shared anonymous mmap(-1, n) across a fork.
 * Found by the core (listMemSegments) and the CLI (list --kind, inspect, stats, render, persist,
 * unlink), named `memfd:INO` / `anon:INO` with the producer's label. Every process made here is
 * killed in `after`; nothing else is touched.
 */
import * as assert from 'assert';
import { spawn, type ChildProcess } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { classifyShmemPath, listMemSegments, parseMemName, type MemSegment } from '../../extension/core/kinds/memfd';
import { runCli, type Run } from '../fixtures/cli';
import { PYTHON, runPython, untilReady } from '../fixtures/segments';

const PRODUCER = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'memfd_producer.py');

interface Producer {
  child: ChildProcess;
  parent: number;
  forked: number;
}

const live = new Set<ChildProcess>();

async function produce(args: string[]): Promise<Producer> {
  // Its own process group: `after` ends the forked child with it (which holds the stdout pipe too).
  const child = spawn(PYTHON, [PRODUCER, ...args], { stdio: ['pipe', 'pipe', 'inherit'], detached: true });
  live.add(child);
  const m = /ready parent=(\d+) child=(\d+)/.exec(await untilReady(child, 'producer'))!;
  return { child, parent: Number(m[1]), forked: Number(m[2]) };
}

function stop(p: Producer): Promise<void> {
  return new Promise((resolve) => {
    if (p.child.exitCode !== null) return resolve();
    p.child.once('exit', () => resolve());
    p.child.stdin!.end();
  });
}

function json<T>(r: Run): T {
  assert.strictEqual(r.code, 0, `exit 0 (stderr: ${r.stderr})`);
  return JSON.parse(r.stdout) as T;
}

const npyBytes = (rows: number, cols: number) => {
  // What np.save writes for arange(rows*cols, '<f8').reshape(rows, cols): the 128-byte v1 header, then the data.
  const header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const h = Buffer.alloc(128 - 10, ' ');
  h.write(header);
  h[h.length - 1] = 0x0a;
  const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 118, 0]);
  const data = Buffer.alloc(rows * cols * 8);
  for (let i = 0; i < rows * cols; i++) data.writeDoubleLE(i, i * 8);
  return Buffer.concat([pre, h, data]);
};

describe('memfd regions and shared anonymous memory (memfd:INO, anon:INO)', function () {
  this.timeout(60_000);
  const label = `shmi_unit_memfd_${process.pid}_${crypto.randomBytes(4).toString('hex')}.npy`;
  let memfd: Producer;
  let anon: Producer;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-kinds-'));

  before(async () => {
    [memfd, anon] = await Promise.all([produce(['memfd', label, '30', '40']), produce(['anon', '20', '50'])]);
  });
  after(async () => {
    for (const c of live) {
      try {
        process.kill(-c.pid!, 'SIGKILL');
      } catch {
        // Already gone with its group.
      }
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const findMemfd = (l: MemSegment[]) => l.find((s) => s.kind === 'memfd' && s.label === label);
  const findAnon = (l: MemSegment[]) => l.find((s) => s.kind === 'anonymous' && s.holders.some((h) => h.pid === anon.parent));

  it('names what the kernel calls each mapping (/memfd:NAME, /dev/zero, [anon_shmem:NAME]) and reads names back', () => {
    assert.deepStrictEqual(classifyShmemPath('/memfd:shmi x'), { kind: 'memfd', label: 'shmi x' });
    assert.deepStrictEqual(classifyShmemPath('/dev/zero'), { kind: 'anonymous', label: null });
    assert.deepStrictEqual(classifyShmemPath('[anon_shmem:arena]'), { kind: 'anonymous', label: 'arena' });
    assert.strictEqual(classifyShmemPath('/SYSV0000abcd'), null);
    assert.deepStrictEqual(parseMemName('memfd:42'), { kind: 'memfd', ino: 42 });
    assert.deepStrictEqual(parseMemName('anon:7'), { kind: 'anonymous', ino: 7 });
    assert.strictEqual(parseMemName('psm_x'), null);
    assert.throws(() => parseMemName('memfd:x'), /not a memfd name/);
  });

  it('finds a memfd kept alive only by a forked child: label, size, RAM, NPY decoded, the child as holder', async () => {
    const s = findMemfd(await listMemSegments());
    assert.ok(s, 'the memfd is listed');
    assert.strictEqual(s.name, `memfd:${s.ino}`);
    assert.strictEqual(s.path, null);
    assert.strictEqual(s.size, npyBytes(30, 40).length);
    assert.ok(s.allocatedBytes >= s.size, `resident bytes (${s.allocatedBytes})`);
    assert.strictEqual(s.format, 'npy');
    assert.strictEqual(s.dtype, '<f8');
    assert.deepStrictEqual(s.shape, [30, 40]);
    // Python's mmap keeps a dup of the fd it maps: the child has it mapped and open; the parent closed its fd.
    assert.deepStrictEqual(
      s.holders.map((h) => [h.pid, h.via]),
      [[memfd.forked, 'map+fd']],
      'only the child holds it',
    );
    assert.strictEqual(s.orphan, false);
  });

  it('finds an anonymous mmap(-1, n) shared across a fork, held by parent and child', async () => {
    const s = findAnon(await listMemSegments({ kinds: ['anonymous'] }));
    assert.ok(s, 'the anonymous mapping is listed');
    assert.strictEqual(s.name, `anon:${s.ino}`);
    assert.strictEqual(s.label, null);
    assert.strictEqual(s.size, 4096 * Math.ceil(npyBytes(20, 50).length / 4096));
    assert.strictEqual(s.format, 'npy');
    assert.deepStrictEqual(s.shape, [20, 50]);
    assert.deepStrictEqual(
      s.holders.map((h) => h.pid).sort((a, b) => a - b),
      [anon.parent, anon.forked].sort((a, b) => a - b),
    );
  });

  it('CLI: list --kind lists them (not by default), inspect/stats/render read them through a holder', async () => {
    const plain = json<{ segments: { name: string }[] }>(await runCli(['list', '--json']));
    assert.ok(!plain.segments.some((s) => s.name.startsWith('memfd:') || s.name.startsWith('anon:')), 'list without --kind is posix only');
    const all = json<{ segments: MemSegment[] }>(await runCli(['list', '--kind', 'memfd,anonymous', '--json']));
    const m = findMemfd(all.segments);
    const a = findAnon(all.segments);
    assert.ok(m && a);
    assert.strictEqual(json<MemSegment>(await runCli(['inspect', m.name, '--json'])).label, label);
    const st = json<{ count: number; mean: number; max: number }>(await runCli(['stats', m.name, '--json']));
    assert.deepStrictEqual([st.count, st.mean, st.max], [1200, 599.5, 1199]);
    const sa = json<{ count: number; mean: number }>(await runCli(['stats', a.name, '--json']));
    assert.deepStrictEqual([sa.count, sa.mean], [1000, 499.5]);
    const png = path.join(tmp, 'a.png');
    const r = await runCli(['render', a.name, '--out', png, '--width', '50', '--height', '20']);
    assert.strictEqual(r.code, 0, r.stderr);
    assert.deepStrictEqual([...fs.readFileSync(png).subarray(1, 4)], [0x50, 0x4e, 0x47]);
    const text = await runCli(['list', '--kind', 'memfd']);
    assert.match(text.stdout, new RegExp(`${m.name}\\s+${label.replace(/\./g, '\\.')}\\s+9\\.5 KiB.*npy float64 30×40\\s+python3\\(${memfd.forked}\\)`));
  });

  it('CLI: persist rescues a memfd to disk byte for byte; unlink says why it cannot remove one', async () => {
    const all = json<{ segments: MemSegment[] }>(await runCli(['list', '--kind', 'memfd', '--json']));
    const m = findMemfd(all.segments)!;
    const file = path.join(tmp, 'rescued.npy');
    const p = json<{ format: string; sha256: string; fromKind: string }>(await runCli(['persist', m.name, '--to', file, '--json']));
    assert.deepStrictEqual([p.format, p.fromKind], ['npy', 'memfd']);
    const text = await runCli(['persist', m.name, '--to', path.join(tmp, 'again.npy')]);
    assert.match(text.stdout, /restore loads it back as a POSIX segment \(a file of the segment directory\), not as a memfd region/);
    assert.ok(fs.readFileSync(file).equals(npyBytes(30, 40)), 'the snapshot holds the region’s bytes');
    const u = await runCli(['unlink', m.name]);
    assert.strictEqual(u.code, 1);
    assert.match(u.stderr, /no name to unlink; it is freed when python3 \(pid \d+\) closes and unmaps it/);
  });

  it('attach memfd:INO: the code to copy opens it through its holder and reads the right values in /usr/bin/python3, saying when it works', async () => {
    const m = findMemfd(await listMemSegments({ kinds: ['memfd'] }))!;
    const s = json<{ kind: string; code: string; requires: string[] }>(await runCli(['attach', m.name, '--json']));
    assert.deepStrictEqual([s.kind, s.requires], ['numpy', ['numpy']]);
    assert.match(
      s.code,
      new RegExp(`python3 \\(pid ${memfd.forked}\\), as /proc/PID/fd/N\\. This works only while that process holds it,\\n# and only for the same user`),
    );
    const run = runPython(s.code, 'print(path.split("/")[1:4:2], arr.dtype, arr.shape, float(arr[29, 39]), float(arr.sum()))');
    assert.strictEqual(run.stdout.trim(), `['proc', 'fd'] float64 (30, 40) 1199.0 719400.0`, `${run.stderr}\n--- code:\n${s.code}`);
    // Another user may not reach it through the holder's fd: the code says so, it does not read something else.
    const other = runPython(s.code, '', ['setpriv', '--reuid', 'nobody', '--regid', 'nogroup', '--clear-groups']);
    assert.notStrictEqual(other.code, 0);
    assert.match(other.stderr, new RegExp(`FileNotFoundError: no process this user may inspect still holds ${m.name}`));
  });

  it("attach anon:INO: the code to copy opens shared anonymous memory through a holder's map_files (root) and reads the right values", async () => {
    const a = findAnon(await listMemSegments({ kinds: ['anonymous'] }))!;
    const s = json<{ kind: string; code: string; requires: string[] }>(await runCli(['attach', a.name, '--json']));
    assert.deepStrictEqual([s.kind, s.requires], ['numpy', ['numpy']]);
    assert.match(
      s.code,
      /is shared anonymous memory of .*python3 \(pid \d+\).*\n# \/proc\/PID\/map_files of a process that maps it \(root only: CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE\)/,
    );
    const run = runPython(s.code, 'print(path.split("/")[1:4:2], arr.dtype, arr.shape, float(arr[19, 49]), float(arr.sum()))');
    assert.strictEqual(run.stdout.trim(), `['proc', 'map_files'] float64 (20, 50) 999.0 499500.0`, `${run.stderr}\n--- code:\n${s.code}`);
    // Without CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE) map_files cannot be opened: the code says no process it may inspect holds it.
    const plain = runPython(s.code, '', ['setpriv', '--bounding-set', '-sys_admin,-checkpoint_restore', '--inh-caps', '-all']);
    assert.notStrictEqual(plain.code, 0);
    assert.match(plain.stderr, new RegExp(`FileNotFoundError: no process this user may inspect still holds ${a.name}`));
  });

  it('a region whose last holder exits between list and read is "no such region", not a crash', async () => {
    const p = await produce(['memfd', `${label}-gone`, '2', '2']);
    const s = (await listMemSegments({ kinds: ['memfd'] })).find((x) => x.label === `${label}-gone`)!;
    assert.ok(s);
    await stop(p);
    const r = await runCli(['stats', s.name]);
    assert.strictEqual(r.code, 1);
    assert.match(r.stderr, new RegExp(`${s.name}: no such region \\(no visible process holds it\\)`));
  });
});
