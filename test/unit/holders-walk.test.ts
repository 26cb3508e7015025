/**
 * The holder scan's maps walk (native/src/scan.cc, PROCMAP_QUERY on Linux 6.11+, split between the
 * pool's threads): what it reports is what /proc/PID/maps says, and a mapped name is read exactly.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { scanHolders } from '../../extension/native';
import { runCli } from '../fixtures/cli';
import { SegmentJar } from '../fixtures/segments';

// map_files needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE: without both, only maps tells the name.
const NO_SYS_ADMIN = ['--bounding-set', '-sys_admin,-checkpoint_restore', '--inh-caps', '-all'];

/** Each file of device `dev` in /proc/PID/maps, in order of its first mapping: count of mappings and highest end offset. */
function fromMapsText(pid: number, dev: number): { ino: number; path: string; count: number; bytes: number }[] {
  const out = new Map<number, { ino: number; path: string; count: number; bytes: number }>();
  for (const line of fs.readFileSync(`/proc/${pid}/maps`, 'latin1').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ ([0-9a-f]+) ([0-9a-f]+):([0-9a-f]+) (\d+) +(.*)$/.exec(line);
    if (!m) continue;
    const major = parseInt(m[4], 16);
    const minor = parseInt(m[5], 16);
    // makedev as glibc builds it (the device numbers of this machine fit in the low bits).
    if ((((major & 0xfff) << 8) | (minor & 0xff) | ((minor & ~0xff) << 12)) !== dev) continue;
    const ino = Number(m[6]);
    const bytes = parseInt(m[3], 16) + parseInt(m[2], 16) - parseInt(m[1], 16);
    const e = out.get(ino);
    if (e) {
      e.count++;
      e.bytes = Math.max(e.bytes, bytes);
    } else out.set(ino, { ino, path: m[7], count: 1, bytes });
  }
  return [...out.values()];
}

describe('holder scan: the maps walk', function () {
  this.timeout(120_000);
  const jar = new SegmentJar();
  let root: string;

  before(() => (root = jar.folder('shmi_walk')));
  after(() => jar.cleanup());

  it('one process mapping 3000 files, some several times far apart: each file once, in maps order, with its mapping count and extent', async () => {
    const d = path.join(root, 'many');
    fs.mkdirSync(d);
    const page = 4096;
    for (let i = 0; i < 3000; i++) fs.writeFileSync(path.join(d, `f${String(i).padStart(4, '0')}`), Buffer.alloc(i % 7 === 0 ? 4 * page : page));
    // f0000 first and last (its two mappings thousands of mappings apart), f0007 three times with different extents.
    const p = await jar.mapper(
      [
        'd = sys.argv[1]',
        'keep = [mapit(d + "/f0000", 4096)]',
        'keep += [mapit(d + "/f%04d" % i, 4096) for i in range(1, 3000)]',
        'keep += [mapit(d + "/f0007", 8192, 4096), mapit(d + "/f0007", 4096, 12288), mapit(d + "/f0000", 16384)]',
      ],
      [d],
    );
    const dev = fs.statSync(d).dev;
    const want = fromMapsText(p.pid!, dev);
    assert.strictEqual(want.length, 3000);
    for (let run = 0; run < 3; run++) {
      const scan = await scanHolders([dev]);
      const mine = scan.processes.find((x) => x.pid === p.pid);
      assert.ok(mine, `pid ${p.pid} is a holder`);
      assert.strictEqual(mine.comm, 'python3');
      assert.deepStrictEqual(
        mine.maps.map((m) => ({ ino: m.ino, path: m.path, count: m.count, bytes: m.bytes })),
        want,
      );
      const f7 = mine.maps.find((m) => m.path.endsWith('/f0007'))!;
      // Adjacent mappings of consecutive offsets may be merged by the kernel into one: as maps shows.
      assert.ok((f7.count ?? 0) >= 2 && f7.bytes === 4 * page, JSON.stringify(f7));
      const f0 = mine.maps.find((m) => m.path.endsWith('/f0000'))!;
      assert.deepStrictEqual([f0.count, f0.bytes], [2, 4 * page]);
    }
  });

  it('without CAP_SYS_ADMIN, a deleted map-only segment whose name holds the characters \\012 keeps that exact name', async function () {
    if (process.getuid?.() !== 0) this.skip(); // setpriv drops a capability root has
    const d = path.join(root, 'esc');
    fs.mkdirSync(d);
    const file = path.join(d, 'a\\012b');
    fs.writeFileSync(file, Buffer.alloc(8192, 2));
    const p = await jar.mapper(['mapit(sys.argv[1], 8192)', 'os.unlink(sys.argv[1])'], [file]);
    const run = await runCli(['list', '--json', '--dir', d], { as: NO_SYS_ADMIN });
    assert.strictEqual(run.code, 0, run.stderr);
    type Seg = { name: string; deleted: boolean; holders: { pid: number; via: string }[]; details?: Record<string, unknown> };
    const del = (JSON.parse(run.stdout) as { segments: Seg[] }).segments.filter((s) => s.deleted);
    // /proc/PID/maps writes a newline and these 4 characters alike; map_files (which tells them
    // apart) needs CAP_SYS_ADMIN. The walk reads the name itself: no guess, no "uncertain" note.
    assert.deepStrictEqual(
      del.map((s) => s.name),
      ['a\\\\012b'],
      run.stdout,
    ); // its display form: a backslash doubled
    assert.deepStrictEqual(
      del[0].holders.map((h) => [h.pid, h.via]),
      [[p.pid, 'map']],
    );
    assert.ok(!del[0].details || !('nameUncertain' in del[0].details), JSON.stringify(del[0].details));
  });
});
