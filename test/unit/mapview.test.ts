/**
 * What the mapped views read (issue #11, items 2, 3 and part of 12), through the real addon and the
 * built CLI, on files numpy and the kernel made:
 *  - the header of one file is never paired with the data of another: `stats` runs while a Python
 *    process swaps two names with renameat2(RENAME_EXCHANGE) give the figures of the file whose header
 *    they decoded, or refuse (CHANGED);
 *  - reading never allocates: a sparse 1 GiB segment keeps its st_blocks through stats, render and the
 *    preview's passes; a 1 TiB sparse file on a private 64 MiB tmpfs (unshare -m) stays unfilled;
 *    holes written after the open are read after a refresh (live mode);
 *  - a full file system (a hole punched after the open, then the tmpfs filled by someone else) is told
 *    apart from a file that shrank: NOSPACE, SHRANK;
 *  - a FIFO is not a regular file, and is never opened blocking.
 */
import * as assert from 'assert';
import { execFile, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { resolveSlice } from '../../extension/core/array';
import { errorCode } from '../../extension/core/errors';
import { openView, type StatsResult } from '../../extension/native';
import { FileSource } from '../../extension/preview/source';
import { baseStats, sliceQuantile } from '../../extension/preview/stats';
import { CLI, runCli, type Run } from '../fixtures/cli';
import { PYTHON, pyCode, SegmentJar } from '../fixtures/segments';

const NATIVE_JS = path.resolve(__dirname, '..', '..', 'extension', 'native.js');
const isRoot = process.getuid?.() === 0;

/** Runs `sh -c script` in a mount namespace of its own (its tmpfs mounts vanish with it). */
function inOwnMountNs(script: string, timeout = 180_000): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('unshare', ['-m', 'sh', '-c', script], { encoding: 'utf8', timeout, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? -1) : 0, out: stdout + stderr }),
    );
  });
}

/** The lines `KEY=JSON` a namespace script printed, parsed. */
function reports(out: string): Record<string, unknown> {
  const r: Record<string, unknown> = {};
  for (const line of out.split('\n')) {
    const m = /^([A-Za-z_]+)=(.*)$/.exec(line);
    if (m) r[m[1]] = JSON.parse(m[2]);
  }
  return r;
}

/** The figures of `stats --json` these tests look at (the contract's names, as the view's). */
type StatsDoc = Pick<StatsResult, 'count' | 'min' | 'max' | 'mean' | 'std'>;

function near(actual: number | null, expected: number, what: string): void {
  assert.ok(actual !== null && Math.abs(actual - expected) <= 1e-6 * Math.max(1, Math.abs(expected)), `${what}: expected ${expected}, got ${actual}`);
}

