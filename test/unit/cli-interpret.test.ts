/**
 * `shm-inspector interpret` (dist/cli.js, as built) on a SharedMemory segment Python made
 * (float16 1000x1000 in a segment padded to whole pages): the proposals, setting a layout that
 * list, inspect, stats and render then use (stats against numpy's), the bytes a layout leaves
 * over said on stderr and in JSON, --clear, and the errors (not raw, does not fit, both flags).
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli, type Run } from '../fixtures/cli';
import { pyCode, py, SegmentJar } from '../fixtures/segments';

describe('CLI interpret', function () {
  this.timeout(60_000);
  const jar = new SegmentJar();
  let configDir = '';
  let seg: { name: string; path: string };
  const cli = (args: string[]): Promise<Run> => runCli(args, { env: { SHM_INSPECTOR_CONFIG_DIR: configDir } });
  const ok = (r: Run): string => {
    assert.strictEqual(r.code, 0, `exit 0 (stderr: ${r.stderr})`);
    return r.stdout;
  };

  before(() => {
    configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-interpret-'));
    seg = jar.name('shmi_cli_interp');
    py(['shared_memory', seg.name, '<f2', '1000,1000', '--fill', 'random', '--seed', '3', '--size', String(Math.ceil(2_000_000 / 4096) * 4096)]);
  });
  after(() => {
    jar.cleanup();
    fs.rmSync(configDir, { recursive: true, force: true });
  });

  /** numpy's statistics of the float16 1000x1000 at the start of the segment. */
  function numpyStats(): { count: number; min: number; max: number; mean: number } {
    const code = `import numpy as np,json;a=np.fromfile('${seg.path}',dtype='<f2',count=1000000).astype(np.float64);print(json.dumps({'count':a.size,'min':a.min(),'max':a.max(),'mean':a.mean()}))`;
    return JSON.parse(pyCode(code)) as { count: number; min: number; max: number; mean: number };
  }

  it('without a layout: no interpretation yet, and float16 1000x1000 (page padding) proposed first', async () => {
    const doc = JSON.parse(ok(await cli(['interpret', seg.name, '--json']))) as {
      name: string;
      size: number;
      interpretation: unknown;
      proposals: { dtype: string; shape: number[]; offset: number; order: string; leftoverBytes: number; reason: string }[];
    };
    assert.strictEqual(doc.name, seg.name);
    assert.strictEqual(doc.size, 2_002_944);
    assert.strictEqual(doc.interpretation, null);
    assert.deepStrictEqual(doc.proposals[0], { dtype: '<f2', shape: [1000, 1000], offset: 0, order: 'C', leftoverBytes: 2944, reason: 'page padding (2944 bytes)' });
    const text = ok(await cli(['interpret', seg.name]));
    assert.match(text, /no interpretation/);
    assert.match(text.split('\n').find((l) => l.startsWith('<f2')) ?? '', /^<f2\s+1000,1000\s+0\s+2944\s+page padding/);
    // Before: stats of a raw segment need a layout.
    assert.strictEqual((await cli(['stats', seg.name, '--json'])).code, 2);
  });

  it('sets a layout that list, inspect, stats and render use; the 2944 bytes it leaves over are said (stderr note, JSON field)', async () => {
    const set = await cli(['interpret', seg.name, '--dtype', 'float16', '--shape', '1000,1000', '--json']);
    assert.deepStrictEqual(JSON.parse(ok(set)), {
      name: seg.name,
      size: 2_002_944,
      interpretation: { dtype: '<f2', shape: [1000, 1000], offset: 0, order: 'C' },
      leftoverBytes: 2944,
    });
    assert.strictEqual(set.stderr, '', 'JSON mode: the field says it');
    const human = await cli(['interpret', seg.name, '--dtype', 'f2', '--shape', '1000,1000']);
    assert.match(ok(human), /interpreted as float16 1000×1000, C order/);
    assert.match(human.stderr, /note: .*leaves 2944 bytes after the data unread \(it uses 2000000 of 2002944 bytes\)/);

    const list = JSON.parse(ok(await cli(['list', '--json']))) as {
      segments: { name: string; format: string; dtype: string; shape: number[]; details?: { interpretation?: { leftoverBytes: number } } }[];
    };
    const s = list.segments.find((x) => x.name === seg.name)!;
    assert.deepStrictEqual([s.format, s.dtype, s.shape, s.details?.interpretation?.leftoverBytes], ['raw', '<f2', [1000, 1000], 2944]);
    assert.match(
      ok(await cli(['list']))
        .split('\n')
        .find((l) => l.startsWith(seg.name)) ?? '',
      /float16\s+1000×1000.*interpreted, 2944 bytes left over/,
    );
    assert.match(ok(await cli(['inspect', seg.name])), /interpreted\s+yes .*2944 bytes after the data left unread/);

    const stats = await cli(['stats', seg.name, '--json']);
    const got = JSON.parse(ok(stats)) as { count: number; min: number; max: number; mean: number };
    const want = numpyStats();
    assert.strictEqual(got.count, 1_000_000);
    assert.strictEqual(got.min, want.min);
    assert.strictEqual(got.max, want.max);
    assert.ok(Math.abs(got.mean - want.mean) < 1e-9 * Math.max(1, Math.abs(want.mean)), `mean ${got.mean} vs numpy ${want.mean}`);
    assert.match(stats.stderr, /^shm-inspector: note: .*leaves 2944 bytes after the data unread/, 'stats says what it leaves unread');

    const png = path.join(configDir, 'interp.png');
    const render = await cli(['render', seg.name, '--out', png, '--width', '50', '--height', '40', '--json']);
    assert.deepStrictEqual(
      (({ width, height, window }) => ({ width, height, window }))(JSON.parse(ok(render)) as { width: number; height: number; window: number[] }),
      { width: 50, height: 40, window: [0, 1000, 0, 1000] },
    );
    assert.ok(fs.statSync(png).size > 100);
    assert.match(render.stderr, /leaves 2944 bytes/);
  });

  it('a layout on the command line that stops short says so too (1000x999 reads a prefix)', async () => {
    const r = await cli(['stats', seg.name, '--dtype', 'f2', '--shape', '1000,999', '--json']);
    assert.strictEqual(JSON.parse(ok(r)).count, 999_000);
    assert.match(r.stderr, /leaves 4944 bytes after the data unread \(it uses 1998000 of 2002944 bytes\)/);
  });

  it('refuses what cannot be: too big a layout, a non-raw segment, a layout with --clear, a missing segment', async () => {
    const big = await cli(['interpret', seg.name, '--dtype', '<f4', '--shape', '1000,1000']);
    assert.strictEqual(big.code, 1);
    assert.match(big.stderr, /needs 4000000 bytes, the segment has 2002944\n$/);
    const npy = jar.name('shmi_cli_interp', '.npy');
    py(['npy', npy.path, '<f4', '4,5']);
    const notRaw = await cli(['interpret', npy.name, '--dtype', 'u1', '--shape', '2']);
    assert.strictEqual(notRaw.code, 1);
    assert.match(notRaw.stderr, /is npy: its layout is known/);
    assert.strictEqual((await cli(['interpret', seg.name, '--clear', '--dtype', 'u1', '--shape', '2'])).code, 2);
    assert.strictEqual((await cli(['interpret', seg.name, '--shape', '2'])).code, 2);
    const missing = await cli(['interpret', `${seg.name}_nope`, '--clear']);
    assert.strictEqual(missing.code, 1);
    assert.match(missing.stderr, /no such segment/);
    // The stored layout is still the one set before.
    assert.deepStrictEqual(JSON.parse(ok(await cli(['interpret', seg.name, '--json']))).interpretation, {
      dtype: '<f2',
      shape: [1000, 1000],
      offset: 0,
      order: 'C',
    });
  });

  it('--clear forgets it: raw again everywhere', async () => {
    assert.deepStrictEqual(JSON.parse(ok(await cli(['interpret', seg.name, '--clear', '--json']))), {
      name: seg.name,
      size: 2_002_944,
      interpretation: null,
      cleared: true,
    });
    assert.deepStrictEqual(JSON.parse(ok(await cli(['interpret', seg.name, '--clear', '--json']))).cleared, false, 'a second --clear has nothing to clear');
    const s = JSON.parse(ok(await cli(['inspect', seg.name, '--json']))) as { dtype: unknown; shape: unknown; details?: unknown };
    assert.deepStrictEqual([s.dtype, s.shape, s.details], [null, null, undefined]);
    assert.strictEqual((await cli(['stats', seg.name, '--json'])).code, 2);
  });
});
