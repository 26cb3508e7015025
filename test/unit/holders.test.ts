/**
 * Holders and deleted-but-mapped segments, against live Python processes that
 * map or open segments numpy made (test/fixtures/make_segments.py keep/hold).
 */
import * as assert from 'assert';
import type { ChildProcess } from 'child_process';
import * as fs from 'fs';
import { inspectSegment, listCatalog } from '../../extension/core/catalog';
import { openView, scanHolders } from '../../extension/native';
import type { Segment } from '../../extension/core/types';
import { py, SegmentJar, SHM_DIR, uniqueName } from '../fixtures/segments';

/** Whether this process may open /proc/PID/map_files (CAP_SYS_ADMIN): then a deleted map-only segment is read exactly. */
function canReadMapFiles(pid: number): boolean {
  try {
    const names = fs.readdirSync(`/proc/${pid}/map_files`);
    return names.length > 0 && fs.statSync(`/proc/${pid}/map_files/${names[0]}`).isFile() !== undefined;
  } catch {
    return false;
  }
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

function holderPids(s: Segment): number[] {
  return s.holders.map((h) => h.pid);
}

describe('holders and deleted-but-mapped segments (live Python processes)', function () {
  this.timeout(60_000);
  const jar = new SegmentJar();
  after(() => jar.cleanup());

  it('a process that maps a segment (libc mmap, fd closed) holds it via map', async () => {
    const { name, path } = jar.name('shmi_hold', '.npy');
    py(['npy', path, '<f4', '10,10']);
    const child = await jar.holder(['keep', path, '--via', 'map']);
    const seg = await inspectSegment(name);
    assert.ok(seg);
    assert.deepStrictEqual(seg.holders, [{ pid: child.pid, comm: 'python3', via: 'map' }]);
    assert.strictEqual(seg.orphan, false);
    assert.strictEqual(seg.deleted, false);
  });

  it('a process that only has it open holds it via fd', async () => {
    const { name, path } = jar.name('shmi_hold', '.npy');
    py(['npy', path, '<f4', '10,10']);
    const child = await jar.holder(['keep', path, '--via', 'fd']);
    const seg = await inspectSegment(name);
    assert.ok(seg);
    assert.deepStrictEqual(seg.holders, [{ pid: child.pid, comm: 'python3', via: 'fd' }]);
    assert.strictEqual(seg.orphan, false);
  });

  it("numpy.memmap holds it via map+fd (Python's mmap keeps a duplicate fd), one entry per process", async () => {
    const { name, path } = jar.name('shmi_hold', '.npy');
    py(['npy', path, '<f8', '20,3']);
    const child = await jar.holder(['hold', path, '--fd']);
    const seg = await inspectSegment(name);
    assert.ok(seg);
    assert.deepStrictEqual(seg.holders, [{ pid: child.pid, comm: 'python3', via: 'map+fd' }]);
  });

  it('several processes: one holder each, sorted by pid', async () => {
    const { name, path } = jar.name('shmi_hold', '.npy');
    py(['npy', path, '<f4', '4,4']);
    const a = await jar.holder(['keep', path, '--via', 'map']);
    const b = await jar.holder(['keep', path, '--via', 'fd']);
    const seg = await inspectSegment(name);
    assert.ok(seg);
    const want = [
      { pid: a.pid!, comm: 'python3', via: 'map' },
      { pid: b.pid!, comm: 'python3', via: 'fd' },
    ].sort((x, y) => x.pid - y.pid);
    assert.deepStrictEqual(seg.holders, want);
  });

  it('a multiprocessing.shared_memory segment held by its Python process', async () => {
    const name = uniqueName('psm_shmi');
    jar.track(`${SHM_DIR}/${name}`);
    const child = await jar.holder(['keep_shared_memory', name, '4096']);
    const cat = await listCatalog();
    const seg = cat.segments.find((s) => s.name === name);
    assert.ok(seg, 'listed');
    assert.strictEqual(seg.producer, 'python-shared-memory');
    assert.strictEqual(seg.format, 'raw');
    assert.strictEqual(seg.size, 4096);
    assert.strictEqual(seg.deleted, false);
    const h = seg.holders.find((x) => x.pid === child.pid);
    assert.ok(h, `held by ${child.pid}: ${JSON.stringify(seg.holders)}`);
    assert.ok(h.via === 'map+fd' || h.via === 'map', h.via);
    assert.strictEqual(seg.orphan, false);
  });

  it('a holder that exits is no longer listed', async () => {
    const { name, path } = jar.name('shmi_hold', '.npy');
    py(['npy', path, '<f4', '4,4']);
    const child = await jar.holder(['keep', path, '--via', 'map']);
    assert.deepStrictEqual(holderPids((await inspectSegment(name))!), [child.pid]);
    child.kill('SIGKILL');
    await exited(child);
    const seg = await inspectSegment(name);
    assert.deepStrictEqual(seg!.holders, []);
  });

  it("this process: its own mapping (a preview's view) makes it a holder, its passing reads while listing do not", async () => {
    const { name, path } = jar.name('shmi_self', '.npy');
    py(['npy', path, '<f4', '64,64']);
    for (let i = 0; i < 3; i++) assert.deepStrictEqual((await inspectSegment(name))!.holders, [], 'reading it to list it is not holding it');
    const view = await openView(path);
    try {
      const comm = fs.readFileSync('/proc/self/comm', 'utf8').trim();
      assert.deepStrictEqual((await inspectSegment(name))!.holders, [{ pid: process.pid, comm, via: 'map+fd' }]);
    } finally {
      view.close();
    }
    assert.deepStrictEqual((await inspectSegment(name))!.holders, []);
  });

  it('an unheld segment: no holders, orphan true (null while some process cannot be inspected)', async () => {
    const { name, path } = jar.name('shmi_orphan', '.npy');
    py(['npy', path, '<f4', '4,4']);
    const cat = await listCatalog();
    const seg = cat.segments.find((s) => s.name === name)!;
    assert.deepStrictEqual(seg.holders, []);
    assert.strictEqual(seg.orphan, cat.invisibleProcesses > 0 ? null : true);
  });

  it('deleted but still mapped by two processes: listed once, after the live ones, with its name, path, size and both holders', async () => {
    const { name, path } = jar.name('shmi_deleted', '.npy');
    py(['npy', path, '<f4', '10,10']);
    const realSize = fs.statSync(path).size; // 528: 128-byte header + 400 bytes
    const a = await jar.holder(['keep', path, '--via', 'map']);
    const b = await jar.holder(['keep', path, '--via', 'map', '--unlink']);
    assert.ok(!fs.existsSync(path), 'unlinked');
    const cat = await listCatalog();
    const mine = cat.segments.filter((s) => s.path === path);
    assert.strictEqual(mine.length, 1, 'once per (dev, ino)');
    const seg = mine[0];
    const at = cat.segments.indexOf(seg);
    assert.ok(
      cat.segments.slice(at).every((s) => s.deleted),
      'deleted ones come after every live one',
    );
    assert.strictEqual(seg.deleted, true);
    assert.strictEqual(seg.name, name);
    assert.deepStrictEqual(holderPids(seg).sort(), [a.pid!, b.pid!].sort());
    assert.ok(seg.holders.every((h) => h.via === 'map'));
    assert.strictEqual(seg.orphan, false);
    if (canReadMapFiles(a.pid!)) {
      // Opened through /proc/PID/map_files: fstat'ed and decoded.
      assert.strictEqual(seg.size, realSize);
      assert.strictEqual(seg.format, 'npy');
      assert.strictEqual(seg.dtype, '<f4');
      assert.deepStrictEqual(seg.shape, [10, 10]);
      assert.strictEqual(seg.details?.sizeFrom, 'fstat');
    } else {
      // Only the mapping tells the size: page-rounded.
      assert.ok(seg.size >= realSize && seg.size % 4096 === 0, `size ${seg.size}`);
      assert.strictEqual(seg.details?.sizeFrom, 'mapping');
    }
    const viaInspect = await inspectSegment(name);
    assert.ok(viaInspect && viaInspect.deleted && viaInspect.ino === seg.ino);
  });

  it('deleted but held only through an fd: exact size from fstat, decoded through /proc/PID/fd', async () => {
    const { name, path } = jar.name('shmi_deleted', '.npy');
    py(['npy', path, '>i8', '3,5', '--order', 'F']);
    const realSize = fs.statSync(path).size;
    const child = await jar.holder(['keep', path, '--via', 'fd', '--unlink']);
    const seg = await inspectSegment(name);
    assert.ok(seg);
    assert.strictEqual(seg.deleted, true);
    assert.strictEqual(seg.size, realSize);
    assert.strictEqual(seg.format, 'npy');
    assert.strictEqual(seg.dtype, '>i8');
    assert.deepStrictEqual(seg.shape, [3, 5]);
    assert.strictEqual(seg.fortranOrder, true);
    assert.deepStrictEqual(seg.holders, [{ pid: child.pid, comm: 'python3', via: 'fd' }]);
    assert.ok(seg.mtimeMs > 0 && seg.uid === process.getuid!(), 'fstat fields');
  });

  it("a new segment reusing a deleted one's name: list shows both, inspect prefers the live one", async () => {
    const { name, path } = jar.name('shmi_reuse', '.npy');
    py(['npy', path, '<f4', '6,6']);
    await jar.holder(['keep', path, '--via', 'map', '--unlink']);
    py(['npy', path, '<i2', '7']);
    const cat = await listCatalog();
    const both = cat.segments.filter((s) => s.name === name);
    assert.deepStrictEqual(
      both.map((s) => s.deleted),
      [false, true],
    );
    assert.notStrictEqual(both[0].ino, both[1].ino);
    const seg = await inspectSegment('/' + name);
    assert.ok(seg);
    assert.strictEqual(seg.deleted, false);
    assert.strictEqual(seg.dtype, '<i2');
    assert.deepStrictEqual(seg.holders, []);
  });

  it('memfd and System V segments are not listed as deleted segments', async () => {
    const tag = uniqueName('shmi_memfd');
    const child = await jar.holder(['keep_anonymous', tag]);
    const maps = fs.readFileSync(`/proc/${child.pid}/maps`, 'utf8');
    assert.ok(maps.includes(`/memfd:${tag} (deleted)`), 'the memfd is mapped');
    assert.ok(maps.includes('/SYSV'), 'the System V segment is attached');
    const cat = await listCatalog();
    assert.ok(!cat.segments.some((s) => s.name.includes(tag) || s.holders.some((h) => h.pid === child.pid)));
    assert.ok(cat.segments.every((s) => !s.deleted || s.path.startsWith(SHM_DIR + '/')));
    assert.ok(cat.segments.every((s) => !s.name.startsWith('memfd:') && !s.name.startsWith('SYSV')));
  });

  it('the holder scan skips kernel threads and zombies (they are never counted invisible)', async () => {
    const scan = await scanHolders([fs.statSync(SHM_DIR).dev]);
    let kernel = 0;
    let all = 0;
    for (const d of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const st = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
        const fields = st.slice(st.lastIndexOf(')') + 2).split(' ');
        all++;
        if ((Number(fields[6]) & 0x00200000) !== 0) kernel++;
      } catch {
        // exited meanwhile
      }
    }
    assert.ok(kernel > 0, 'this machine has kernel threads');
    assert.ok(scan.invisible <= all - kernel + 5, `invisible ${scan.invisible} of ${all} processes, ${kernel} kernel threads`);
  });
});