describe('mapped views: the inspected file, read without allocating (mapview)', function () {
  this.timeout(300_000);
  const jar = new SegmentJar();
  after(() => jar.cleanup());

  it('stats while two names are swapped (renameat2 RENAME_EXCHANGE): the figures of the header decoded, or a clear refusal', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-swap-'));
    const a = path.join(dir, 'a.npy');
    const b = path.join(dir, 'b.npy');
    // Same size, different headers: a is float32 1024 x 1024 of ones, b float64 512 x 1024 of threes. A's header
    // on b's bytes reads 0 and 2.125 (mean 1.0625); b's header on a's bytes reads 0.0078125 (not 3).
    pyCode('import numpy as np, sys; np.save(sys.argv[1], np.ones((1024, 1024), "<f4")); np.save(sys.argv[2], np.full((512, 1024), 3.0, "<f8"))', [a, b]);
    assert.strictEqual(fs.statSync(a).size, fs.statSync(b).size);
    const swapper = spawn(
      PYTHON,
      [
        '-c',
        `
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2
a, b = sys.argv[1].encode(), sys.argv[2].encode()
print("ready", flush=True)
while True:
    if libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) != 0:
        sys.exit("renameat2: " + os.strerror(ctypes.get_errno()))
    time.sleep(0.0003)
`,
        a,
        b,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        swapper.stdout!.once('data', () => resolve());
        swapper.once('exit', (code) => reject(new Error(`the swapper exited with ${code}`)));
      });
      const outcomes = { a: 0, b: 0, refused: 0 };
      const wrong: string[] = [];
      const check = (r: Run) => {
        if (r.code !== 0) {
          assert.strictEqual(r.code, 1, `exit 1 or 0 (stderr: ${r.stderr})`);
          assert.match(r.stderr, /^shm-inspector: a\.npy: replaced by another file while it was being opened, twice .*; try again\n$/);
          outcomes.refused++;
          return;
        }
        const s = JSON.parse(r.stdout) as StatsDoc;
        if (s.count === 1024 * 1024 && s.min === 1 && s.max === 1 && s.mean === 1) outcomes.a++;
        else if (s.count === 512 * 1024 && s.min === 3 && s.max === 3 && s.mean === 3) outcomes.b++;
        else wrong.push(r.stdout.trim());
      };
      for (let i = 0; i < 24; i++) {
        const runs = await Promise.all([0, 1].map(() => runCli(['stats', 'a.npy', '--dir', dir, '--json'])));
        runs.forEach(check);
      }
      console.log(`      ${JSON.stringify(outcomes)}, wrong figures: ${wrong.length}`);
      assert.deepStrictEqual(wrong, [], 'no run gives figures of one file under the header of the other');
      assert.ok(outcomes.a + outcomes.b >= 1, `some run succeeded (${JSON.stringify(outcomes)})`);
    } finally {
      swapper.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the viewer's sources carry the identity of the file they decoded: a file renamed over after the decode is refused (CHANGED), the next load maps the new one", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-source-'));
    try {
      const a = path.join(dir, 'a.npy');
      pyCode('import numpy as np, sys; np.save(sys.argv[1], np.ones((8, 8), "<f4")); np.save(sys.argv[2], np.full((4, 4), 3, "<f8"))', [a, path.join(dir, 'b.npy')]);
      const source = new FileSource(a);
      const first = await source.load(null);
      fs.renameSync(path.join(dir, 'b.npy'), a);
      await assert.rejects(
        openView(first.path, first.identity),
        (e: Error) => errorCode(e) === 'CHANGED' && /replaced by another file since it was inspected/.test(e.message),
      );
      const again = await source.load(null);
      assert.deepStrictEqual(again.layout.shape, [4, 4]);
      const view = await openView(again.path, again.identity);
      try {
        assert.strictEqual((await view.stats(resolveSlice(again.layout))).mean, 3);
      } finally {
        view.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a sparse 1 GiB segment: stats, render and the preview passes allocate nothing, and give the figures of its data and zeros', async () => {
    const { name, path: p } = jar.name('shmi_sparse', '.npy');
    // numpy's open_memmap writes the header and the last byte; 64 rows of data are written at row 1000 (pwrite: no other page).
    const rows = 16384;
    const cols = 16384;
    pyCode(
      `
import numpy as np, os, sys
p = sys.argv[1]
m = np.lib.format.open_memmap(p, mode="w+", dtype="<f4", shape=(${rows}, ${cols}))
off = m.offset
del m
data = (np.arange(64 * ${cols}) % 1000 + 1).astype("<f4")
fd = os.open(p, os.O_WRONLY)
os.pwrite(fd, data.tobytes(), off + 1000 * ${cols} * 4)
os.close(fd)
`,
      [p],
    );
    const blocks = () => fs.statSync(p).blocks;
    const before = blocks();
    assert.ok(before * 512 < 8 << 20, `the fixture is sparse (${before * 512} bytes allocated)`);
    // The figures: 64 * 16384 values cycling 1..1000, zeros elsewhere.
    const n = rows * cols;
    let sum = 0;
    let sq = 0;
    for (let k = 0; k < 64 * cols; k++) {
      const v = (k % 1000) + 1;
      sum += v;
      sq += v * v;
    }
    const mean = sum / n;
    const std = Math.sqrt(sq / n - mean * mean);

    const st = await runCli(['stats', name, '--json']);
    assert.strictEqual(st.code, 0, st.stderr);
    const s = JSON.parse(st.stdout) as StatsDoc;
    assert.strictEqual(s.count, n);
    assert.strictEqual(s.min, 0);
    assert.strictEqual(s.max, 1000);
    near(s.mean, mean, 'mean');
    near(s.std, std, 'std');
    assert.strictEqual(blocks(), before, 'stats allocated nothing');

    const png = path.join(os.tmpdir(), `${name}.png`);
    try {
      for (const mode of ['mean', 'max', 'strided']) {
        const r = await runCli(['render', name, '--out', png, '--mode', mode, '--json']);
        assert.strictEqual(r.code, 0, r.stderr);
        assert.strictEqual(blocks(), before, `render --mode ${mode} allocated nothing`);
      }
      const max = JSON.parse((await runCli(['render', name, '--out', png, '--mode', 'max', '--json'])).stdout) as { domain: number[] };
      assert.deepStrictEqual(max.domain, [0, 1000], 'the picture sees the data among the zeros');
    } finally {
      fs.rmSync(png, { force: true });
    }

    // The viewer's passes (session.ts): first picture, exact float32 grid, stats with quantiles, a live refresh.
    const seg = fs.statSync(p);
    const view = await openView(p, { dev: seg.dev, ino: seg.ino });
    try {
      assert.ok(view.holes && view.holes.holes >= 2 && view.holes.holeBytes > 1000 << 20, `the holes are mapped to zeros: ${JSON.stringify(view.holes)}`);
      const slice = resolveSlice({ dtype: '<f4', shape: [rows, cols], fortranOrder: false, dataOffset: view.size - n * 4 });
      const whole = { ...slice, r0: 0, r1: rows, c0: 0, c1: cols };
      await view.reduce({ ...whole, gridWidth: 256, gridHeight: 256, mode: 'strided', output: 'f32' });
      const grid = await view.reduce({ ...whole, gridWidth: 1024, gridHeight: 1024, mode: 'mean', output: 'f32' });
      assert.ok(grid.max !== null && grid.max > 0 && grid.min === 0);
      const base = await baseStats(view, slice);
      assert.strictEqual(base.max, 1000);
      await sliceQuantile(view, slice, base, 0.999);
      await view.refresh();
      assert.strictEqual(blocks(), before, 'the preview allocated nothing');
    } finally {
      view.close();
    }
  });

  it('holes written after the open read as zeros until refresh() (live mode), then as the data written', async () => {
    const { path: p } = jar.name('shmi_fill', '.bin');
    const size = 64 << 20;
    fs.closeSync(fs.openSync(p, 'w'));
    fs.truncateSync(p, size);
    const view = await openView(p);
    try {
      assert.deepStrictEqual(view.holes && [view.holes.holes, view.holes.holeBytes], [1, size]);
      const slice = resolveSlice({ dtype: '<f4', shape: [size / 4], fortranOrder: false, dataOffset: 0 });
      // A producer fills 1 MiB in the middle.
      const fd = fs.openSync(p, 'r+');
      fs.writeSync(fd, Buffer.from(new Float32Array(1 << 18).fill(7).buffer), 0, 1 << 20, 32 << 20);
      fs.closeSync(fd);
      assert.strictEqual((await view.stats(slice)).max, 0, 'the hole as mapped: zeros');
      const info = await view.refresh();
      assert.deepStrictEqual([info.size, info.holes, info.holeBytes], [size, 2, size - (1 << 20)]);
      const s = await view.stats(slice);
      assert.strictEqual(s.max, 7);
      assert.strictEqual(s.mean, (7 * (1 << 18)) / (size / 4));
      assert.strictEqual(fs.statSync(p).blocks * 512, 1 << 20, 'nothing allocated beyond what was written');
    } finally {
      view.close();
    }
  });

  it('more holes than map areas allow: the largest read as zeros, the rest stay mapped to the file (holesLeft says so), and the figures hold', async () => {
    const { path: p } = jar.name('shmi_holey', '.bin');
    const cap = Math.floor(Number(fs.readFileSync('/proc/sys/vm/max_map_count', 'utf8')) / 8);
    const pages = 2 * (cap + 500);
    // Every other page holds data (ones): a page-sized hole between each two.
    pyCode(
      `
import numpy as np, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o600)
os.ftruncate(fd, ${pages} * 4096)
one = np.ones(1024, "<f4").tobytes()
for k in range(0, ${pages}, 2):
    os.pwrite(fd, one, k * 4096)
os.close(fd)
`,
      [p],
    );
    const before = fs.statSync(p).blocks;
    const view = await openView(p);
    try {
      const h = view.holes!;
      assert.ok(h.holes > 0 && h.holesLeft > 0 && h.holes + h.holesLeft === pages / 2, `holes split between zeros and the file: ${JSON.stringify(h)}`);
      assert.strictEqual(h.holeBytes + h.holeBytesLeft, (pages / 2) * 4096);
      const s = await view.stats(resolveSlice({ dtype: '<f4', shape: [pages * 1024], fortranOrder: false, dataOffset: 0 }));
      assert.strictEqual(s.mean, 0.5);
      assert.ok((fs.statSync(p).blocks - before) * 512 <= h.holeBytesLeft, 'only the holes left to the file took pages');
    } finally {
      view.close();
    }
  });

  it('a 1 TiB sparse file on a private 64 MiB tmpfs (unshare -m): stats of a slice and renders leave it unfilled', async function () {
    if (!isRoot) this.skip();
    const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-tib-'));
    try {
      // 4096 x 4096 x 16384 float32 = 1 TiB; slice 8 (256 MiB) holds 16384 twos at 1 MiB into it.
      const dims = '--dtype f4 --shape 4096,4096,16384 --index 8';
      const used = `df -B1 --output=used ${mnt} | tail -1`;
      const { code, out } = await inOwnMountNs(
        [
          'set -e',
          `mount -t tmpfs -o size=64m none ${mnt}`,
          `truncate -s 1T ${mnt}/big`,
          `${PYTHON} -c 'import numpy as np, os; fd = os.open("${mnt}/big", os.O_WRONLY); os.pwrite(fd, np.full(16384, 2, "<f4").tobytes(), 2**31 + 2**20)'`,
          `echo "before=$(${used})"`,
          `echo "stats=$(${process.execPath} ${CLI} stats big --dir ${mnt} ${dims} --json 2>&1)"`,
          `${process.execPath} ${CLI} render big --dir ${mnt} ${dims} --mode strided --out ${mnt}.png --json >/dev/null`,
          `${process.execPath} ${CLI} render big --dir ${mnt} ${dims} --mode max --window 0:64,: --out ${mnt}.png --json >/dev/null`,
          `echo "after=$(${used})"`,
          `echo "blocks=$(stat -c %b ${mnt}/big)"`,
          `umount ${mnt}`,
        ].join('\n'),
      );
      assert.strictEqual(code, 0, out);
      const r = reports(out);
      const s = r.stats as StatsDoc;
      assert.strictEqual(s.count, 4096 * 16384, out);
      assert.strictEqual(s.max, 2);
      assert.strictEqual(s.min, 0);
      assert.strictEqual(s.mean, (2 * 16384) / (4096 * 16384));
      assert.strictEqual(r.after, r.before, `the tmpfs did not fill (${out})`);
      assert.strictEqual(r.blocks, 128, 'the file holds only the 64 KiB written');
    } finally {
      fs.rmSync(`${mnt}.png`, { force: true });
      fs.rmdirSync(mnt);
    }
  });

  it('a full file system (a hole punched after the open, the tmpfs filled by another writer) is NOSPACE, not a file that shrank; SHRANK when it did', async function () {
    if (!isRoot) this.skip();
    const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-full-'));
    const script = path.join(mnt + '.js');
    fs.writeFileSync(
      script,
      `
const fs = require('fs');
const { execFileSync } = require('child_process');
const { openView } = require(${JSON.stringify(NATIVE_JS)});
const f = process.argv[2] + '/f';
const out = (k, v) => console.log(k + '=' + JSON.stringify(v));
const outcome = (p) => p.then((s) => ({ max: s.max, mean: s.mean }), (e) => ({ code: e.code, message: e.message }));
(async () => {
  fs.writeFileSync(f, Buffer.from(new Float32Array(1 << 18).fill(1).buffer)); // 1 MiB of ones
  const v = await openView(f);
  const slice = { dtype: 'f4', byteSwap: false, offset: 0, strideR: 0, strideC: 4, rows: 1, cols: 1 << 18 };
  out('holesAtOpen', v.holes.holes);
  execFileSync('fallocate', ['-p', '-o', String(256 << 10), '-l', String(256 << 10), f]);
  // Someone else fills the file system.
  const fd = fs.openSync(process.argv[2] + '/filler', 'w');
  const chunk = Buffer.alloc(64 << 10, 1);
  try { for (;;) fs.writeSync(fd, chunk); } catch (e) { out('filler', e.code); }
  fs.closeSync(fd);
  out('full', await outcome(v.stats(slice)));
  // A fresh look at the holes reads the punched range as zeros, without a page.
  out('refreshed', (await v.refresh()).holes);
  out('afterRefresh', await outcome(v.stats(slice)));
  fs.truncateSync(f, 128 << 10);
  out('shrunk', await outcome(v.stats(slice)));
  out('blocks', fs.statSync(f).blocks);
  v.close();
})().catch((e) => { console.log('crash', e); process.exit(3); });
`,
    );
    try {
      const { code, out } = await inOwnMountNs(`set -e\nmount -t tmpfs -o size=4m none ${mnt}\n${process.execPath} ${script} ${mnt}\numount ${mnt}`);
      assert.strictEqual(code, 0, out);
      const r = reports(out);
      assert.strictEqual(r.holesAtOpen, 0);
      assert.strictEqual(r.filler, 'ENOSPC');
      const full = r.full as { code: string; message: string };
      assert.strictEqual(full.code, 'NOSPACE', out);
      assert.match(
        full.message,
        /^the file system holding the segment is full \(\d+ of 4194304 bytes free\): reading the hole at offset 26\d{4} needed a new page \(SIGBUS caught\); the segment did not shrink/,
      );
      assert.strictEqual(r.refreshed, 1);
      assert.deepStrictEqual(r.afterRefresh, { max: 1, mean: 0.75 });
      const shrunk = r.shrunk as { code: string; message: string };
      assert.strictEqual(shrunk.code, 'SHRANK', out);
      assert.match(shrunk.message, /^the segment shrank to 131072 bytes while open \(it had 1048576; this read needs 1048576\)/);
      assert.strictEqual(r.blocks, 256, 'the file still holds only its 128 KiB');
    } finally {
      fs.rmSync(script, { force: true });
      fs.rmdirSync(mnt);
    }
  });

  it('a FIFO is not a regular file: stats says so at once (never opens it blocking), openView refuses it (NOTFILE)', async () => {
    const { name, path: p } = jar.name('shmi_fifo');
    execFileSync('mkfifo', [p]);
    for (const extra of [[], ['--dtype', 'f4', '--shape', '1']]) {
      const r = await runCli(['stats', name, ...extra]);
      assert.strictEqual(r.code, 1);
      assert.strictEqual(r.stderr, `shm-inspector: ${name}: not a regular file (FIFO, socket or device)\n`);
    }
    await assert.rejects(openView(p), (e: Error) => errorCode(e) === 'NOTFILE' && /not a regular file \(a FIFO\)/.test(e.message));
  });
});
