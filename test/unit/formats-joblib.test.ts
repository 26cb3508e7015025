import * as assert from 'assert';
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { listCatalog } from '../../extension/core/catalog';
import type { Segment } from '../../extension/core/types';
import { MAKE_FORMATS, PYTHON, pyFormats, SegmentJar, uniqueName, untilReady } from '../fixtures/segments';
import { listed } from './helpers';

interface WorkerView {
  file: string;
  offset: number;
  dtype: string;
  shape: number[];
  fortran: boolean;
  type: string;
}

/** Starts `make_formats.py joblib-parallel DIR`; resolves with what the workers saw once it prints `ready`. */
async function startParallel(dir: string): Promise<{ child: ChildProcess; seen: WorkerView[] }> {
  const child = spawn(PYTHON, [MAKE_FORMATS, 'joblib-parallel', dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  const out = await untilReady(child, 'joblib-parallel');
  return { child, seen: JSON.parse(out.split('\n')[0]) };
}

/** Closes the helper's stdin (it leaves the Parallel context, joblib removes its folder) and waits. */
function stopParallel(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.stdin!.end();
  });
}

describe('formats: joblib memmaps (real joblib.Parallel and joblib.dump)', () => {
  const jar = new SegmentJar();
  let dir = '';
  let helper: ChildProcess | null = null;
  before(() => {
    dir = jar.folder('shmi_fmt_joblib');
  });
  after(async () => {
    if (helper) await stopParallel(helper);
    jar.cleanup();
  });

  const segment = (name: string): Promise<Segment> => listed(dir, name);

  it('decodes what Parallel(n_jobs=2, max_nbytes=1000) memmaps: the offsets joblib itself maps, numpy agrees', async function () {
    this.timeout(90_000);
    const started = await startParallel(dir);
    helper = started.child;
    const { seen } = started;
    assert.strictEqual(seen.length, 6);
    assert.ok(
      seen.every((w) => w.type === 'memmap'),
      'workers got memmaps',
    );
    const cat = await listCatalog({ dirs: [dir] });
    const folder = cat.segments.find((s) => s.format === 'directory' && /^joblib_memmapping_folder_/.test(s.name));
    assert.ok(folder, 'joblib_memmapping_folder_* listed');
    assert.strictEqual(folder.producer, 'joblib');
    assert.strictEqual(folder.children?.length, 6);
    for (const w of seen) {
      const seg: Segment | undefined = folder.children!.find((c) => c.path === w.file);
      assert.ok(seg, `${w.file} listed in the folder`);
      assert.match(seg.name, /^joblib_memmapping_folder_[^/]+\/\d+-\d+-[0-9a-f]{32}\.pkl$/);
      assert.strictEqual(seg.error, null);
      assert.strictEqual(seg.format, 'joblib');
      assert.strictEqual(seg.dtype, w.dtype);
      assert.deepStrictEqual(seg.shape, w.shape);
      assert.strictEqual(seg.fortranOrder, w.fortran);
      assert.strictEqual(seg.dataOffset, w.offset, 'the offset joblib passes to np.memmap');
      assert.strictEqual(seg.details?.allowMmap, true);
      assert.strictEqual(seg.details?.alignment, 16);
      const check = pyFormats(['joblib-check', seg.path, seg.dtype!, seg.shape!.join(','), String(seg.dataOffset), seg.fortranOrder ? 'F' : 'C']);
      assert.strictEqual(check.equal, true, 'numpy at dataOffset == joblib.load');
    }
    await stopParallel(helper);
    helper = null;
    assert.ok(!fs.existsSync(folder.path), 'joblib removed its folder when the Parallel context ended');
  });

  const dumps: [string, string, 'C' | 'F', number | null][] = [
    ['<f8', '10,3', 'F', 0],
    ['>i4', '7', 'C', 0],
    ['<f4', '4,5', 'C', 1],
    ['|u1', '300', 'C', 2],
    ['>f8', '6,7', 'F', 3],
    ['<c16', '3,3', 'C', 4],
    ['|b1', '2,2,2', 'F', 5],
    ['<i2', '', 'C', null], // 0-d, default protocol
    ['<f4', '0,4', 'C', 4], // empty
  ];
  for (const [dtype, shape, order, protocol] of dumps) {
    it(`decodes joblib.dump of ${dtype} (${shape || 'scalar'}) ${order}-order with protocol ${protocol ?? 'default'}; numpy agrees`, async () => {
      const name = uniqueName('jl') + '.pkl';
      const file = path.join(dir, name);
      pyFormats(['joblib-dump', file, dtype, shape, '--order', order, ...(protocol === null ? [] : ['--protocol', String(protocol)])]);
      const seg = await segment(name);
      assert.strictEqual(seg.error, null);
      assert.strictEqual(seg.format, 'joblib');
      assert.strictEqual(seg.dtype, dtype);
      assert.deepStrictEqual(seg.shape, shape ? shape.split(',').map(Number) : []);
      const fortran = order === 'F' && seg.shape!.filter((d) => d > 1).length > 1;
      assert.strictEqual(seg.fortranOrder, fortran);
      assert.strictEqual(seg.dataOffset! % 16, 0, 'joblib >= 1.2 aligns the data to 16 bytes');
      const check = pyFormats(['joblib-check', file, seg.dtype!, seg.shape!.join(','), String(seg.dataOffset), seg.fortranOrder ? 'F' : 'C']);
      assert.strictEqual(check.equal, true, 'numpy at dataOffset == joblib.load');
    });
  }

  it('reports a joblib pickle whose array bytes were cut short', async () => {
    const name = uniqueName('jl') + '.pkl';
    const file = path.join(dir, name);
    pyFormats(['joblib-dump', file, '<f8', '100,10']);
    fs.truncateSync(file, 4000);
    const seg = await segment(name);
    assert.strictEqual(seg.format, 'joblib');
    assert.match(seg.error ?? '', /^truncated: shape \[100,10\] needs 8000 bytes/);
  });

  it('reports broken pickles and unknown opcodes, never runs them', async () => {
    const name = uniqueName('jl') + '.pkl';
    const file = path.join(dir, name);
    pyFormats(['joblib-dump', file, '<f8', '4']);
    const good = fs.readFileSync(file);
    const variants: [string, Buffer, RegExp][] = [
      ['cut in the header', good.subarray(0, 120), /malformed pickle: truncated pickle/],
      ['bad opcode', Buffer.concat([good.subarray(0, 60), Buffer.from([0xf0]), good.subarray(61)]), /unsupported pickle opcode 0xf0/],
      ['bad memo reference', Buffer.from(good.toString('latin1').replace('h\x06h\r', 'h\x66h\r'), 'latin1'), /memo 102 missing/],
      [
        'absurd padding',
        (() => {
          const b = Buffer.from(good);
          b[b.indexOf(Buffer.from('K\x10ub', 'latin1')) + 4] = 200; // BININT1 16, SETITEMS, BUILD, then the padding byte
          return b;
        })(),
        /padding of 200 bytes/,
      ],
    ];
    for (const [what, bytes, re] of variants) {
      fs.writeFileSync(file, bytes);
      const seg = await segment(name);
      assert.strictEqual(seg.format, 'joblib', `${what}: ${JSON.stringify(seg)}`);
      assert.match(seg.error ?? '', re, `${what}: ${seg.error}`);
    }
  });

  // Issue #16 changed what such a file is: a `pickle` (described, never run), where it was `raw`; never joblib.
  it('leaves other pickles alone outside a joblib folder (a pickle, not a joblib array)', async () => {
    const name = uniqueName('plain') + '.pkl';
    fs.writeFileSync(path.join(dir, name), Buffer.from([0x80, 0x04, 0x4b, 0x01, 0x2e]));
    const seg = await segment(name);
    assert.strictEqual(seg.format, 'pickle');
    assert.deepStrictEqual([(seg.details?.pickle as { type: string }).type, seg.dataOffset], ['builtins.int', null]);
  });
});
